package main

import (
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/store"
)

// TestSQLHour checks the sql part's failure: on its hour the failed node's
// pods are last seen by the failure and their replacements first seen after
// it on the next node; the hour after has the replacements and not the
// originals; any other hour is storedHour's.
func TestSQLHour(t *testing.T) {
	s := &sizeResult{Pods: 200, Nodes: 10, Namespaces: 5}
	first := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	node, at := failureOf(1, 0, s.Nodes, first)
	fh := store.HourOf(at)
	failed := sqlHour(fh, first, 1, s)
	after := sqlHour(fh.Add(time.Hour), first, 1, s)
	other := sqlHour(fh.Add(-time.Hour), first, 1, s)
	if got := other.Len(); got != s.Pods || len(other.Nodes) != 0 {
		t.Errorf("an hour without a failure: %d pods, %d node events, want %d and 0", got, len(other.Nodes), s.Pods)
	}
	events := append(failed.NodeEvents(""), after.NodeEvents("")...)
	if len(events) != 2 || events[0].Event != "node_unknown" || !events[0].At.Equal(at) || events[0].Node != nodeName(node) ||
		events[1].Event != "node_ready" || !events[1].At.Equal(at.Add(20*time.Minute)) {
		t.Errorf("the failure's events: %+v", events)
	}
	lost, replaced := 0, 0
	for ref, seen := range failed.Pods {
		for _, x := range seen {
			switch {
			case x.Node == nodeName(node):
				lost++
				if x.Last.After(at) {
					t.Errorf("%s on the failed node until %s, after the failure at %s", ref, x.Last, at)
				}
			case x.First.After(at) && x.Node == nodeName((node+1)%s.Nodes):
				replaced++
				if o := failed.Owners[ref]; o.Kind != "ReplicaSet" || ownerOf(ref.Name) != o.Name {
					t.Errorf("replacement %s has owner %+v", ref, o)
				}
			}
		}
	}
	if want := s.Pods / s.Nodes; lost != want || replaced != want {
		t.Errorf("failure hour: %d pods lost, %d replaced, want %d each", lost, replaced, want)
	}
	if got := after.Len(); got != s.Pods {
		t.Errorf("the hour after: %d pods, want %d (the replacements instead of the lost)", got, s.Pods)
	}
	for ref, seen := range after.Pods {
		if seen[0].Node == nodeName(node) {
			t.Errorf("the hour after: %s still on the failed node", ref)
		}
	}
}

func TestAnswerRows(t *testing.T) {
	for in, want := range map[string]int{`{"pods":[]}`: 0, `{"placements":[{"pod_name":"a"},{"pod_name":"b"}]}`: 2, `{"cluster":"c","pods":[{},{},{}]}`: 3} {
		if got, err := answerRows([]byte(in)); err != nil || got != want {
			t.Errorf("answerRows(%s) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := answerRows([]byte("x")); err == nil {
		t.Error("answerRows of no JSON succeeded")
	}
}
