package metrics

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/record"
)

var testTime = time.Unix(1_800_000_000, 0)

// TestSeriesAtScale: docs/monitoring.md's series count at 5,000 nodes and
// 10,000 namespaces, the worst case: every node lost with pods, a reschedule
// in every namespace, every event and API error reason seen.
func TestSeriesAtScale(t *testing.T) {
	const nodes, namespaces = 5_000, 10_000
	tests := []struct {
		maxNamespaces int
		want          int // ashiato_ series, Go and process metrics aside
	}{
		{DefaultMaxNamespaces, 1_183},
		{0, 183},
		{namespaces, 20_183},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("--metrics-namespaces=%d", tt.maxNamespaces), func(t *testing.T) {
			m := New()
			m.SetMaxNamespaces(tt.maxNamespaces)
			var records []record.Placement
			for _, e := range []record.Event{record.EventNodeReady, record.EventNodeCordoned, record.EventNodeUncordoned, record.EventNodeTainted,
				record.EventNodeUntainted, record.EventNodeAdded, record.EventNodeDeleted, record.EventNodeNotReady} {
				records = append(records, record.Placement{Node: "x", Event: e})
			}
			pods := map[string]int{}
			for i := range nodes {
				name := fmt.Sprintf("node-%04d", i)
				records = append(records, record.Placement{Node: name, Event: record.EventNodeUnknown})
				pods[name] = 3
			}
			for i := range namespaces {
				ns := fmt.Sprintf("ns-%05d", i)
				records = append(records,
					record.Placement{Namespace: ns, Pod: "p", Node: "node-0000", OwnerKind: "ReplicaSet", OwnerName: "r", Event: record.EventDeleted},
					record.Placement{Namespace: ns, Pod: "q", Node: "node-0001", OwnerKind: "ReplicaSet", OwnerName: "r", Event: record.EventScheduled},
					record.Placement{Namespace: ns, Pod: "s", Node: "node-0002", Event: record.EventMoved},
					record.Placement{Namespace: ns, Pod: "s", Node: "node-0002", Event: record.EventSnapshot},
					record.Placement{Namespace: ns, Pod: "s", Node: "node-0002", Event: record.EventUpdated})
			}
			m.SetPodsOnNodes(func(map[string]bool) map[string]int { return pods })
			count(t, m, records...)
			for _, reason := range []string{"Conflict", "TooManyRequests", "ServerTimeout", "Timeout", "InternalError", "ServiceUnavailable",
				"Forbidden", "Unauthorized", "NotFound", "AlreadyExists", "Gone", "Invalid", "BadRequest", "MethodNotAllowed",
				"NotAcceptable", "RequestEntityTooLarge", "UnsupportedMediaType", "Expired", "network", "Unknown"} {
				m.apiErrors.WithLabelValues(reason).Inc()
			}
			m.StoreWrite("configmap", 1, nil)
			m.StoreWrite("s3", 1, fmt.Errorf("x"))
			m.StoreStarted(testTime)
			for _, table := range []string{"placements", "node_events"} {
				for _, result := range []string{"written", "exists", "error"} {
					m.Compaction(table, result)
				}
			}
			_, body := get(t, m.Handler(), "/metrics") // once: 20,000 series take a while to render under -race
			count := func(prefix string) (n int) {
				for line := range strings.SplitSeq(body, "\n") {
					if strings.HasPrefix(line, prefix) {
						n++
					}
				}
				return n
			}
			got, other := count("ashiato_"), count("go_")+count("process_")
			if got != tt.want {
				t.Errorf("%d ashiato_ series, want %d", got, tt.want)
			}
			if other > 100 {
				t.Errorf("%d Go and process series", other)
			}
			t.Logf("%d ashiato_ series, %d Go and process series", got, other)
			if n := count("ashiato_node_lost_pods{"); n != maxLostNodeSeries {
				t.Errorf("%d per-node series, want %d", n, maxLostNodeSeries)
			}
		})
	}
}
