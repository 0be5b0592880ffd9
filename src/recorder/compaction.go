package recorder

import (
	"context"
	"errors"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/pod-ashiato/ashiato/src/compact"
	"github.com/pod-ashiato/ashiato/src/metrics"
	"github.com/pod-ashiato/ashiato/src/retry"
)

// stored is what the sink has stored, for compaction: the time of its last
// successful flush, and a channel closed once the recorder has settled.
type stored struct {
	at      atomic.Int64 // unix nanoseconds; 0 before the first flush
	settled chan struct{}
	once    sync.Once
	// afterSync is the first successful flush that found the source
	// synced (zero before it); only the flush loop touches it.
	afterSync time.Time
}

func newStored() *stored { return &stored{settled: make(chan struct{})} }

// flushed records a successful flush at at; synced is whether the source had
// its complete view then. The recorder has settled at the first flush a whole
// interval (every) after the first that found the source synced: that one
// may have come while the sink still took in the initial snapshot, and the
// next writes the rest of it.
func (s *stored) flushed(at time.Time, synced bool, every time.Duration) {
	s.at.Store(at.UnixNano())
	switch {
	case !synced:
	case s.afterSync.IsZero():
		s.afterSync = at
	case at.Sub(s.afterSync) >= every:
		s.once.Do(func() { close(s.settled) })
	}
}

// upTo is the time up to which the history is stored (zero: nothing yet).
func (s *stored) upTo() time.Time {
	if n := s.at.Load(); n != 0 {
		return time.Unix(0, n).UTC()
	}
	return time.Time{}
}

// withCompaction runs work and, in continuous mode with CompactTables and a
// store that keeps files beside its hours (S3), the compaction of closed
// hours into the Parquet tables beside work (package compact), for as long
// as work runs: under --leader-elect only the leader compacts. Compaction
// never stops work; a store without files (ConfigMaps) runs work alone.
// An hour is compacted once the sink has stored it, and the first pass waits
// until the recorder has settled (stored.flushed): the hours that ended
// before it started are compacted then, after the sync, the initial
// snapshot's writing and their memory peaks, not during them. Before each
// hour the heap freed is returned to the system, so a compaction adds to
// the steady heap only.
func withCompaction(ctx context.Context, cfg *Config, log logrus.FieldLogger, m *metrics.Metrics, flushed *stored, work func(context.Context) error) error {
	if cfg.Store == nil || cfg.Oneshot || !cfg.CompactTables {
		return work(ctx)
	}
	opts := compact.Options{
		Store:   cfg.Store,
		Keep:    cfg.Retention,
		Grace:   max(compact.DefaultGrace, 2*cfg.FlushEvery),
		Flushed: flushed.upTo,
		Ready:   flushed.settled,
		Release: debug.FreeOSMemory,
		Retry:   retry.Policy{Backoff: retry.DefaultBackoff(), Log: log, OnFailure: m.APIError},
		Log:     log,
		Observe: m.Compaction,
	}
	err := compact.With(ctx, opts, work)
	if errors.Is(err, compact.ErrNoFiles) {
		return work(ctx)
	}
	return err
}
