package answer

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/report"
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

func TestWriteIncidentTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteIncidentTable(&b, sampleIncident()); err != nil {
		t.Fatal(err)
	}
	want := `Node worker-2 at 2026-11-26T14:02:00Z (window 30m0s)

TIME                   EVENT          REASON
2026-11-26T14:01:50Z   node_unknown   NodeStatusUnknown
2026-11-26T14:01:51Z   node_tainted   node.kubernetes.io/unreachable:NoExecute

NAMESPACE   POD    OWNER            NEXT                NODE       AFTER   OUTCOME
shop        db-0   StatefulSet/db   db-0                worker-3   1m35s   rescheduled after 1m35s
shop        solo   <none>           <never came back>   -          -       never came back

2 pods, 1 rescheduled, 1 not rescheduled; median 1m35s, slowest 1m35s to reschedule
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestIncidentJSON holds the incident answer (package report) to golden
// text.
func TestIncidentJSON(t *testing.T) {
	var b bytes.Buffer
	if err := report.Encode(&b, report.IncidentAnswer{Incident: report.IncidentOf(sampleIncident())}); err != nil {
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
	if err := report.Encode(&empty, report.IncidentAnswer{Incident: report.IncidentOf(history.Incident{Node: "n", At: sampleIncident().At, Window: time.Minute})}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(empty.String(), `"timeline": [],`) || !strings.Contains(empty.String(), `"pods": [],`) || !strings.Contains(empty.String(), `"median_seconds": null`) {
		t.Errorf("an empty incident: %s", empty.String())
	}
}
