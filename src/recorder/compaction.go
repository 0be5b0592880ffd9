package recorder

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/pod-ashiato/ashiato/src/compact"
	"github.com/pod-ashiato/ashiato/src/metrics"
	"github.com/pod-ashiato/ashiato/src/retry"
)

// withCompaction runs work and, in continuous mode with CompactTables and a
// store that keeps files beside its hours (S3), the compaction of closed
// hours into the Parquet tables beside work (package compact), for as long
// as work runs: under --leader-elect only the leader compacts. Compaction
// never stops work; a store without files (ConfigMaps) runs work alone.
// flushed is the time up to which the history is stored (unix
// nanoseconds): an hour is compacted once the sink has stored it, so hours
// that ended before the recorder started are compacted at its first pass.
func withCompaction(ctx context.Context, cfg *Config, log logrus.FieldLogger, m *metrics.Metrics, flushed *atomic.Int64, work func(context.Context) error) error {
	if cfg.Store == nil || cfg.Oneshot || !cfg.CompactTables {
		return work(ctx)
	}
	opts := compact.Options{
		Store: cfg.Store,
		Keep:  cfg.Retention,
		Grace: max(compact.DefaultGrace, 2*cfg.FlushEvery),
		Flushed: func() time.Time {
			if n := flushed.Load(); n != 0 {
				return time.Unix(0, n).UTC()
			}
			return time.Time{}
		},
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
