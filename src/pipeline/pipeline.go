// Package pipeline runs Pod Ashiato's stages together and owns the channels
// between them: source → filter chain → emitter → sink.
//
// Stopping is a property of the source alone. When the stop context ends the
// source closes its output; every later stage ranges over its input until it is
// closed, so everything read is still emitted and stored before Run returns.
// The first stage that fails cancels the rest (errgroup).
package pipeline

import (
	"context"

	"golang.org/x/sync/errgroup"

	"github.com/pod-ashiato/ashiato/src/record"
)

// Buffer is each channel's capacity: one LIST page, so the source can hand a
// whole page on while the emitter writes the previous one.
const Buffer = 512

// Source produces placements and closes out when it returns.
type Source func(ctx context.Context, out chan<- record.Placement) error

// Stage passes placements from in to out and closes out when in is closed.
type Stage func(ctx context.Context, in <-chan record.Placement, out chan<- record.Placement) error

// Sink consumes placements until in is closed.
type Sink func(ctx context.Context, in <-chan record.Placement) error

// Run wires source, stages and sink with channels and runs them until the
// source is done and everything it produced has reached the sink, or until one
// of them fails. stop ends the source only; a nil sink discards.
func Run(stop context.Context, source Source, stages []Stage, sink Sink) error {
	g, ctx := errgroup.WithContext(context.Background())

	// The source stops on a signal (stop) or on any stage's failure (ctx).
	sourceCtx, cancel := context.WithCancel(stop)
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
			cancel()
		case <-sourceCtx.Done():
		}
	}()

	out := make(chan record.Placement, Buffer)
	g.Go(func() error { return source(sourceCtx, out) })
	in := out
	for _, stage := range stages {
		stageIn, stageOut := in, make(chan record.Placement, Buffer)
		g.Go(func() error { return stage(ctx, stageIn, stageOut) })
		in = stageOut
	}
	if sink == nil {
		sink = Discard
	}
	g.Go(func() error { return sink(ctx, in) })
	return g.Wait()
}

// Discard drains in.
func Discard(_ context.Context, in <-chan record.Placement) error {
	for range in {
	}
	return nil
}
