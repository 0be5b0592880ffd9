package heap

import (
	"context"
	"fmt"
	"runtime/debug"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestSetGCDefaults(t *testing.T) {
	tests := []struct {
		name string
		gogc string
		want int // the growth in effect after the call
	}{
		{name: "no GOGC: ours", gogc: "", want: defaultGCPercent},
		{name: "GOGC set: left to the runtime", gogc: "100", want: 100},
		{name: "GOGC off", gogc: "off", want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			was := debug.SetGCPercent(100) // as the runtime starts without GOGC
			defer debug.SetGCPercent(was)
			got := SetGCDefaults(func(k string) string {
				if k == "GOGC" {
					return tt.gogc
				}
				return ""
			})
			if got != tt.want {
				t.Errorf("SetGCDefaults = %d, want %d", got, tt.want)
			}
			inEffect := debug.SetGCPercent(100)
			wantInEffect := tt.want
			if tt.gogc != "" {
				wantInEffect = 100 // the runtime's own reading of GOGC, not changed by us
			}
			if inEffect != wantInEffect {
				t.Errorf("GC percent in effect %d, want %d", inEffect, wantInEffect)
			}
		})
	}
}

func TestTooMuchFree(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name string
		h    State
		want bool
	}{
		{name: "a collection cycle's garbage (GOGC 25)", h: State{live: 80 * mib, free: 20 * mib}, want: false},
		{name: "the sync's leftover", h: State{live: 80 * mib, free: 94 * mib}, want: true},
		{name: "a small process", h: State{live: 8 * mib, free: 12 * mib}, want: false},
		{name: "just over half the live heap", h: State{live: 80 * mib, free: 41 * mib}, want: true},
	}
	for _, tt := range tests {
		if got := tooMuchFree(tt.h); got != tt.want {
			t.Errorf("%s: tooMuchFree(%+v) = %v, want %v", tt.name, tt.h, got, tt.want)
		}
	}
}

// TestReleaseMemory: the heap is looked at every releaseEvery and released
// only when a transient left too much free.
func TestReleaseMemory(t *testing.T) {
	const mib = 1 << 20
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	next := make(chan State) // unbuffered: a look is over once the next one reads
	releases := make(chan State, 10)
	var looking State
	read := func() State {
		select {
		case looking = <-next:
		case <-ctx.Done():
		}
		return looking
	}
	go ReleaseMemory(ctx, clk, read, func() { releases <- looking })
	states := []State{{live: 80 * mib, free: 94 * mib}, {live: 80 * mib, free: 2 * mib}, {live: 80 * mib, free: 20 * mib}, {live: 90 * mib, free: 60 * mib}}
	for !clk.HasWaiters() { // the ticker is set
		time.Sleep(time.Millisecond)
	}
	for _, s := range append(states, State{}) { // the last one only ends the look before it
		clk.Step(releaseEvery)
		next <- s
	}
	close(releases)
	var got []State
	for s := range releases {
		got = append(got, s)
	}
	if want := []State{states[0], states[3]}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("released at %v, want at %v (the two with too much free)", got, want)
	}
}
