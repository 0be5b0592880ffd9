package recorder

import (
	"context"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/pod-ashiato/ashiato/src/metrics"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/sink"
)

const (
	// defaultRetention keeps a week of hours, --retention's default.
	defaultRetention = 7 * 24 * time.Hour
	// retentionEvery is how often continuous mode looks for expired hours. An
	// hour expires once an hour, so looking more often only adds reads of the
	// store in steady state; the store holds at most an hour more than
	// --retention.
	retentionEvery = time.Hour
)

// withRetention runs work and, when storing with a positive --retention, the deletion of expired hours: beside work in continuous
// mode, for as long as work runs (so under --leader-elect only the leader
// deletes), and once after work in --oneshot mode. A retention error that no
// later round can fix (Forbidden) stops work and is returned.
func withRetention(ctx context.Context, cfg *Config, log logrus.FieldLogger, m *metrics.Metrics, work func(context.Context) error) error {
	if cfg.Store == nil || cfg.Retention <= 0 {
		return work(ctx)
	}
	r := &sink.Retention{
		Store: cfg.Store,
		Keep:  cfg.Retention,
		Retry: retry.Policy{Backoff: retry.DefaultBackoff(), Log: log, OnFailure: m.APIError},
		Log:   log,
		Flag:  "--" + cfg.RetentionFlag,
	}
	if cfg.Oneshot {
		if err := work(ctx); err != nil || ctx.Err() != nil {
			return err
		}
		r.Retry.MaxElapsed = OneshotRetry
		deleted, err := r.Once(ctx)
		if len(deleted) > 0 {
			log.WithFields(logrus.Fields{"deleted": deleted, "keep": cfg.Retention.String()}).Info("retention: deleted hours older than --" + cfg.RetentionFlag)
		}
		if err != nil {
			return fmt.Errorf("retention: %w", err)
		}
		return nil
	}

	working, stopWork := context.WithCancel(ctx)
	defer stopWork()
	retained := make(chan error, 1)
	go func() {
		err := r.Run(working, retentionEvery)
		if err != nil {
			stopWork() // work drains as on a signal, then the error is returned
		}
		retained <- err
	}()
	err := work(working)
	stopWork()
	if rerr := <-retained; rerr != nil {
		return rerr
	}
	return err
}
