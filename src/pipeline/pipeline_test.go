package pipeline

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/record"
)

// counter produces n placements, or runs until ctx ends when n < 0.
func counter(n int) Source {
	return func(ctx context.Context, out chan<- record.Placement) error {
		defer close(out)
		for i := 0; n < 0 || i < n; i++ {
			select {
			case out <- record.Placement{Pod: "p"}:
			case <-ctx.Done():
				return nil
			}
		}
		return nil
	}
}

func pass(ctx context.Context, in <-chan record.Placement, out chan<- record.Placement) error {
	defer close(out)
	for r := range in {
		select {
		case out <- r:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func TestRunDeliversEverything(t *testing.T) {
	got := 0
	err := Run(t.Context(), counter(5000), []Stage{pass, pass}, func(_ context.Context, in <-chan record.Placement) error {
		for range in {
			got++
		}
		return nil
	})
	if err != nil || got != 5000 {
		t.Fatalf("Run = %v, delivered %d, want nil and 5000", err, got)
	}
}

func TestStopDrainsWhatWasRead(t *testing.T) {
	stop, cancel := context.WithCancel(t.Context())
	produced, consumed := 0, 0
	source := func(ctx context.Context, out chan<- record.Placement) error {
		defer close(out)
		for {
			select {
			case out <- record.Placement{}:
				produced++
				if produced == 2000 {
					cancel() // a signal arrives while stages still hold records
				}
			case <-ctx.Done():
				return nil
			}
		}
	}
	slowSink := func(_ context.Context, in <-chan record.Placement) error {
		for range in {
			consumed++
			if consumed%500 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		return nil
	}
	if err := Run(stop, source, []Stage{pass}, slowSink); err != nil {
		t.Fatal(err)
	}
	if consumed != produced {
		t.Fatalf("sink got %d of %d records sent before the stop", consumed, produced)
	}
}

func TestFirstErrorStopsAll(t *testing.T) {
	boom := errors.New("boom")
	failing := func(ctx context.Context, in <-chan record.Placement, out chan<- record.Placement) error {
		defer close(out)
		<-in
		return boom
	}
	done := make(chan error)
	go func() { done <- Run(t.Context(), counter(-1), []Stage{failing}, nil) }()
	select {
	case err := <-done:
		if !errors.Is(err, boom) {
			t.Fatalf("Run = %v, want %v", err, boom)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an endless source was not stopped by a failing stage")
	}
}
