// Package compact writes the history's tables (package table) for the hours
// the recorder has closed, beside the hours in the store, with no user
// action: the S3 store, through storeio.Files. It runs beside the pipeline,
// as retention does, and only where the recorder writes (the leader).
//
// # Which hours, and when
//
// An hour is compacted once it is closed: it ended Grace ago (the sink
// writes an hour's last state at its first flush after the hour's end, and
// a placement's true last seen once it has gone unseen for its Stale), and,
// when Flushed is set, the sink has stored everything it received up to the
// hour's end. An hour is done when both of its table files are there; each
// pass lists the store's hours within Keep and the tables' files, and
// compacts the hours stored and not done, oldest first, at most MaxHours a
// pass, so a recorder that was down catches up a few passes later without a
// burst. An hour written to after it was compacted (a sink that could not
// write for longer than Grace and then stored a late flush) is not
// compacted again: its files stay as first written. A file is never
// rewritten; that is what makes a file safe for an engine to cache and a
// rerun cheap. Keep Grace above the sink's flush interval and the longest
// store outage the recorder should ride out, or set Flushed.
//
// # Writing
//
// Each file is written with a conditional create (storeio.Files.PutFile,
// S3's If-None-Match: *), placements first and node_events last. A file
// already there (another recorder's, or a pass cut short) is success: both
// are the same bytes, table.Encode being deterministic. S3 stores a PUT
// whole or not at all, so no half file is ever visible; a pass that stops
// between the two files leaves an hour not done, and the next pass writes
// the missing one. A failing call is retried with backoff (package retry)
// for at most half a pass; a pass that fails is logged and the next one
// tries again. Compaction never stops the recorder.
//
// # Reading
//
// An hour is read as the history query reads it (storeread.ReadHour,
// store.Decode), one hour at a time; its placements' continued column needs
// the hour before's last stays (table.Edge), which a pass keeps from the
// hour it compacted last, or reads. Peak memory is one decoded hour, its
// files and the edge of the hour before.
//
// # Retention
//
// The table files are the compactor's: each pass also deletes the files of
// the hours that ended more than Keep ago, the rule retention applies to the
// store's hours (package sink), so the tables keep what the store keeps.
//
// # Export
//
// Window writes the tables of a range of hours as given, and expires
// nothing; with Options.Files it writes them elsewhere than beside the
// hours, from either store: package export is that.
package compact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/utils/clock"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
	"github.com/pod-ashiato/ashiato/src/storeread"
	"github.com/pod-ashiato/ashiato/src/table"
)

// Defaults for Options' zero fields.
const (
	// DefaultGrace is well above the sink's default flush interval (30 s)
	// plus the Stale after which it writes a placement's true last seen
	// (5 min at the default --interval).
	DefaultGrace = 10 * time.Minute
	// DefaultEvery is how often a pass runs: an hour is compacted within
	// Grace + Every of its end.
	DefaultEvery = 5 * time.Minute
	// DefaultMaxHours bounds a pass: a day of hours.
	DefaultMaxHours = 24
)

// ErrNoFiles: the store cannot keep files beside its hours (not
// storeio.Files: the ConfigMap store).
var ErrNoFiles = errors.New("the store keeps no files beside its hours")

// Options configure a Compactor.
type Options struct {
	// Store holds the hours, and, unless Files is set, the tables beside
	// them (storeio.Files).
	Store storeio.Store
	// Files, when set, is where the tables go instead of Store (an export
	// into a folder or another bucket).
	Files storeio.Files
	// Cluster is the name the tables file the hours under; empty is the
	// store's own (an S3 store's Cluster()).
	Cluster string
	// Keep is how long an hour is kept after it ended (the store's
	// retention): older hours are not compacted and their files are
	// deleted. Zero or less keeps everything.
	Keep time.Duration
	// Grace is how long after its end an hour is closed; zero is
	// DefaultGrace.
	Grace time.Duration
	// Flushed, when set, is the time up to which the writer has stored
	// everything it received (the sink's last successful flush); an hour is
	// compacted only once it ended at or before it. Zero: nothing yet.
	Flushed func() time.Time
	// Ready, when set, holds Run's first pass until it is closed: the
	// recorder closes it once it has settled (its sync done and the
	// snapshot stored), so a catch-up of closed hours is not decoded while
	// the sync holds its own peak.
	Ready <-chan struct{}
	// Release, when set, is called before each hour is read and after the
	// last: the recorder returns the heap it freed to the system then
	// (debug.FreeOSMemory), so an hour's compaction adds to the steady heap,
	// not to a transient's leftover, and leaves nothing behind.
	Release func()
	// Every is the time between passes; zero is DefaultEvery.
	Every time.Duration
	// MaxHours bounds the hours one pass compacts; zero is DefaultMaxHours.
	MaxHours int
	// Retry is used for each call to the store; Run caps its MaxElapsed at
	// half of Every.
	Retry retry.Policy
	// Clock is the passes' clock; nil is the real one.
	Clock clock.WithTicker
	Log   logrus.FieldLogger
	// Observe, when set, is told of each file: its table and the result,
	// "written", "exists" (already there) or "error".
	Observe func(table, result string)
}

// Compactor writes the tables of closed hours.
type Compactor struct {
	opts    Options
	files   storeio.Files
	cluster string
	// edge is the last stays of the hour compacted last, kept for the next
	// hour of the same pass only: between passes (an hour in steady state)
	// the recorder holds nothing of compaction, and the hour before is read
	// again.
	edge *table.Edge
	// partLines is partLines; tests make it small.
	partLines int
}

// New checks opts: ErrNoFiles when the store cannot keep the tables.
func New(opts Options) (*Compactor, error) {
	files := opts.Files
	if files == nil {
		f, ok := opts.Store.(storeio.Files)
		if !ok {
			return nil, fmt.Errorf("compacting %s: %w", opts.Store, ErrNoFiles)
		}
		files = f
	}
	cluster := opts.Cluster
	if c, ok := opts.Store.(interface{ Cluster() string }); ok && cluster == "" {
		cluster = c.Cluster()
	}
	if cluster == "" {
		return nil, fmt.Errorf("compacting %s: no cluster name", opts.Store)
	}
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	if opts.Every <= 0 {
		opts.Every = DefaultEvery
	}
	if opts.MaxHours <= 0 {
		opts.MaxHours = DefaultMaxHours
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Log == nil {
		l := logrus.New()
		l.Out = io.Discard
		opts.Log = l
	}
	return &Compactor{opts: opts, files: files, cluster: cluster, partLines: partLines}, nil
}

// Result is what a pass did.
type Result struct {
	// Compacted are the hours whose files the pass wrote (or found written).
	Compacted []time.Time
	// Written are the keys of the files the pass wrote.
	Written []string
	// Deleted are the keys of the expired files the pass deleted.
	Deleted []string
	// Left is how many hours are still to do after the pass (beyond
	// MaxHours).
	Left int
}

// Once is one pass: expire, then compact the closed hours not done, oldest
// first, at most MaxHours. It stops at the first error, keeping what it did.
func (c *Compactor) Once(ctx context.Context) (Result, error) {
	var res Result
	now := c.opts.Clock.Now()
	done, err := c.done(ctx)
	if err != nil {
		return res, err
	}
	first := time.Time{}
	if c.opts.Keep > 0 {
		first = store.HourOf(now.Add(-c.opts.Keep)) // hours before it are expired
		res.Deleted, err = c.expire(ctx, done, first)
		if err != nil {
			return res, err
		}
	}
	last := store.HourOf(now.Add(-c.opts.Grace)).Add(-time.Hour)
	if c.opts.Flushed != nil {
		f := c.opts.Flushed()
		if f.IsZero() {
			return res, nil
		}
		if l := store.HourOf(f).Add(-time.Hour); l.Before(last) {
			last = l
		}
	}
	return c.window(ctx, first, last, done, res)
}

// Window writes the tables of the stored hours first..last (a zero first
// is the oldest) that do not have them yet, oldest first, at most MaxHours:
// Result.Left says how many remain. It stops at the first error, keeping
// what it did. Unlike Once it takes the hours as given, closed or not, and
// expires nothing: what an export asks for.
func (c *Compactor) Window(ctx context.Context, first, last time.Time) (Result, error) {
	done, err := c.done(ctx)
	if err != nil {
		return Result{}, err
	}
	return c.window(ctx, store.HourOf(first), store.HourOf(last), done, Result{})
}

func (c *Compactor) window(ctx context.Context, first, last time.Time, done map[time.Time]map[string]bool, res Result) (Result, error) {
	if !first.IsZero() && last.Before(first) {
		return res, nil
	}
	todo, err := c.todo(ctx, first, last, done)
	if err != nil {
		return res, err
	}
	if len(todo) > c.opts.MaxHours {
		res.Left = len(todo) - c.opts.MaxHours
		todo = todo[:c.opts.MaxHours]
	}
	defer func() { c.edge = nil }()
	if c.opts.Release != nil && len(todo) > 0 {
		defer c.opts.Release()
	}
	for _, hour := range todo {
		if c.opts.Release != nil {
			c.opts.Release()
		}
		written, err := c.hour(ctx, hour, done[hour])
		res.Written = append(res.Written, written...)
		if err != nil {
			return res, err
		}
		res.Compacted = append(res.Compacted, hour)
	}
	return res, nil
}

// done lists the tables' files of the cluster: hour -> the tables it has.
func (c *Compactor) done(ctx context.Context) (map[time.Time]map[string]bool, error) {
	out := map[time.Time]map[string]bool{}
	for _, t := range table.Tables {
		prefix := table.ClusterPrefix("", t, c.cluster)
		err := c.files.ListFiles(ctx, prefix, c.opts.Retry, func(key string) {
			hour, ok := table.ParseHourFolder(key[len(prefix):])
			if !ok || key != table.Key("", t, c.cluster, hour) {
				return // not a file of ours: left alone
			}
			if out[hour] == nil {
				out[hour] = map[string]bool{}
			}
			out[hour][t] = true
		})
		if err != nil {
			return nil, fmt.Errorf("listing the tables in %s: %w", c.files.FileLocation(prefix), err)
		}
	}
	return out, nil
}

// todo is the stored hours first..last that do not have every table's file,
// oldest first.
func (c *Compactor) todo(ctx context.Context, first, last time.Time, done map[time.Time]map[string]bool) ([]time.Time, error) {
	stored := map[time.Time]bool{}
	add := func(name string) {
		if hour, _, ok := store.ParseName(name); ok && !hour.After(last) && (first.IsZero() || !hour.Before(first)) {
			stored[hour] = true
		}
	}
	err := c.opts.Store.ListRefs(ctx, first, last, c.opts.Retry, "listing the store", func(ref storeio.Ref) { add(ref.Name) })
	if u, ok := c.opts.Store.(storeio.Unlabelled); ok && err == nil {
		// The original tool's hours (the ConfigMap store): no hour label.
		err = u.ListUnlabelled(ctx, 0, c.opts.Retry, "listing the store", func(s *storeio.Shard) { add(s.Name) })
	}
	if err != nil {
		return nil, fmt.Errorf("listing the hours in %s: %w", c.opts.Store, err)
	}
	var todo []time.Time
	for _, hour := range slices.SortedFunc(maps.Keys(stored), time.Time.Compare) {
		if len(done[hour]) < len(table.Tables) {
			todo = append(todo, hour)
		}
	}
	return todo, nil
}

// expire deletes the files of the hours before first.
func (c *Compactor) expire(ctx context.Context, done map[time.Time]map[string]bool, first time.Time) ([]string, error) {
	var deleted []string
	for _, hour := range slices.SortedFunc(maps.Keys(done), time.Time.Compare) {
		if !hour.Before(first) {
			break
		}
		for _, t := range table.Tables {
			if !done[hour][t] {
				continue
			}
			key := table.Key("", t, c.cluster, hour)
			err := retry.Do(ctx, c.opts.Retry, "deleting "+c.files.FileLocation(key), func(ctx context.Context) error {
				return c.files.DeleteFile(ctx, key)
			})
			if err != nil {
				return deleted, fmt.Errorf("deleting %s: %w", c.files.FileLocation(key), err)
			}
			deleted = append(deleted, key)
		}
		delete(done, hour)
	}
	return deleted, nil
}

// hour compacts one hour: read, decode, encode, write the files it lacks.
func (c *Compactor) hour(ctx context.Context, hour time.Time, have map[string]bool) ([]string, error) {
	prev, err := c.edgeBefore(ctx, hour)
	if err != nil {
		return nil, err
	}
	objs, err := c.objects(ctx, hour)
	if err != nil {
		return nil, err
	}
	var placements, nodeEvents bytes.Buffer
	pw := table.NewPlacementsWriter(&placements, hour, prev)
	if err := c.parts(ctx, hour, objs, pw.Write); err != nil {
		return nil, err
	}
	if _, err := pw.Close(); err != nil {
		return nil, err
	}
	// Node events come with every part; this decode keeps no pod.
	nodes, _ := store.DecodePart(ctx, hour, objs, store.Only{Namespaces: func(string) bool { return false }})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := table.EncodeNodeEvents(&nodeEvents, nodes); err != nil {
		return nil, err
	}
	files := table.Files{table.Placements: placements.Bytes(), table.NodeEvents: nodeEvents.Bytes()}
	c.edge = pw.Edge()
	var written []string
	for _, t := range table.Tables {
		if have[t] {
			continue
		}
		key := table.Key("", t, c.cluster, hour)
		err := retry.Do(ctx, c.opts.Retry, "writing "+c.files.FileLocation(key), func(ctx context.Context) error {
			return c.files.PutFile(ctx, key, files[t])
		})
		switch {
		case err == nil:
			c.observe(t, "written")
			written = append(written, key)
		case errors.Is(err, storeio.ErrAlreadyExists):
			c.observe(t, "exists")
		default:
			c.observe(t, "error")
			return written, fmt.Errorf("writing %s: %w", c.files.FileLocation(key), err)
		}
	}
	return written, nil
}

// edgeBefore is the edge of the hour before hour: kept from the hour the
// pass compacted last, or read (empty when nothing is stored for it).
func (c *Compactor) edgeBefore(ctx context.Context, hour time.Time) (*table.Edge, error) {
	before := hour.Add(-time.Hour)
	if c.edge != nil && c.edge.Hour().Equal(before) {
		return c.edge, nil
	}
	objs, err := c.objects(ctx, before)
	if err != nil {
		return nil, err
	}
	return table.EdgeOfParts(before, func(add func(*store.Hour)) error {
		return c.parts(ctx, before, objs, func(h *store.Hour) error { add(h); return nil })
	})
}

// objects reads the stored objects of an hour.
func (c *Compactor) objects(ctx context.Context, hour time.Time) ([]storeio.Shard, error) {
	objs, err := storeread.ReadHour(ctx, c.opts.Store, hour, c.opts.Retry)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", c.opts.Store.Location(store.NameFor(hour)), err)
	}
	return objs, nil
}

// partLines bounds the lines (store.NamespaceLines) of one part of an hour:
// about 10,000 pods, a placement line and an owner's mention each. An hour
// is decoded a part at a time, a range of whole namespaces in order, so
// compaction holds a part of a large hour decoded, not all of it (a
// namespace larger than that is a part of its own). At 150,000 pods this
// halves what a compaction adds to the recorder's heap, for a few more
// passes over the hour's unpacked lines (docs/benchmarks.md).
const partLines = 20_000

// parts decodes the hour's objects in parts (see partLines) and hands them
// to each in (namespace, pod) order, logging what the decoding warns of
// once.
func (c *Compactor) parts(ctx context.Context, hour time.Time, objs []storeio.Shard, each func(*store.Hour) error) error {
	log := c.opts.Log.WithField("hour", hour.Format(time.RFC3339))
	warned := map[store.Warning]bool{}
	warn := func(ws []store.Warning) {
		for _, w := range ws {
			if !warned[w] {
				warned[w] = true
				log.Warn("compaction: " + w.String())
			}
		}
	}
	warn(store.MissingShards(hour, objs))
	counts := store.NamespaceLines(ctx, hour, objs)
	if err := ctx.Err(); err != nil {
		return err // decoding stopped part way: not the hour
	}
	for _, set := range namespaceRanges(counts, c.partLines) {
		h, warnings := store.DecodePart(ctx, hour, objs, store.Only{Namespaces: func(ns string) bool { return set[ns] }})
		if err := ctx.Err(); err != nil {
			return err
		}
		warn(warnings)
		if err := each(h); err != nil {
			return err
		}
	}
	return nil
}

// namespaceRanges cuts the namespaces of counts, in order, into ranges of
// at most limit lines each (a namespace of more is a range of its own).
func namespaceRanges(counts map[string]int, limit int) []map[string]bool {
	var out []map[string]bool
	n := limit
	for _, ns := range slices.Sorted(maps.Keys(counts)) {
		if n+counts[ns] > limit {
			out = append(out, map[string]bool{})
			n = 0
		}
		out[len(out)-1][ns] = true
		n += counts[ns]
	}
	return out
}

func (c *Compactor) observe(t, result string) {
	if c.opts.Observe != nil {
		c.opts.Observe(t, result)
	}
}
