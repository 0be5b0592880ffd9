package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// burst is n distinct events of one second (node-i, each with its reason),
// as a runaway or a whole cluster flapping at once records them.
func burst(first, n int, second time.Time) []NodeEvent {
	out := make([]NodeEvent, n)
	for i := range out {
		out[i] = NodeEvent{Node: fmt.Sprintf("node-%d", first+i), At: second, Event: "node_not_ready", Reason: "KubeletNotReady"}
	}
	return out
}

// TestNodeEventsOfOneSecondLinear: MaxNodeEvents events all at one second
// decode, and merge into as many stored ones, in well under a second, not in
// time that grows with the square of the events; the order stays what
// doc.go promises (stored lines first, then the new ones in the order
// recorded; an exact repeat within the second dropped).
func TestNodeEventsOfOneSecondLinear(t *testing.T) {
	second := at(30)
	h := NewHour(testHour)
	h.Nodes = burst(0, MaxNodeEvents, second)
	cms, err := Encode(h, 0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, _, warnings := Decode(t.Context(), testHour, values(cms))
	took := time.Since(start)
	if len(warnings) > 0 || len(got.Nodes) != MaxNodeEvents {
		t.Fatalf("decoded %d events, warnings %v; want %d", len(got.Nodes), warnings, MaxNodeEvents)
	}
	for i, e := range got.Nodes {
		if e != h.Nodes[i] {
			t.Fatalf("event %d decoded as %+v, want %+v: the order of one second is the order recorded", i, e, h.Nodes[i])
		}
	}
	t.Logf("decoding %d events of one second: %s", MaxNodeEvents, took)
	if took > time.Second {
		t.Errorf("decoding %d events of one second took %s, want well under a second", MaxNodeEvents, took)
	}

	// Half stored; all of them again (exact repeats) and the other half
	// new: the stored first, then the new ones.
	stored := &Hour{Start: testHour, Nodes: burst(0, MaxNodeEvents/2, second)}
	fresh := &Hour{Start: testHour, Nodes: burst(0, MaxNodeEvents, second)}
	start = time.Now()
	changed := stored.Merge(fresh)
	took = time.Since(start)
	want := burst(0, MaxNodeEvents, second)
	if !changed || len(stored.Nodes) != len(want) {
		t.Fatalf("merge: changed %v, %d events, want %d", changed, len(stored.Nodes), len(want))
	}
	for i := range want {
		if stored.Nodes[i] != want[i] {
			t.Fatalf("merged event %d is %+v, want %+v", i, stored.Nodes[i], want[i])
		}
	}
	t.Logf("merging %d events into %d of the same second: %s", len(fresh.Nodes), MaxNodeEvents/2, took)
	if took > time.Second {
		t.Errorf("merging %d events into %d of one second took %s, want well under a second", len(fresh.Nodes), MaxNodeEvents/2, took)
	}
	if stored.Merge(fresh) {
		t.Error("merging the same events again reported a change")
	}
}

// TestAddNodeEventsAsOneByOne: adding a batch leaves the hour as adding its
// events one by one with AddNodeEvent does, repeats, invalid events, times
// outside the hour, unordered input and the MaxNodeEvents cap included.
func TestAddNodeEventsAsOneByOne(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	event := func() NodeEvent {
		names := []string{"n1", "n2", "N3"} // N3 is not a node name
		events := []string{"node_ready", "node_not_ready", "Ready"}
		return NodeEvent{
			Node:   names[r.IntN(len(names))],
			At:     testHour.Add(time.Duration(r.IntN(8)-1) * time.Second * 600), // some before the hour, some after
			Event:  events[r.IntN(len(events))],
			Reason: []string{"", "KubeletReady", " two\nlines "}[r.IntN(3)],
		}
	}
	for round := range 300 {
		var held []NodeEvent
		if round%10 == 9 { // near the cap
			held = burst(0, MaxNodeEvents-5, at(1200))
		}
		one := &Hour{Start: testHour, Nodes: slices.Clone(held)}
		for range r.IntN(20) {
			one.AddNodeEvent(event())
		}
		batch := &Hour{Start: testHour, Nodes: slices.Clone(one.Nodes)}
		var es []NodeEvent
		for range r.IntN(30) {
			es = append(es, event())
		}
		changed := false
		for _, e := range es {
			changed = one.AddNodeEvent(e) || changed
		}
		if got := batch.addNodeEvents(es); got != changed || !slices.Equal(batch.Nodes, one.Nodes) {
			tail := func(n []NodeEvent) []NodeEvent { return n[max(0, len(n)-40):] }
			t.Fatalf("round %d: adding %v\n batch: %v, %d events ending %v\n one by one: %v, %d events ending %v", round, es, got, len(batch.Nodes), tail(batch.Nodes), changed, len(one.Nodes), tail(one.Nodes))
		}
	}
}
