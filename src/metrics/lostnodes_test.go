package metrics

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/record"
)

func TestLostNodesWithPods(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	node := func(name string, e record.Event) record.Placement {
		return record.Placement{Node: name, Event: e, Timestamp: t0}
	}
	tests := []struct {
		name    string
		records []record.Placement
		pods    map[string]int // what the pod source counts
		want    []string
	}{
		{"no lost node", []record.Placement{node("a", record.EventNodeCordoned)}, map[string]int{"a": 3},
			[]string{"ashiato_lost_nodes_with_pods 0", "ashiato_pods_on_lost_nodes 0"}},
		{"NotReady and Unknown nodes with pods, one without", []record.Placement{
			node("a", record.EventNodeNotReady), node("b", record.EventNodeUnknown), node("c", record.EventNodeNotReady), node("d", record.EventNodeTainted),
		}, map[string]int{"a": 2, "b": 5, "d": 9},
			[]string{"ashiato_lost_nodes_with_pods 2", `ashiato_node_lost_pods{node="a"} 2`, `ashiato_node_lost_pods{node="b"} 5`, "ashiato_pods_on_lost_nodes 7"}},
		{"a node back Ready, a node deleted", []record.Placement{
			node("a", record.EventNodeNotReady), node("a", record.EventNodeReady), node("b", record.EventNodeDeleted),
		}, map[string]int{"a": 2, "b": 1},
			[]string{"ashiato_lost_nodes_with_pods 1", `ashiato_node_lost_pods{node="b"} 1`, "ashiato_pods_on_lost_nodes 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New()
			var asked map[string]bool
			m.SetPodsOnNodes(func(nodes map[string]bool) map[string]int {
				asked = nodes
				return tt.pods
			})
			count(t, m, tt.records...)
			if got := lostSeries(t, m); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for n := range asked {
				if n == "d" {
					t.Error("the pods of a healthy node were asked for")
				}
			}
		})
	}
}

func lostSeries(t *testing.T, m *Metrics) []string {
	t.Helper()
	var lines []string
	for _, p := range []string{"ashiato_lost_nodes_with_pods", "ashiato_node_lost_pods", "ashiato_pods_on_lost_nodes"} {
		lines = append(lines, series(t, m, p)...)
	}
	return lines
}

func TestLostNodesHealthyClusterAsksNothing(t *testing.T) {
	m := New()
	if got := lostSeries(t, m); len(got) != 0 {
		t.Errorf("without a pod source: %v, want no series", got)
	}
	m.SetPodsOnNodes(func(map[string]bool) map[string]int {
		t.Error("pods counted while no node is lost")
		return nil
	})
	lostSeries(t, m)
}

func TestLostNodeSeriesAreBounded(t *testing.T) {
	m := New()
	pods := map[string]int{}
	var records []record.Placement
	for i := range 3 * maxLostNodeSeries {
		name := fmt.Sprintf("n-%03d", i)
		records = append(records, record.Placement{Node: name, Event: record.EventNodeUnknown})
		pods[name] = i + 1
	}
	m.SetPodsOnNodes(func(map[string]bool) map[string]int { return pods })
	count(t, m, records...)
	perNode := series(t, m, "ashiato_node_lost_pods{")
	if len(perNode) != maxLostNodeSeries {
		t.Fatalf("%d per-node series, want %d", len(perNode), maxLostNodeSeries)
	}
	// The nodes with the most pods are the ones shown.
	if want := fmt.Sprintf(`ashiato_node_lost_pods{node="n-%03d"} %d`, 3*maxLostNodeSeries-1, 3*maxLostNodeSeries); !strings.Contains(strings.Join(perNode, "\n"), want) {
		t.Errorf("per-node series lack %s", want)
	}
	if got := series(t, m, "ashiato_lost_nodes_with_pods"); len(got) != 1 || got[0] != fmt.Sprintf("ashiato_lost_nodes_with_pods %d", 3*maxLostNodeSeries) {
		t.Errorf("totals: %v, want every node counted", got)
	}
}

func TestDeletedNodeForgottenOnceEmpty(t *testing.T) {
	m := New()
	pods := map[string]int{"gone": 2}
	m.SetPodsOnNodes(func(map[string]bool) map[string]int { return pods })
	count(t, m, record.Placement{Node: "gone", Event: record.EventNodeDeleted, Timestamp: time.Now()})
	lostSeries(t, m)
	if len(m.lostNodes.nodes) != 1 {
		t.Fatalf("deleted node with pods forgotten")
	}
	pods["gone"] = 0
	lostSeries(t, m)
	if len(m.lostNodes.nodes) != 0 {
		t.Errorf("deleted node without pods still remembered: %v", m.lostNodes.nodes)
	}
}
