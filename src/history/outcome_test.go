package history

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/store"
)

// zoneHours: zone 1's nodes z1-a and z1-b are lost at 14:10; z1-a is Ready
// again at 14:15, z1-b never within the window.
func zoneHours() ([]*store.Hour, time.Time) {
	h := store.NewHour(time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC))
	at := h.Start.Add(10 * time.Minute)
	m := func(min, sec int) time.Time {
		return h.Start.Add(time.Duration(min)*time.Minute + time.Duration(sec)*time.Second)
	}
	place := func(pod, node string, first, last time.Time, o store.Owner) {
		ref := store.PodRef{Namespace: "shop", Name: pod}
		h.Add(ref, node, first)
		h.Add(ref, node, last)
		h.SetOwner(ref, o)
	}
	web, api := store.Owner{Kind: "ReplicaSet", Name: "web-1"}, store.Owner{Kind: "ReplicaSet", Name: "api-1"}
	agent, job := store.Owner{Kind: "DaemonSet", Name: "agent"}, store.Owner{Kind: "Job", Name: "batch"}
	place("web-1-a", "z1-a", m(1, 0), m(10, 20), web)
	place("web-1-b", "z2-a", m(1, 0), m(40, 0), web)
	place("web-1-c", "z2-a", m(11, 0), m(40, 0), web) // replaces web-1-a after 1m
	place("api-1-a", "z1-a", m(1, 0), m(10, 20), api)
	place("api-1-b", "z1-b", m(1, 0), m(10, 20), api)
	place("api-1-c", "z2-a", m(11, 30), m(40, 0), api) // the outage ends after 1m30s
	place("api-1-d", "z2-a", m(12, 0), m(40, 0), api)
	place("agent-a", "z1-a", m(1, 0), m(40, 0), agent)  // stays on its node
	place("agent-b", "z1-b", m(1, 0), m(10, 20), agent) // its node is not back
	place("agent-z", "z2-a", m(1, 0), m(40, 0), agent)
	place("batch-x", "z1-a", m(5, 0), m(40, 0), job) // never evicted: stayed
	for _, e := range []store.NodeEvent{
		{Node: "z1-a", At: at, Event: "node_unknown"},
		{Node: "z1-b", At: at, Event: "node_unknown"},
		{Node: "z1-a", At: m(15, 0), Event: "node_ready"},
	} {
		h.AddNodeEvent(e)
	}
	return []*store.Hour{h}, at
}

func TestInvestigateZone(t *testing.T) {
	hours, at := zoneHours()
	inc := InvestigateNodes(hours, []string{"z1-b", "z1-a"}, at, 30*time.Minute)
	var b strings.Builder
	for _, p := range inc.Pods {
		fmt.Fprintf(&b, "%s@%s %s: %s\n", p.Pod.Name, p.Node, p.Outcome, p.Text())
	}
	for _, w := range inc.Workloads {
		fmt.Fprintln(&b, w.Text())
	}
	s := inc.Summary
	fmt.Fprintf(&b, "%d pods %d rescheduled %d not %d stayed %d node-bound (%d stayed %d back %d not back) median %s slowest %s",
		s.Pods, s.Rescheduled, s.NotRescheduled, s.Stayed, s.NodeBound, s.NodeBoundStayed, s.NodeBoundBack, s.NodeBoundNotBack, s.Median, s.Slowest)
	want := `agent-a@z1-a node_bound_stayed: node-bound: stayed
agent-b@z1-b node_bound_not_back: node-bound: the node did not come back within the window
api-1-a@z1-a rescheduled: rescheduled after 1m30s
api-1-b@z1-b rescheduled: rescheduled after 2m0s
batch-x@z1-a stayed: stayed
web-1-a@z1-a rescheduled: rescheduled after 1m0s
DaemonSet/agent: 2 of 3 lost, 1 back
Job/batch: 1 of 1 lost, all back after 5m0s
ReplicaSet/api-1: 2 of 2 lost, all back after 2m0s; OUTAGE: none ran from 2026-11-26T14:10:00Z to 2026-11-26T14:11:30Z (1m30s)
ReplicaSet/web-1: 1 of 2 lost, all back after 1m0s
6 pods 3 rescheduled 0 not 1 stayed 2 node-bound (1 stayed 0 back 1 not back) median 1m30s slowest 2m0s`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	if strings.Join(inc.Nodes, ",") != "z1-a,z1-b" || len(inc.Timeline) != 3 {
		t.Errorf("nodes %v, timeline %v", inc.Nodes, inc.Timeline)
	}
}

// TestNodeBoundBack: a DaemonSet's new pod on the node, after the node came
// back, is the old one back; one on another node is not.
func TestNodeBoundBack(t *testing.T) {
	h := store.NewHour(time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC))
	at := h.Start.Add(10 * time.Minute)
	ds := store.Owner{Kind: "DaemonSet", Name: "agent"}
	for _, p := range []struct {
		pod, node   string
		first, last time.Duration
	}{{"agent-a", "n1", time.Minute, 10 * time.Minute}, {"agent-n", "n2", 11 * time.Minute, 20 * time.Minute}, {"agent-b", "n1", 14 * time.Minute, 20 * time.Minute}} {
		ref := store.PodRef{Namespace: "kube-system", Name: p.pod}
		h.Add(ref, p.node, h.Start.Add(p.first))
		h.Add(ref, p.node, h.Start.Add(p.last))
		h.SetOwner(ref, ds)
	}
	h.AddNodeEvent(store.NodeEvent{Node: "n1", At: at, Event: "node_deleted"})
	h.AddNodeEvent(store.NodeEvent{Node: "n1", At: h.Start.Add(13 * time.Minute), Event: "node_added"})
	inc := Investigate([]*store.Hour{h}, "n1", at, 30*time.Minute)
	if len(inc.Pods) != 1 || inc.Pods[0].Outcome != NodeBoundBack || inc.Pods[0].Next.Pod.Name != "agent-b" || inc.Pods[0].Text() != "node-bound: back on the node after 4m0s" {
		t.Fatalf("pods %+v", inc.Pods)
	}
	if s := inc.Summary; s.Rescheduled != 0 || s.NotRescheduled != 0 || s.NodeBoundBack != 1 || s.Median != 0 {
		t.Errorf("summary %+v", s)
	}
}

func TestFailedNodes(t *testing.T) {
	hours, at := zoneHours()
	h := hours[0]
	h.SetNodeLabels("z1-a", map[string]string{"topology.kubernetes.io/zone": "zone-1"})
	h.SetNodeLabels("z1-b", map[string]string{"topology.kubernetes.io/zone": "zone-1"})
	h.SetNodeLabels("z2-a", map[string]string{"topology.kubernetes.io/zone": "zone-2"})
	h.AddNodeEvent(store.NodeEvent{Node: "z2-a", At: at.Add(35 * time.Minute), Event: "node_unknown"}) // after the window
	zone := func(z string) func(map[string]string) bool {
		return func(l map[string]string) bool { return l["topology.kubernetes.io/zone"] == z }
	}
	if got := FailedNodes(hours, zone("zone-1"), at.Add(-30*time.Minute), at.Add(30*time.Minute)); fmt.Sprint(got) != "[z1-a z1-b]" {
		t.Errorf("zone-1 failed: %v", got)
	}
	if got := FailedNodes(hours, zone("zone-2"), at.Add(-30*time.Minute), at.Add(30*time.Minute)); len(got) != 0 {
		t.Errorf("zone-2 failed: %v (its loss is outside the window)", got)
	}
}
