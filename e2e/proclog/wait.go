package proclog

import (
	"context"
	"fmt"
	"time"
)

// Start is a just-started process whose readiness is awaited.
type Start struct {
	// Name names the process in errors.
	Name string
	// Log is the process's log file and Offset where this start's output
	// begins in it.
	Log    string
	Offset int64
	// Alive reports whether the process still runs; ExitErr says how it ended.
	Alive   func() bool
	ExitErr func() error
	// CheckTimeout bounds one check; Every is the pause between checks.
	CheckTimeout, Every time.Duration
}

// WaitReady polls check until it succeeds, the process dies, or ctx ends.
// The error names the process and carries the tail of its log.
func (s Start) WaitReady(ctx context.Context, check func(context.Context) error) error {
	var last error
	for {
		if !s.Alive() {
			return fmt.Errorf("%s exited before it was ready (%v)\n%s", s.Name, s.ExitErr(), Tail(s.Log, s.Offset))
		}
		cctx, cancel := context.WithTimeout(ctx, s.CheckTimeout)
		last = check(cctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last check: %v)\n%s", s.Name, context.Cause(ctx), last, Tail(s.Log, s.Offset))
		case <-time.After(s.Every):
		}
	}
}
