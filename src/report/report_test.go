package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/store"
)

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
