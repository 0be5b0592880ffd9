// Package sink is the last stage of the pipeline: it keeps the history in the
// store (a storeio.Store: hourly ConfigMaps in the cluster itself, or objects
// in S3), in hour shards laid out by package store.
//
// Placements are batched per hour in memory (index.go) and written on a
// ticker and when the input closes: at most one write per object per flush,
// and only of the objects whose content changed, never one request per pod.
// The sink remembers what it wrote and each object's version (a
// resourceVersion, an ETag), so it reads the store only at start (an hour
// that was already there), after a Conflict, an AlreadyExists or a NotFound: then it
// merges what is stored into what it knows and writes again. Neither a
// restart in the middle of the hour nor a concurrent writer loses a
// placement.
//
// A placement still running is written with the hour's last second as its
// last seen, so a running pod costs one write an hour, not one every
// LastSeenStep; its true last seen is written when it leaves (a deletion,
// the pod seen on another node, or no sighting for Stale) and when the
// process stops (store/doc.go, "Times").
//
// Flushes run beside the intake, not in its way: records keep being taken
// (and so the emitter before the sink keeps printing) while a flush waits
// on the store. Memory stays bounded: the index holds each pod once
// per hour, whatever arrives.
package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/clock"

	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// Defaults for Writer's zero fields.
const (
	DefaultFlushInterval = 30 * time.Second
	DefaultFinalTimeout  = 30 * time.Second
	// maxConflicts bounds the read-merge-write rounds of one flush; a writer
	// that loses this many races in a row tries again at the next flush.
	maxConflicts = 10
)

// Writer stores placements in the hour objects of Store.
type Writer struct {
	// Store is where the hours are written.
	Store storeio.Store
	// FlushInterval is how often pending placements are written.
	FlushInterval time.Duration
	// FinalTimeout bounds the last flush after the input closes. It gets its own
	// context, so a shutdown signal does not cut the draining short.
	FinalTimeout time.Duration
	// Retry is used for each API call; its MaxElapsed is capped per flush so a
	// long outage does not stall the stage (pending placements wait for the next).
	Retry retry.Policy
	Log   logrus.FieldLogger
	// Observe, when set, is told about each write (metrics).
	Observe func(w Write)
	// OnFlush, when set, is told after each flush: at is the tick's time (the
	// clock's time for the final flush), err its error. Every record received
	// before the tick is in that flush.
	OnFlush func(at time.Time, err error)
	// Stale is how long a placement written as still running may go unseen
	// before its true last seen is written (the pod left without a record
	// saying so); zero is store.LastSeenStep. Set it above the snapshot
	// interval, or every placement is rewritten between two snapshots.
	Stale time.Duration
	// Clock drives the flush ticker and the backoff between failed flushes;
	// nil is the real clock. Tests move a fake one instead of sleeping.
	Clock clock.WithTicker
	// WatchDeletions watches the store for objects deleted by others, where
	// the store can (storeio.DeletionWatcher: the ConfigMap store's metadata
	// watch), so an object deleted by hand is written again at the next
	// flush although the sink never reads the store in steady state.
	WatchDeletions bool

	// idle, in tests, asks the loop to answer once no flush is running.
	idle chan chan struct{}

	pending, shards atomic.Int64 // after the last flush, for Pending and Shards
	gone            deletions    // store objects deleted by others, from Metadata's watch
}

// Pending is the number of pods of the hours that hold something not yet
// stored, as the last flush left them (the store-health metrics).
func (s *Writer) Pending() int { return int(s.pending.Load()) }

// Shards is the number of objects (shards) of the newest hour the last flush
// wrote.
func (s *Writer) Shards() int { return int(s.shards.Load()) }

// Write describes one write of a store object, for metrics.
type Write struct {
	Object string
	Bytes  int
	Err    error
}

// errConflict is a lost race: read again and merge.
var errConflict = errors.New("conflict")

// flushResult is a flush goroutine's answer to the loop.
type flushResult struct {
	at  time.Time
	err error
}

// Run batches placements from in and writes them until in closes, then flushes
// what is pending under its own deadline. Periodic flushes run in their own
// goroutine, one at a time, while Run keeps taking records.
//
// A failed periodic flush never ends Run, whether the store is out (an
// outage) or refuses the write (Forbidden, its namespace gone, too large):
// the placements stay pending and the next flushes, spaced out by the
// backoff, try again, each failure reported to OnFlush and Pending. When in
// closes, the final flush is the last attempt; its error, if any, is Run's.
func (s *Writer) Run(ctx context.Context, in <-chan record.Placement) error {
	clk := s.clock()
	st := &state{hours: map[time.Time]*hourIndex{}, started: clk.Now()}
	ticker := clk.NewTicker(s.flushInterval())
	defer ticker.Stop()
	// One backoff for the whole stage: through a long outage the flushes space
	// out and each failed one is one log line, instead of every tick starting
	// over at the shortest delay.
	var (
		backoff  = s.backoff()
		retryAt  time.Time // no periodic flush before this, after a failure
		failed   int       // periodic flushes failed in a row
		running  bool
		done     = make(chan flushResult, 1)
		waiters  []chan struct{}
		wg       sync.WaitGroup
		flushCtx context.Context
		cancel   context.CancelFunc
	)
	flushCtx, cancel = context.WithCancel(ctx)
	defer func() { cancel(); wg.Wait() }()
	if w, ok := s.Store.(storeio.DeletionWatcher); ok && s.WatchDeletions {
		log := s.log()
		err := w.WatchDeletions(flushCtx, func(name string) {
			log.WithField("object", name).Warn("a history object was deleted; it is written again at the next flush")
			s.gone.add(name)
		})
		if err != nil {
			return fmt.Errorf("watching the store for deletions: %w", err)
		}
	}
	for {
		select {
		case r, ok := <-in:
			if !ok {
				if running {
					res := <-done // the final flush comes after it, not beside it
					s.flushed(res.at, res.err)
				}
				st.forgetDeleted(s.gone.take())
				final, cancelFinal := context.WithTimeout(context.Background(), s.finalTimeout())
				defer cancelFinal()
				policy := s.Retry
				policy.MaxElapsed = 0 // bounded by the final deadline instead
				err := s.flush(final, st, policy, clk.Now(), true)
				s.flushed(clk.Now(), err)
				return err
			}
			st.add(r, s.stale(), clk.Now())
		case tick := <-ticker.C():
			if running || ctx.Err() != nil || clk.Now().Before(retryAt) {
				continue // one at a time, stopping (the final flush follows when in closes), or backing off
			}
			policy := s.Retry
			policy.Log = nil // one line per failed flush, below
			if half := s.flushInterval() / 2; policy.MaxElapsed == 0 || policy.MaxElapsed > half {
				policy.MaxElapsed = half
			}
			st.forgetDeleted(s.gone.take())
			running = true
			now := clk.Now()
			wg.Add(1)
			go func() {
				defer wg.Done()
				done <- flushResult{tick, s.flush(flushCtx, st, policy, now, false)}
			}()
		case res := <-done:
			running = false
			s.flushed(res.at, res.err)
			err := res.err
			switch {
			case err == nil:
				if failed > 0 {
					s.log().WithField("failed_flushes", failed).Info("storing placements again")
				}
				failed, backoff, retryAt = 0, s.backoff(), time.Time{}
			default:
				// Whatever the error, nothing pending is dropped: an outage
				// passes, and a refusal (RBAC changed, the namespace deleted,
				// a quota) is someone's to fix while the sink keeps the
				// placements and tries again, with backoff, until the input
				// closes; then the final flush is the last attempt and its
				// error is Run's.
				failed++
				delay := backoff.Step()
				retryAt = clk.Now().Add(delay)
				entry := s.log().WithError(err).WithFields(logrus.Fields{"failed_flushes": failed, "retry_in": delay.Round(time.Millisecond).String()})
				if retry.Retryable(err) || errors.Is(err, errConflict) {
					entry.Warn("storing placements failed; they stay pending")
				} else {
					entry.Error("storing placements failed: the store refuses them; they stay pending and are tried again until it accepts or the process stops")
				}
			}
			for _, w := range waiters {
				close(w)
			}
			waiters = nil
		case w := <-s.idle:
			if running {
				waiters = append(waiters, w)
			} else {
				close(w)
			}
		}
	}
}

func (s *Writer) flushed(at time.Time, err error) {
	if s.OnFlush != nil {
		s.OnFlush(at, err)
	}
}

// backoff is a fresh copy of the retry policy's backoff.
func (s *Writer) backoff() wait.Backoff {
	if s.Retry.Backoff.Steps > 0 {
		return s.Retry.Backoff
	}
	return retry.DefaultBackoff()
}

// state is the sink's memory: an index per recent hour.
type state struct {
	mu      sync.Mutex // guards hours; each index has its own lock
	hours   map[time.Time]*hourIndex
	started time.Time // an hour that begins after this is new: nothing to read
}

// keepHours is how long after its start an hour's index is kept once its
// last changes are stored: through the hour, then LastSeenStep into the next,
// while records stamped before the turn still arrive. After that the hour is
// stored as it ended and nothing adds to it, so its index is dropped rather
// than held (as much memory again as the current hour's) until the next turn.
const keepHours = time.Hour + store.LastSeenStep

// add files the placement under its hour. Pods not yet bound to a node have no
// placement to keep. An EventSeen renews every running placement it covers.
func (st *state) add(r record.Placement, stale time.Duration, now time.Time) {
	hour := store.HourOf(r.Timestamp)
	if r.Event == record.EventSeen {
		st.mu.Lock()
		x := st.hours[hour]
		st.mu.Unlock()
		if x != nil { // an hour the sink holds nothing of has nothing to renew
			x.seenAll(r.Namespace, r.Timestamp, stale)
		}
		return
	}
	if r.Node == "" {
		return
	}
	st.mu.Lock()
	x := st.hours[hour]
	if x == nil {
		// An hour that began while the sink ran has nothing stored but what
		// this sink writes (a Create that finds the object says otherwise).
		fresh := hour.After(st.started) && !hour.After(now)
		x = newHourIndex(hour, fresh)
		st.hours[hour] = x
	}
	st.mu.Unlock()
	x.add(r, stale)
}

// flush writes every hour that changed, oldest first. An hour that fails stays
// as it is, for the next flush; the first error is returned. Hours older than
// keepHours before now are forgotten once written.
func (s *Writer) flush(ctx context.Context, st *state, policy retry.Policy, now time.Time, final bool) error {
	st.mu.Lock()
	hours := make([]*hourIndex, 0, len(st.hours))
	for _, x := range st.hours {
		hours = append(hours, x)
	}
	st.mu.Unlock()
	sort.Slice(hours, func(i, j int) bool { return hours[i].start.Before(hours[j].start) })
	var (
		firstErr error
		pending  int
	)
	defer func() { s.pending.Store(int64(pending)) }()
	for _, x := range hours {
		ref := now
		if end := x.start.Add(time.Hour); ref.After(end) {
			ref = end
		}
		if !x.changed(ref, s.stale(), final) {
			if x.start.Add(keepHours).Before(now) {
				st.forget(x)
			}
			continue
		}
		if err := s.flushHour(ctx, x, policy, ref, final); err != nil {
			pending += x.len()
			if firstErr == nil {
				firstErr = fmt.Errorf("storing %s: %w", store.NameFor(x.start), err)
			}
		}
	}
	return firstErr
}

func (st *state) forget(x *hourIndex) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.hours[x.start] == x {
		delete(st.hours, x.start)
	}
}

// union is a copy of a with b's entries set on top.
func union(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func (s *Writer) flushInterval() time.Duration {
	if s.FlushInterval > 0 {
		return s.FlushInterval
	}
	return DefaultFlushInterval
}

func (s *Writer) finalTimeout() time.Duration {
	if s.FinalTimeout > 0 {
		return s.FinalTimeout
	}
	return DefaultFinalTimeout
}

func (s *Writer) stale() time.Duration {
	if s.Stale > 0 {
		return s.Stale
	}
	return store.LastSeenStep
}

func (s *Writer) clock() clock.WithTicker {
	if s.Clock != nil {
		return s.Clock
	}
	return clock.RealClock{}
}

func (s *Writer) log() logrus.FieldLogger {
	if s.Log != nil {
		return s.Log
	}
	return discard
}

var discard = &logrus.Logger{Out: io.Discard, Formatter: new(logrus.TextFormatter), Hooks: make(logrus.LevelHooks), Level: logrus.PanicLevel}
