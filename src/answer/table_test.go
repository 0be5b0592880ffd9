package answer

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/filter"
	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/store"
)

// TestWriteRows holds the tables to golden text.
func TestWriteRows(t *testing.T) {
	hour := time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC)
	rows := []history.Row{
		{Pod: store.PodRef{Namespace: "shop", Name: "web-0"}, Node: "n1", Hour: hour.Add(-time.Hour)},
		{Pod: store.PodRef{Namespace: "shop", Name: "web-0"}, Node: "ip-10-0-1-2.ec2.internal", Hour: hour, First: hour.Add(25 * time.Minute), Last: hour.Add(59 * time.Minute)},
	}
	pod := &Query{Output: "table"}
	node := &Query{Output: "table", Node: "n1"}
	tests := []struct {
		name string
		cfg  *Query
		rows []history.Row
		want string
	}{
		{"pod table", pod, rows, `
HOUR                   NODE                       FIRST SEEN             LAST SEEN
2026-11-26T12:00:00Z   n1                         <unknown>              <unknown>
2026-11-26T13:00:00Z   ip-10-0-1-2.ec2.internal   2026-11-26T13:25:00Z   2026-11-26T13:59:00Z
`},
		{"node table", node, rows, `
NAMESPACE   POD     HOUR                   FIRST SEEN             LAST SEEN
shop        web-0   2026-11-26T12:00:00Z   <unknown>              <unknown>
shop        web-0   2026-11-26T13:00:00Z   2026-11-26T13:25:00Z   2026-11-26T13:59:00Z
`},
		{"wide", &Query{Output: "wide"}, rows[1:], `
NAMESPACE   POD     NODE                       HOUR                   FIRST SEEN             LAST SEEN
shop        web-0   ip-10-0-1-2.ec2.internal   2026-11-26T13:00:00Z   2026-11-26T13:25:00Z   2026-11-26T13:59:00Z
`},
		{"empty table prints nothing", pod, nil, "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteRows(&b, tt.cfg, tt.rows); err != nil {
				t.Fatal(err)
			}
			if want := strings.TrimPrefix(tt.want, "\n"); b.String() != want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), want)
			}
		})
	}
}

// TestKeepRows: history node keeps the rows its namespace and name filters
// keep, in order.
func TestKeepRows(t *testing.T) {
	f := filter.Options{Namespaces: []string{"shop", "kube-system"}, ExcludeNamespaces: []string{"kube-system"}, ExcludeNamePrefixes: []string{"web-canary"}}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	rows := []history.Row{
		{Pod: store.PodRef{Namespace: "shop", Name: "web-0"}, Node: "n1"},
		{Pod: store.PodRef{Namespace: "shop", Name: "web-canary-1"}, Node: "n1"},
		{Pod: store.PodRef{Namespace: "kube-system", Name: "coredns-0"}, Node: "n1"},
		{Pod: store.PodRef{Namespace: "other", Name: "web-1"}, Node: "n1"},
		{Pod: store.PodRef{Namespace: "shop", Name: "db-0"}, Node: "n1"},
	}
	var got []string
	for _, r := range keepRows(rows, f.StoredChain()) {
		got = append(got, r.Pod.String())
	}
	if strings.Join(got, " ") != "shop/web-0 shop/db-0" {
		t.Errorf("kept %v, want shop/web-0 shop/db-0", got)
	}
}
