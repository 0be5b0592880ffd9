package source

import (
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pod-ashiato/ashiato/src/record"
)

// The periodic snapshots, minute by minute across the turn of an hour: which
// are printed, which go to the store only, which are not sent.
func TestWatchSnapshotsHourly(t *testing.T) {
	const (
		printed   = "printed"
		storeOnly = "store-only"
		none      = "none"
	)
	tests := []struct {
		name      string
		snapshots Snapshots
		storeSeen bool
		// the snapshots at 13:58, 13:59, 14:00 and 14:01, after the initial
		// one at 13:57:30
		want []string
	}{
		{"hourly, with a store", SnapshotsHourly, true, []string{storeOnly, storeOnly, printed, storeOnly}},
		{"hourly, no store", SnapshotsHourly, false, []string{none, none, printed, none}},
		{"every interval (the original's)", SnapshotsEveryInterval, true, []string{printed, printed, printed, printed}},
		{"empty is every interval", "", false, []string{printed, printed, printed, printed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(time.Date(2026, 11, 26, 13, 57, 30, 0, time.UTC))
			ticks := make(chan int, 10)
			w := &Watch{Client: fake.NewClientset(placedPod("shop", "a", "ua", "n1", "10.0.0.1"), placedPod("shop", "b", "ub", "n2", "10.0.0.2")),
				Selection: Selection{Namespace: "shop"}, Interval: time.Minute, Snapshots: tt.snapshots, StoreSeen: tt.storeSeen, Clock: clk,
				OnSnapshot: func(n int) { ticks <- n }}
			r := startWatch(t, w)
			for _, p := range r.nextN(2) {
				if p.Event != record.EventSnapshot || p.StoreOnly {
					t.Fatalf("initial snapshot: %s store-only=%v, want printed snapshots", brief(p), p.StoreOnly)
				}
			}
			if n := <-ticks; n != 2 {
				t.Fatalf("initial snapshot of %d pods, want 2", n)
			}
			for i, want := range tt.want {
				for !clk.HasWaiters() { // the ticker is set once the initial snapshot is sent
					time.Sleep(time.Millisecond)
				}
				clk.Step(time.Minute)
				if n := <-ticks; n != 2 {
					t.Fatalf("snapshot %d: OnSnapshot(%d), want 2 pods", i, n)
				}
				got := none
				if len(r.out) > 0 {
					// Between printed snapshots the store is told, in one
					// record, that every pod is still where it was.
					if p := r.next(); p.Event == record.EventSeen {
						if !p.StoreOnly || p.Namespace != "shop" || !p.Timestamp.Equal(clk.Now()) || p.Pod != "" || p.Node != "" {
							t.Fatalf("snapshot %d: %+v, want one StoreOnly EventSeen for namespace shop at %s", i, p, clk.Now())
						}
						got = storeOnly
					} else {
						ps := append([]record.Placement{p}, r.nextN(1)...)
						if ps[0].StoreOnly || ps[1].StoreOnly || ps[0].Event != record.EventSnapshot || ps[1].Event != record.EventSnapshot {
							t.Fatalf("snapshot %d: %s and %s, want two printed snapshots", i, brief(ps[0]), brief(ps[1]))
						}
						got = printed
					}
				}
				if got != want {
					t.Errorf("snapshot %d at %s: %s, want %s", i, clk.Now().Format("15:04"), got, want)
				}
			}
		})
	}
}
