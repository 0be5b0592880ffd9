package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pod-ashiato/ashiato/src/record"
)

// TestNodeBoundIsNoLoss: a DaemonSet's pod and a mirror pod deleted from a
// lost node are counted apart, and their new pods replace nothing; the delay
// of the rest is labelled by owner kind.
func TestNodeBoundIsNoLoss(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	c := newIncidents()
	for _, r := range []record.Placement{
		{Node: "a", Event: record.EventNodeUnknown, Timestamp: t0},
		{Namespace: "kube-system", Pod: "agent-x", Node: "a", OwnerKind: "DaemonSet", OwnerName: "agent", Event: record.EventDeleted, Timestamp: t0.Add(time.Second)},
		{Namespace: "kube-system", Pod: "etcd-a", Node: "a", OwnerKind: "Node", OwnerName: "a", Event: record.EventDeleted, Timestamp: t0.Add(time.Second)},
		{Namespace: "shop", Pod: "db-0", Node: "a", OwnerKind: "StatefulSet", OwnerName: "db", Event: record.EventDeleted, Timestamp: t0.Add(time.Second)},
		{Namespace: "kube-system", Pod: "agent-y", Node: "a", OwnerKind: "DaemonSet", OwnerName: "agent", Event: record.EventScheduled, Timestamp: t0.Add(5 * time.Second)},
		{Namespace: "shop", Pod: "db-0", Node: "b", OwnerKind: "StatefulSet", OwnerName: "db", Event: record.EventMoved, Timestamp: t0.Add(20 * time.Second)},
	} {
		c.observe(r)
	}
	if got := testutil.ToFloat64(c.lostPods); got != 1 {
		t.Errorf("lost %v, want 1 (db-0)", got)
	}
	if got := testutil.ToFloat64(c.nodeBound); got != 2 {
		t.Errorf("node-bound %v, want 2", got)
	}
	if got := testutil.ToFloat64(c.reschedules); got != 1 {
		t.Errorf("reschedules %v, want 1", got)
	}
	if n := testutil.CollectAndCount(c.delay); n != 5 {
		t.Errorf("%d histograms, want one per owner kind (5)", n)
	}
	if got := histogramCount(t, c, "StatefulSet"); got != 1 {
		t.Errorf("StatefulSet delays %d, want 1", got)
	}
	if got := histogramCount(t, c, "Other"); got != 0 {
		t.Errorf("Other delays %d, want 0 (node-bound pods are no reschedule)", got)
	}
}

// histogramCount is the number of delays observed for an owner kind.
func histogramCount(t *testing.T, c *incidents, kind string) uint64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c.delay)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "owner_kind" && l.GetValue() == kind {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	t.Fatalf("no histogram for owner_kind %q", kind)
	return 0
}
