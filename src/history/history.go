// Package history answers questions about where pods ran from the hours the
// sink keeps in the store (storeio.Store, whatever the backend): where one
// pod ran, and which pods ran on a node.
// It reads the store through package store, the codec the sink writes with,
// and knows nothing of flags or output formats (that is src/cmd).
//
// The unit of an answer is a Row: one pod on one node within one UTC hour,
// with the times it was first and last seen there when they are known (hours
// written by the original tool have none).
//
// # Matching a time range
//
// A placement matches a Window [Since, Until] when its hour overlaps the
// window and, where its times are known, [First, Last+store.LastSeenStep]
// overlaps it too: Last is accurate to LastSeenStep (store/doc.go, "Times"),
// so the pod may have been on the node until then. A pod still running when
// its hour was written has Last at the hour's last second. For an instant T (At(T)) that
// reads: the pod was on the node in the hour containing T and, where known,
// First <= T <= Last+LastSeenStep.
//
// # Across an hour's edge
//
// A pod that stays on a node across the turn of the hour is seen in the new
// hour only at its next observation (the next snapshot, up to --interval
// later), so the new hour's First is a little after the hour's start. A
// placement whose Last in hour H is within LastSeenStep of H's end, on the
// same node as a placement of hour H+1, is one stay: the H+1 placement counts
// from H+1's first second. (Read returns the hour before the window too, so
// this can be seen.)
package history

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// Window is a span of time, both ends included.
type Window struct {
	Since, Until time.Time
}

// At is the window of the single instant t.
func At(t time.Time) Window { return Window{Since: t, Until: t} }

// hours is the first and last hour the window overlaps.
func (w Window) hours() (first, last time.Time) { return store.HourOf(w.Since), store.HourOf(w.Until) }

// matches applies the package's rule to a placement of the hour; continued
// says it continues a placement of the hour before (see continues).
func (w Window) matches(hour time.Time, s store.Seen, continued bool) bool {
	if hour.After(w.Until) || !hour.Add(time.Hour).After(w.Since) {
		return false
	}
	if s.First.IsZero() {
		return true // times unknown: the hour is all we know
	}
	first := s.First
	if continued {
		first = hour
	}
	return !first.After(w.Until) && !s.Last.Add(store.LastSeenStep).Before(w.Since)
}

// continues reports whether s, a placement of ref in hour h, continues one of
// prev, the hour before: on the same node, last seen within LastSeenStep of
// prev's end. Unknown times continue nothing.
func continues(prev *store.Hour, ref store.PodRef, s store.Seen) bool {
	if prev == nil || s.First.IsZero() {
		return false
	}
	edge := prev.Start.Add(time.Hour - store.LastSeenStep)
	for _, p := range prev.Pods[ref] {
		if p.Node == s.Node && !p.Last.IsZero() && !p.Last.Before(edge) {
			return true
		}
	}
	return false
}

// byStart indexes hours by their start, to find the hour before one.
func byStart(hours []*store.Hour) map[time.Time]*store.Hour {
	m := make(map[time.Time]*store.Hour, len(hours))
	for _, h := range hours {
		m[h.Start] = h
	}
	return m
}

// Row is one pod on one node within one UTC hour. First and Last are zero
// when not known.
type Row struct {
	// Cluster is the cluster whose store the row was read from; set by the
	// caller reading several (the S3 store), else empty.
	Cluster string
	Pod     store.PodRef
	Node    string
	Hour    time.Time
	First   time.Time
	Last    time.Time
}

// Reader reads hours from Store.
type Reader struct {
	Store storeio.Store
	Retry retry.Policy
	// PageSize is the objects per LIST request of Read; 0 is storeio.PageSize.
	PageSize int64
	// Budget bounds the stored bytes (storeio.Shard.Size) one streaming
	// read (Pod, Node, PodsPerNode, Incident, PodRows, NodeRows) may
	// decode: beyond it the read stops with ErrBudget. 0 is no bound.
	Budget int64
}

// Read returns the stored hours the window overlaps that hold anything, and
// the hour before them (its last placements may continue into the window),
// oldest first, and the warnings of damaged values and missing shards (the
// rest of each hour is still read).
//
// It lists the shards of the window's hours, page by page (the ConfigMap
// store lets the API server compare the hour label as a number, so only those
// hours travel), and, in the ConfigMap store, the objects with no hour label,
// the original tool's. Only objects whose name is an hour of the window are
// read.
func (r *Reader) Read(ctx context.Context, w Window) ([]*store.Hour, []store.Warning, error) {
	hours, warnings, err := r.read(ctx, w)
	return hours, warnings, stopped(ctx, err)
}

func (r *Reader) read(ctx context.Context, w Window) ([]*store.Hour, []store.Warning, error) {
	first, last := w.hours()
	first = first.Add(-time.Hour)
	byHour := map[time.Time][]storeio.Shard{}
	add := func(cm *storeio.Shard) {
		hour, _, ok := store.ParseName(cm.Name)
		if !ok || hour.Before(first) || hour.After(last) {
			return
		}
		byHour[hour] = append(byHour[hour], *cm)
	}
	objs := r.Store
	err := objs.ListHours(ctx, first, last, r.PageSize, r.Retry, "listing the history", add)
	if u, ok := objs.(storeio.Unlabelled); ok && err == nil {
		err = u.ListUnlabelled(ctx, r.PageSize, r.Retry, "listing the history", add)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading the history in %s: %w", objs, err)
	}
	var (
		hours    []*store.Hour
		warnings []store.Warning
	)
	for _, hour := range slices.SortedFunc(maps.Keys(byHour), time.Time.Compare) {
		objs := byHour[hour]
		// A page restarted after an expired continue token may repeat objects.
		slices.SortFunc(objs, func(a, b storeio.Shard) int { return strings.Compare(a.Name, b.Name) })
		objs = slices.CompactFunc(objs, func(a, b storeio.Shard) bool { return a.Name == b.Name })
		h, _, warns := store.Decode(ctx, hour, objs)
		warnings = append(warnings, warns...)
		hours = append(hours, h)
	}
	return hours, warnings, nil
}

// Pod is where ref ran within the window: one row per hour and node, by hour
// and then first seen.
func Pod(hours []*store.Hour, ref store.PodRef, w Window) []Row {
	var rows []Row
	index := byStart(hours)
	for _, h := range hours {
		prev := index[h.Start.Add(-time.Hour)]
		for _, s := range h.Pod(ref) {
			if w.matches(h.Start, s, continues(prev, ref, s)) {
				rows = append(rows, Row{Pod: ref, Node: s.Node, Hour: h.Start, First: s.First, Last: s.Last})
			}
		}
	}
	sortRows(rows)
	return rows
}

// Node is which pods ran on node within the window: one row per pod and hour,
// by namespace, pod name, then hour.
func Node(hours []*store.Hour, node string, w Window) []Row {
	var rows []Row
	index := byStart(hours)
	for _, h := range hours {
		prev := index[h.Start.Add(-time.Hour)]
		for ref, s := range h.OnNode(node) {
			if w.matches(h.Start, s, continues(prev, ref, s)) {
				rows = append(rows, Row{Pod: ref, Node: node, Hour: h.Start, First: s.First, Last: s.Last})
			}
		}
	}
	sortRows(rows)
	return rows
}

func sortRows(rows []Row) {
	slices.SortFunc(rows, func(a, b Row) int {
		return cmp.Or(
			strings.Compare(a.Pod.Namespace, b.Pod.Namespace),
			strings.Compare(a.Pod.Name, b.Pod.Name),
			a.Hour.Compare(b.Hour),
			a.First.Compare(b.First),
			strings.Compare(a.Node, b.Node),
		)
	})
}

// stopped is a read's error: err, or, when the read's context ended, that:
// the codec stops decoding when its context ends and says so in a warning,
// so a read cut short must not pass for a whole answer.
func stopped(ctx context.Context, err error) error {
	if err == nil && ctx.Err() != nil {
		return fmt.Errorf("reading the history stopped: %w", context.Cause(ctx))
	}
	return err
}
