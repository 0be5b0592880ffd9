package metrics

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pod-ashiato/ashiato/src/record"
)

func TestIncidents(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	node := func(sec int, name string, e record.Event) record.Placement {
		return record.Placement{Node: name, Event: e, Timestamp: t0.Add(time.Duration(sec) * time.Second)}
	}
	pod := func(sec int, name, nodeName, kind, owner string, e record.Event) record.Placement {
		return record.Placement{Namespace: "shop", Pod: name, Node: nodeName, OwnerKind: kind, OwnerName: owner, Event: e, Timestamp: t0.Add(time.Duration(sec) * time.Second)}
	}
	tests := []struct {
		name        string
		records     []record.Placement
		transitions int
		lost        int
		reschedules int
		delaySum    float64
	}{
		{"replicaset pods replaced, bare pod not", []record.Placement{
			node(0, "a", record.EventNodeUnknown),
			node(1, "a", record.EventNodeTainted),
			pod(10, "web-1", "a", "ReplicaSet", "web", record.EventDeleted),
			pod(11, "web-2", "a", "ReplicaSet", "web", record.EventDeleted),
			pod(12, "solo", "a", "", "", record.EventDeleted),
			pod(20, "web-3", "b", "ReplicaSet", "web", record.EventScheduled),
			pod(30, "web-4", "c", "ReplicaSet", "web", record.EventScheduled),
			pod(40, "web-5", "c", "ReplicaSet", "web", record.EventScheduled), // a scale-up, not a replacement
		}, 2, 3, 2, 50},
		{"statefulset pod returns under its name", []record.Placement{
			node(0, "a", record.EventNodeNotReady),
			pod(5, "db-0", "a", "StatefulSet", "db", record.EventDeleted),
			pod(6, "db-1", "b", "StatefulSet", "db", record.EventScheduled), // another identity
			pod(9, "db-0", "b", "StatefulSet", "db", record.EventMoved),
		}, 1, 1, 1, 9},
		{"pods of a healthy or recovered node are no loss", []record.Placement{
			pod(1, "web-1", "a", "ReplicaSet", "web", record.EventDeleted),
			node(2, "a", record.EventNodeUnknown),
			node(3, "a", record.EventNodeReady),
			pod(4, "web-2", "a", "ReplicaSet", "web", record.EventDeleted),
			pod(5, "web-3", "b", "ReplicaSet", "web", record.EventScheduled),
		}, 2, 0, 0, 0},
		{"a deleted node's pods", []record.Placement{
			node(0, "a", record.EventNodeDeleted),
			pod(30, "web-1", "a", "ReplicaSet", "web", record.EventDeleted),
			pod(45, "web-2", "b", "ReplicaSet", "web", record.EventScheduled),
		}, 1, 1, 1, 45},
		{"a replacement seen before the deletion (the pod was terminating)", []record.Placement{
			pod(0, "web-9", "b", "ReplicaSet", "web", record.EventScheduled), // before the loss: no replacement
			node(5, "a", record.EventNodeUnknown),
			pod(8, "web-3", "b", "ReplicaSet", "web", record.EventScheduled), // web-1 is terminating
			pod(10, "web-1", "a", "ReplicaSet", "web", record.EventDeleted),
			pod(12, "web-2", "a", "ReplicaSet", "web", record.EventDeleted),
			pod(15, "web-4", "c", "ReplicaSet", "web", record.EventScheduled),
		}, 1, 2, 2, 3 + 10},
		{"a replacement after an hour is not counted", []record.Placement{
			node(0, "a", record.EventNodeUnknown),
			pod(10, "web-1", "a", "ReplicaSet", "web", record.EventDeleted),
			pod(3600, "web-2", "b", "ReplicaSet", "web", record.EventScheduled),
		}, 1, 1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newIncidents()
			for _, r := range tt.records {
				c.observe(r)
			}
			transitions := 0
			for _, e := range []record.Event{record.EventNodeUnknown, record.EventNodeTainted, record.EventNodeNotReady, record.EventNodeReady, record.EventNodeDeleted} {
				transitions += int(testutil.ToFloat64(c.transitions.WithLabelValues(string(e))))
			}
			if transitions != tt.transitions {
				t.Errorf("transitions = %d, want %d", transitions, tt.transitions)
			}
			if got := int(testutil.ToFloat64(c.lostPods)); got != tt.lost {
				t.Errorf("lost pods = %d, want %d", got, tt.lost)
			}
			if got := int(testutil.ToFloat64(c.reschedules)); got != tt.reschedules {
				t.Errorf("reschedules = %d, want %d", got, tt.reschedules)
			}
			if got := histogramSum(t, c); got != tt.delaySum {
				t.Errorf("delay sum = %v s, want %v", got, tt.delaySum)
			}
		})
	}
}

// histogramSum reads the delay histogram's sum as /metrics serves it.
func histogramSum(t *testing.T, c *incidents) float64 {
	t.Helper()
	m := New()
	m.Registry.Unregister(m.incidents.delay) // serve c's histogram instead
	m.Registry.MustRegister(c.delay)
	_, body := get(t, m.Handler(), "/metrics")
	sum, found := 0.0, false
	for line := range strings.SplitSeq(body, "\n") {
		if rest, ok := strings.CutPrefix(line, "ashiato_reschedule_after_node_loss_seconds_sum{"); ok {
			_, v, _ := strings.Cut(rest, "} ")
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			sum, found = sum+f, true
		}
	}
	if !found {
		t.Fatalf("no histogram sum in /metrics:\n%s", body)
	}
	return sum
}

func TestIncidentMemoryIsBounded(t *testing.T) {
	c := newIncidents()
	t0 := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	c.observe(record.Placement{Node: "a", Event: record.EventNodeUnknown, Timestamp: t0})
	for i := range maxPendingLosses + 10 {
		c.observe(record.Placement{Namespace: "ns", Pod: "p" + strconv.Itoa(i), Node: "a", Event: record.EventDeleted, Timestamp: t0})
	}
	if c.npend > maxPendingLosses || len(c.pending) > maxPendingLosses {
		t.Errorf("%d losses pending (%d keys), want at most %d", c.npend, len(c.pending), maxPendingLosses)
	}
}
