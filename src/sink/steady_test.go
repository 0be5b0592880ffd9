package sink

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/store"
)

// reads counts the sink's reads of the store.
func reads(client *fake.Clientset) (n int) {
	for _, a := range client.Actions() {
		if a.GetResource().Resource == "configmaps" && (a.GetVerb() == "list" || a.GetVerb() == "get") {
			n++
		}
	}
	return n
}

// snapshotOf is the watch source's periodic snapshot: every pod, store only.
func snapshotOf(pods int, node func(int) string, at time.Time) []record.Placement {
	out := make([]record.Placement, pods)
	for i := range out {
		out[i] = placement(fmt.Sprintf("p%d", i), node(i), at)
		out[i].StoreOnly = true
	}
	return out
}

// TestSteadyStateWritesOnceAnHour: pods that keep running cost one write of
// their hour, when it first holds them; no read (the hour began while the
// sink ran), no rewrite as last seen advances, and the hour still says they
// ran to its end. A pod deleted mid-hour has its true last seen written at
// the next flush; one that vanished without a record, after Stale.
func TestSteadyStateWritesOnceAnHour(t *testing.T) {
	client := fake.NewClientset()
	s := newSink(client)
	s.FlushInterval = 30 * time.Second
	r := start(t, s, hour14.Add(-time.Minute))
	node := func(i int) string { return fmt.Sprintf("n%d", i%5) }
	r.tick(30 * time.Second)
	r.tick(30 * time.Second) // 14:00:00
	for range 120 {          // every 30 s to 14:59:31
		r.send(snapshotOf(50, node, r.clock.Now().Add(time.Second))...)
		r.tick(30 * time.Second)
	}
	w, rd := writes(client), reads(client)
	if w != 1 || rd != 0 {
		t.Fatalf("an hour of 50 running pods: %d writes, %d reads; want 1 write, no read", w, rd)
	}
	h := decodeHour(t, client, hour14) // the test's own read
	rd++
	if got := h.Pod(store.PodRef{Namespace: "shop", Name: "p7"}); len(got) != 1 || !got[0].Last.Equal(hour14.Add(time.Hour-time.Second)) || !got[0].First.Equal(hour14.Add(time.Second)) {
		t.Fatalf("p7 stored as %v; want first 14:00:01, last 14:59:59 (still running)", got)
	}

	// Hour 15: p1 deleted at 15:10, p2 gone without a record after 15:10.
	r.send(snapshotOf(50, node, r.clock.Now().Add(time.Second))...) // 15:00:01
	r.tick(30 * time.Second)
	if w := writes(client); w != 2 {
		t.Errorf("%d writes after the first flush of hour 15, want 2 (one an hour)", w)
	}
	base := writes(client)
	for r.clock.Now().Before(hour15.Add(40 * time.Minute)) {
		now := r.clock.Now().Add(time.Second)
		snap := snapshotOf(50, node, now)
		if now.After(hour15.Add(10 * time.Minute)) {
			snap = append(snap[:1], snap[3:]...)
		}
		r.send(snap...)
		if now.Sub(hour15) == 10*time.Minute+time.Second {
			del := placement("p1", node(1), now)
			del.Event = record.EventDeleted
			r.send(del)
		}
		r.tick(30 * time.Second)
	}
	if w := writes(client) - base; w != 2 {
		t.Errorf("a deletion and a pod gone without a record: %d writes, want 2 (one each)", w)
	}
	if got := reads(client); got != rd {
		t.Errorf("%d reads by the sink, want none", got-rd)
	}
	h = decodeHour(t, client, hour15)
	last := func(pod string) time.Duration {
		return h.Pod(store.PodRef{Namespace: "shop", Name: pod})[0].Last.Sub(hour15)
	}
	if got := last("p1"); got != 10*time.Minute+time.Second {
		t.Errorf("deleted p1 last seen %s into the hour, want 10m1s", got)
	}
	if got := last("p2"); got != 10*time.Minute+time.Second-30*time.Second {
		t.Errorf("vanished p2 last seen %s into the hour, want its last sighting, 9m31s", got)
	}
	if got := last("p3"); got != time.Hour-time.Second {
		t.Errorf("running p3 last seen %s into the hour, want the hour's last second", got)
	}
	r.stop()
	// Stopping writes what was seen: no claim of a future it cannot watch.
	h = decodeHour(t, client, hour15)
	if got := last("p3"); got != 39*time.Minute+31*time.Second {
		t.Errorf("after stopping, p3 last seen %s into the hour, want its last sighting, 39m31s", got)
	}
}

// TestFlushDoesNotHoldUpTheInput: while a write waits on a slow API server,
// the sink keeps taking records, so the emitter before it keeps printing.
func TestFlushDoesNotHoldUpTheInput(t *testing.T) {
	client := fake.NewClientset()
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	client.PrependReactor("create", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		return false, nil, nil
	})
	s := newSink(client)
	s.FlushInterval = 30 * time.Second
	r := start(t, s, hour14.Add(time.Minute))
	r.send(placement("a", "n1", r.clock.Now()))
	r.clock.Step(30 * time.Second)
	r.clock.ticks <- r.clock.Now()
	<-entered
	// The write is stuck; the input is unbuffered, so each send below waits
	// for the sink to take it.
	deadline := time.After(10 * time.Second)
	for i := range 10_000 {
		select {
		case r.in <- placement(fmt.Sprintf("b%d", i), "n2", r.clock.Now()):
		case <-deadline:
			close(release)
			t.Fatalf("the sink took %d records while a write waited, then stopped taking them", i)
		}
	}
	close(release)
	r.stop()
	if n := len(hourOf(t, client, hour14)); n != 10_001 {
		t.Fatalf("the store holds %d pods, want 10001", n)
	}
}

// TestPreviousHourDroppedAfterTheTurn: LastSeenStep into a new hour, the
// index of the hour before (as much memory as the current one) is dropped
// once stored. Its running pods stay stored as running to its end, which
// they were, and stopping later does not write that hour again.
func TestPreviousHourDroppedAfterTheTurn(t *testing.T) {
	client := fake.NewClientset()
	s := newSink(client)
	s.FlushInterval = 30 * time.Second
	r := start(t, s, hour14.Add(50*time.Minute))
	node := func(i int) string { return fmt.Sprintf("n%d", i%5) }
	for r.clock.Now().Before(hour15.Add(10 * time.Minute)) { // to 15:10, every 30 s
		r.send(snapshotOf(20, node, r.clock.Now().Add(time.Second))...)
		r.tick(30 * time.Second)
	}
	atStop := len(client.Actions())
	r.stop()
	for _, a := range client.Actions()[atStop:] {
		if w, ok := a.(k8stesting.CreateAction); ok && (a.GetVerb() == "create" || a.GetVerb() == "update") {
			if cm, ok := w.GetObject().(*corev1.ConfigMap); ok && strings.HasPrefix(cm.Name, store.NameFor(hour14)) {
				t.Errorf("stopping at 15:10 wrote %s of hour 14 again, want it left as stored (its index dropped at 15:05)", cm.Name)
			}
		}
	}
	h := decodeHour(t, client, hour14)
	if got := h.Pod(store.PodRef{Namespace: "shop", Name: "p3"}); len(got) != 1 || !got[0].Last.Equal(hour15.Add(-time.Second)) {
		t.Errorf("p3 stored in hour 14 as %v, want running to 14:59:59", got)
	}
}
