package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/store"
)

func sampleIncident() history.Incident {
	t0 := time.Date(2026, 11, 26, 14, 2, 0, 0, time.UTC)
	return history.Incident{
		Node: "worker-2", Nodes: []string{"worker-2"}, At: t0, Window: 30 * time.Minute,
		Timeline: []store.NodeEvent{
			{Node: "worker-2", At: t0.Add(-10 * time.Second), Event: "node_unknown", Reason: "NodeStatusUnknown"},
			{Node: "worker-2", At: t0.Add(-9 * time.Second), Event: "node_tainted", Reason: "node.kubernetes.io/unreachable:NoExecute"},
		},
		Pods: []history.IncidentPod{
			{Pod: store.PodRef{Namespace: "shop", Name: "db-0"}, Node: "worker-2", Owner: store.Owner{Kind: "StatefulSet", Name: "db"}, First: t0.Add(-time.Hour), Last: t0.Add(time.Minute),
				Next: &history.Replacement{Pod: store.PodRef{Namespace: "shop", Name: "db-0"}, Node: "worker-3", First: t0.Add(95 * time.Second), After: 95 * time.Second}, Outcome: history.Rescheduled},
			{Pod: store.PodRef{Namespace: "shop", Name: "solo"}, Node: "worker-2", First: t0.Add(-time.Hour), Last: t0.Add(time.Minute), Outcome: history.NotRescheduled},
		},
		Summary: history.IncidentSummary{Pods: 2, Rescheduled: 1, NotRescheduled: 1, Median: 95 * time.Second, Slowest: 95 * time.Second},
	}
}

// TestIncidentJSON holds the incident answer to golden text.
func TestIncidentJSON(t *testing.T) {
	var b bytes.Buffer
	if err := Encode(&b, IncidentAnswer{Incident: IncidentOf(sampleIncident())}); err != nil {
		t.Fatal(err)
	}
	want := `{
  "node_name": "worker-2",
  "nodes": [
    "worker-2"
  ],
  "at": "2026-11-26T14:02:00Z",
  "window_seconds": 1800,
  "timeline": [
    {
      "timestamp": "2026-11-26T14:01:50Z",
      "event": "node_unknown",
      "reason": "NodeStatusUnknown"
    },
    {
      "timestamp": "2026-11-26T14:01:51Z",
      "event": "node_tainted",
      "reason": "node.kubernetes.io/unreachable:NoExecute"
    }
  ],
  "pods": [
    {
      "namespace": "shop",
      "pod_name": "db-0",
      "node_name": "worker-2",
      "owner_kind": "StatefulSet",
      "owner_name": "db",
      "first_seen": "2026-11-26T13:02:00Z",
      "last_seen": "2026-11-26T14:03:00Z",
      "next": {
        "namespace": "shop",
        "pod_name": "db-0",
        "node_name": "worker-3",
        "first_seen": "2026-11-26T14:03:35Z",
        "after_seconds": 95
      },
      "outcome": "rescheduled",
      "node_back": null
    },
    {
      "namespace": "shop",
      "pod_name": "solo",
      "node_name": "worker-2",
      "owner_kind": "",
      "owner_name": "",
      "first_seen": "2026-11-26T13:02:00Z",
      "last_seen": "2026-11-26T14:03:00Z",
      "next": null,
      "outcome": "not_rescheduled",
      "node_back": null
    }
  ],
  "workloads": [],
  "summary": {
    "pods": 2,
    "rescheduled": 1,
    "not_rescheduled": 1,
    "stayed": 0,
    "node_bound": 0,
    "node_bound_stayed": 0,
    "node_bound_back": 0,
    "node_bound_not_back": 0,
    "median_seconds": 95,
    "slowest_seconds": 95
  },
  "hidden": {
    "pods": 0,
    "namespaces": 0,
    "node_events": 0
  }
}
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	var empty bytes.Buffer
	if err := Encode(&empty, IncidentAnswer{Incident: IncidentOf(history.Incident{Node: "n", At: sampleIncident().At, Window: time.Minute})}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(empty.String(), `"timeline": [],`) || !strings.Contains(empty.String(), `"pods": [],`) || !strings.Contains(empty.String(), `"median_seconds": null`) {
		t.Errorf("an empty incident: %s", empty.String())
	}
}

// TestRowsJSON holds a row to golden text: owner fields empty when no hour
// kept an owner, times null when not known, cluster only when set.
func TestRowsJSON(t *testing.T) {
	hour := time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC)
	web := store.PodRef{Namespace: "shop", Name: "web-0"}
	rows := []history.Row{
		{Pod: web, Node: "n1", Hour: hour.Add(-time.Hour)},
		{Pod: web, Node: "ip-10-0-1-2.ec2.internal", Hour: hour, First: hour.Add(25 * time.Minute), Last: hour.Add(59 * time.Minute), Cluster: "prod"},
	}
	var b bytes.Buffer
	if err := Encode(&b, RowsOf(map[store.PodRef]store.Owner{web: {Kind: "StatefulSet", Name: "web"}}, rows)); err != nil {
		t.Fatal(err)
	}
	want := `[
  {
    "namespace": "shop",
    "pod_name": "web-0",
    "node_name": "n1",
    "owner_kind": "StatefulSet",
    "owner_name": "web",
    "hour": "2026-11-26T12:00:00Z",
    "first_seen": null,
    "last_seen": null
  },
  {
    "cluster": "prod",
    "namespace": "shop",
    "pod_name": "web-0",
    "node_name": "ip-10-0-1-2.ec2.internal",
    "owner_kind": "StatefulSet",
    "owner_name": "web",
    "hour": "2026-11-26T13:00:00Z",
    "first_seen": "2026-11-26T13:25:00Z",
    "last_seen": "2026-11-26T13:59:00Z"
  }
]
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := Encode(&b, RowsOf(nil, nil)); err != nil || b.String() != "[]\n" {
		t.Errorf("no rows: %q, %v; want []", b.String(), err)
	}
}
