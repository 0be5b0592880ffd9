package recorder

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/pod-ashiato/ashiato/src/compact"
	"github.com/pod-ashiato/ashiato/src/metrics"
	"github.com/pod-ashiato/ashiato/src/retry"
)

// stored is what the sink has stored, for compaction: the time of its last
// successful flush, and a channel closed at the first.
type stored struct {
	at    atomic.Int64 // unix nanoseconds; 0 before the first flush
	first chan struct{}
	once  sync.Once
}

func newStored() *stored { return &stored{first: make(chan struct{})} }

// flushed records a successful flush at at.
func (s *stored) flushed(at time.Time) {
	s.at.Store(at.UnixNano())
	s.once.Do(func() { close(s.first) })
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
// for the sink's first flush: the hours that ended before the recorder
// started are compacted then, after the sync and its memory peak, not
// during them.
func withCompaction(ctx context.Context, cfg *Config, log logrus.FieldLogger, m *metrics.Metrics, flushed *stored, work func(context.Context) error) error {
	if cfg.Store == nil || cfg.Oneshot || !cfg.CompactTables {
		return work(ctx)
	}
	opts := compact.Options{
		Store:   cfg.Store,
		Keep:    cfg.Retention,
		Grace:   max(compact.DefaultGrace, 2*cfg.FlushEvery),
		Flushed: flushed.upTo,
		Ready:   flushed.first,
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
