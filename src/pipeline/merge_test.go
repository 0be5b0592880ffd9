package pipeline

import (
	"context"
	"errors"
	"testing"

	"github.com/pod-ashiato/ashiato/src/record"
)

func TestMergeSendsEverySourcesOutput(t *testing.T) {
	got := 0
	err := Run(t.Context(), Merge(counter(300), counter(0), counter(700)), nil, func(_ context.Context, in <-chan record.Placement) error {
		for range in {
			got++
		}
		return nil
	})
	if err != nil || got != 1000 {
		t.Fatalf("Run = %v, delivered %d, want nil and 1000", err, got)
	}
}

func TestMergeStopsAllOnFirstError(t *testing.T) {
	boom := errors.New("boom")
	failing := func(ctx context.Context, out chan<- record.Placement) error {
		close(out)
		return boom
	}
	// counter(-1) runs until its context ends: only the failure can end it.
	err := Run(t.Context(), Merge(counter(-1), failing, counter(-1)), nil, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want %v", err, boom)
	}
}

func TestMergeStopsOnContext(t *testing.T) {
	stop, cancel := context.WithCancel(t.Context())
	consumed := 0
	err := Run(stop, Merge(counter(-1), counter(-1)), nil, func(_ context.Context, in <-chan record.Placement) error {
		for range in {
			if consumed++; consumed == 100 {
				cancel()
			}
		}
		return nil
	})
	if err != nil || consumed < 100 {
		t.Fatalf("Run = %v after %d placements, want nil after at least 100", err, consumed)
	}
}
