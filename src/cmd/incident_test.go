package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/store"
)

func TestHistorySubcommand(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"incident", "n1"}, "incident"},
		{[]string{"--context", "prod", "incident", "n1"}, "incident"},
		{[]string{"--at=1h", "-o", "json", "incident", "n1"}, "incident"},
		{[]string{"--window", "10m", "node", "n1"}, "node"},
		{[]string{"--", "incident"}, "incident"},
		{[]string{"--at", "incident"}, ""}, // a flag's value is no subcommand
		{[]string{"-h"}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := historySubcommand(tt.args); got != tt.want {
			t.Errorf("historySubcommand(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestParseIncidentFlags(t *testing.T) {
	c, err := parseIncidentFlags([]string{"--context", "prod", "incident", "worker-2", "--at", "2026-11-26T14:02:00Z", "-o", "json", "--window", "1h"}, historyNow, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.node != "worker-2" || !c.at.Equal(time.Date(2026, 11, 26, 14, 2, 0, 0, time.UTC)) || c.window != time.Hour || c.output != "json" || c.kube.context != "prod" {
		t.Errorf("got %+v", c)
	}
	c, err = parseIncidentFlags([]string{"incident", "worker-2", "--at", "30m"}, historyNow, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.window != 30*time.Minute || !c.at.Equal(historyNow.Add(-30*time.Minute)) || c.output != "table" || c.kube.store.Namespace != "default" {
		t.Errorf("defaults: got %+v", c)
	}
}

// TestIncidentInvalidInput: a usage error (exit 2) in one line, before any
// request.
func TestIncidentInvalidInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no node", []string{"incident", "--at", "now"}, "history incident needs the NODE"},
		{"two nodes", []string{"incident", "a", "b", "--at", "now"}, `unexpected argument "b"`},
		{"invalid node", []string{"incident", "Node_1", "--at", "now"}, `invalid node "Node_1"`},
		{"no --at", []string{"incident", "n1"}, "history incident needs --at T"},
		{"bad --at", []string{"incident", "n1", "--at", "yesterday"}, "invalid --at"},
		{"zero window", []string{"incident", "n1", "--at", "now", "--window", "0s"}, "invalid --window 0s"},
		{"huge window", []string{"incident", "n1", "--at", "now", "--window", "48h"}, "invalid --window 48h0m0s"},
		{"bad window", []string{"incident", "n1", "--at", "now", "--window", "soon"}, "invalid value \"soon\" for flag -window"},
		{"range flags", []string{"incident", "n1", "--since", "1h"}, "flag provided but not defined: -since"},
		{"wide output", []string{"incident", "n1", "--at", "now", "-o", "wide"}, `invalid -o "wide": want table, json or svg`},
		{"bad cm namespace", []string{"incident", "n1", "--at", "now", "--cm-namespace", "A"}, `invalid --cm-namespace "A"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"history"}, tt.args...), &stdout, &stderr)
			var usage usageError
			if !errors.As(err, &usage) {
				t.Fatalf("run(history %q) = %v, want a usage error", tt.args, err)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line containing %q", err, tt.want)
			}
			if stdout.Len() > 0 || stderr.Len() > 0 {
				t.Errorf("printed %q / %q before failing", stdout.String(), stderr.String())
			}
		})
	}
}

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
	if err := writeIncidentTable(&b, sampleIncident()); err != nil {
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

func TestWriteIncidentJSON(t *testing.T) {
	var b bytes.Buffer
	if err := writeIncidentJSON(&b, sampleIncident(), false, ""); err != nil {
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
  }
}
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	var empty bytes.Buffer
	if err := writeIncidentJSON(&empty, history.Incident{Node: "n", At: sampleIncident().At, Window: time.Minute}, false, ""); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(empty.String(), `"timeline": [],`) || !strings.Contains(empty.String(), `"pods": [],`) || !strings.Contains(empty.String(), `"median_seconds": null`) {
		t.Errorf("an empty incident: %s", empty.String())
	}
}
