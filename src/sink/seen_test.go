package sink

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/store"
)

// TestSeenIsEveryPodSentAgain: between printed snapshots the watch source
// tells the store in one record.EventSeen that every pod it sent and did not
// report gone is still where it was, instead of sending each pod again. The
// hour stored must be the same either way, at every flush and after the
// final one: deleted and moved pods keep their true last seen, a pod only
// read from the store stays claimed, one it stored as gone stays gone, a new
// pod is renewed from its first sighting, and a record for one namespace
// renews only that namespace.
func TestSeenIsEveryPodSentAgain(t *testing.T) {
	type pod struct{ ns, name, node string }
	ref := func(p pod) store.PodRef { return store.PodRef{Namespace: p.ns, Name: p.name} }
	rec := func(p pod, at time.Time, ev record.Event) record.Placement {
		return record.Placement{Namespace: p.ns, Pod: p.name, Node: p.node, Timestamp: at, Event: ev}
	}
	seenRec := func(namespace string, at time.Time) record.Placement {
		return record.Placement{Namespace: namespace, Timestamp: at, Event: record.EventSeen, StoreOnly: true}
	}
	type renew func(running []pod, at time.Time) []record.Placement
	renewals := []struct {
		name  string
		renew renew
	}{
		{"every pod sent again", func(running []pod, at time.Time) []record.Placement {
			var out []record.Placement
			for _, p := range running {
				r := rec(p, at, record.EventSnapshot)
				r.StoreOnly = true
				out = append(out, r)
			}
			return out
		}},
		{"one EventSeen", func(_ []pod, at time.Time) []record.Placement {
			return []record.Placement{seenRec("", at)}
		}},
		{"one EventSeen per namespace (a source each)", func(_ []pod, at time.Time) []record.Placement {
			return []record.Placement{seenRec("other", at), seenRec("shop", at)}
		}},
	}
	// run plays the same half hour with each way of renewing and returns the
	// hour as stored after each flush and after the final one.
	run := func(t *testing.T, renew renew) []*store.Hour {
		// An earlier run stored p0 and "old" as running; old left while
		// nobody watched, so it is claimed, never renewed. It stored "gone"
		// as gone at 14:05, which stays so.
		prior := store.NewHour(hour14)
		for _, name := range []string{"p0", "old"} {
			prior.Add(store.PodRef{Namespace: "shop", Name: name}, "n0", hour14.Add(10*time.Second))
			prior.Add(store.PodRef{Namespace: "shop", Name: name}, "n0", hour14.Add(time.Hour-time.Second))
		}
		prior.Add(store.PodRef{Namespace: "shop", Name: "gone"}, "n0", hour14.Add(10*time.Second))
		prior.Add(store.PodRef{Namespace: "shop", Name: "gone"}, "n0", hour14.Add(5*time.Minute))
		cms, err := store.Encode(prior, 0)
		if err != nil {
			t.Fatal(err)
		}
		var objs []runtime.Object
		for _, cm := range cms {
			objs = append(objs, configMap(cm))
		}
		client := fake.NewClientset(objs...)
		s := newSink(client)
		s.FlushInterval = 30 * time.Second
		s.Stale = 5 * time.Minute
		r := start(t, s, hour14.Add(5*time.Minute))
		var running []pod
		for i := range 5 {
			running = append(running, pod{"shop", fmt.Sprintf("p%d", i), fmt.Sprintf("n%d", i)})
		}
		running = append(running, pod{"other", "q0", "n5"}, pod{"other", "q1", "n6"})
		at := r.clock.Now().Add(time.Second)
		for _, p := range running { // the initial snapshot, printed
			r.send(rec(p, at, record.EventSnapshot))
		}
		var hours []*store.Hour
		for step := 1; step <= 70; step++ { // every 30 s to 14:40
			r.tick(30 * time.Second)
			hours = append(hours, decodeHour(t, client, hour14))
			at := r.clock.Now().Add(time.Second)
			switch step {
			case 10: // 14:10:01 p1 deleted
				r.send(rec(running[1], at, record.EventDeleted))
				running = append(running[:1], running[2:]...)
			case 20: // 14:15:01 p2 moved from n2 to n7
				running[1].node = "n7"
				moved := rec(running[1], at, record.EventMoved)
				moved.PreviousNode = "n2"
				r.send(moved)
			case 30: // 14:20:01 p5 scheduled
				p := pod{"shop", "p5", "n8"}
				running = append(running, p)
				r.send(rec(p, at, record.EventScheduled))
			default:
				r.send(renew(running, at)...)
			}
		}
		r.stop()
		return append(hours, decodeHour(t, client, hour14))
	}

	want := run(t, renewals[0].renew)
	final := want[len(want)-1]
	last := func(h *store.Hour, p pod) time.Duration {
		s := h.Pod(ref(p))
		return s[len(s)-1].Last.Sub(hour14)
	}
	// The reference run is what the sink did before EventSeen: check that
	// it says what happened, so the comparison below cannot pass vacuously.
	for _, c := range []struct {
		p    pod
		want time.Duration
	}{
		{pod{"shop", "p3", "n3"}, 40*time.Minute + time.Second},  // running: its last sighting, at the stop
		{pod{"shop", "p1", "n1"}, 10*time.Minute + time.Second},  // deleted
		{pod{"shop", "p2", "n7"}, 40*time.Minute + time.Second},  // moved, running on n7
		{pod{"shop", "p5", "n8"}, 40*time.Minute + time.Second},  // new, running
		{pod{"other", "q0", "n5"}, 40*time.Minute + time.Second}, // another namespace
		{pod{"shop", "old", "n0"}, time.Hour - time.Second},      // claimed by the store
		{pod{"shop", "gone", "n0"}, 5 * time.Minute},             // gone as the sink started
	} {
		if got := last(final, c.p); got != c.want {
			t.Errorf("reference run: %s/%s last seen %s into the hour, want %s", c.p.ns, c.p.name, got, c.want)
		}
	}
	if mid := want[40]; last(mid, pod{"shop", "p3", "n3"}) != time.Hour-time.Second || last(mid, pod{"shop", "p1", "n1"}) != 10*time.Minute+time.Second {
		t.Errorf("reference run mid-hour: p3 %s, p1 %s; want p3 running to the hour's end, p1 ended at 10m1s",
			last(mid, pod{"shop", "p3", "n3"}), last(mid, pod{"shop", "p1", "n1"}))
	}
	for _, tt := range renewals[1:] {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, tt.renew)
			for i := range want {
				if !reflect.DeepEqual(got[i].Pods, want[i].Pods) {
					t.Fatalf("after flush %d the store holds\n%v\nwant (every pod sent again)\n%v", i+1, got[i].Pods, want[i].Pods)
				}
			}
		})
	}
	t.Run("EventSeen of another namespace renews nothing here", func(t *testing.T) {
		got := run(t, func(_ []pod, at time.Time) []record.Placement { return []record.Placement{seenRec("other", at)} })
		final := got[len(got)-1]
		if d := last(final, pod{"shop", "p3", "n3"}); d != 5*time.Minute+time.Second {
			t.Errorf("shop/p3 last seen %s into the hour, want its only sighting, 5m1s", d)
		}
		if d := last(final, pod{"other", "q0", "n5"}); d != 40*time.Minute+time.Second {
			t.Errorf("other/q0 last seen %s into the hour, want 40m1s", d)
		}
	})
}
