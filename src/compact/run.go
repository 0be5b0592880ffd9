package compact

import (
	"context"

	"github.com/sirupsen/logrus"
)

// Run compacts at once (once Ready is closed, if set) and then every Every
// until ctx ends, and returns nil then: a pass that fails is logged and the
// next tries again. Each pass's retries stop after half of Every, so an
// outage does not stall the passes.
func (c *Compactor) Run(ctx context.Context) error {
	if half := c.opts.Every / 2; c.opts.Retry.MaxElapsed == 0 || c.opts.Retry.MaxElapsed > half {
		c.opts.Retry.MaxElapsed = half
	}
	if c.opts.Ready != nil {
		select {
		case <-ctx.Done():
			return nil
		case <-c.opts.Ready:
		}
	}
	ticker := c.opts.Clock.NewTicker(c.opts.Every)
	defer ticker.Stop()
	for {
		res, err := c.Once(ctx)
		c.report(res, err)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C():
		}
	}
}

func (c *Compactor) report(res Result, err error) {
	log := c.opts.Log
	if len(res.Written) > 0 || len(res.Deleted) > 0 {
		hours := make([]string, len(res.Compacted))
		for i, h := range res.Compacted {
			hours[i] = h.Format("2006-01-02T15")
		}
		log.WithFields(logrus.Fields{"hours": hours, "written": len(res.Written), "deleted": len(res.Deleted), "left": res.Left}).Info("compaction: wrote the tables of closed hours")
	}
	if err != nil {
		log.WithError(err).Warn("compaction failed; trying again at the next pass")
	}
}

// With compacts beside work, for as long as work runs (so under
// --leader-elect only the leader compacts), and returns work's error:
// compaction never stops work. A store that keeps no files (ErrNoFiles) or
// a missing cluster name is returned before work starts.
func With(ctx context.Context, opts Options, work func(context.Context) error) error {
	c, err := New(opts)
	if err != nil {
		return err
	}
	working, stop := context.WithCancel(ctx)
	defer stop()
	compacted := make(chan struct{})
	go func() {
		defer close(compacted)
		_ = c.Run(working) // returns when working ends, nil
	}()
	err = work(working)
	stop()
	<-compacted
	return err
}

// Run is New and Compactor.Run: compaction until ctx ends.
func Run(ctx context.Context, opts Options) error {
	c, err := New(opts)
	if err != nil {
		return err
	}
	return c.Run(ctx)
}
