package answer

import (
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/store"
)

// TestIncidentNodeBound is issue 25's first case as the table shows it: a
// DaemonSet's pod that stayed on its node (Unknown for 11 s, then Ready
// again) and a ReplicaSet's pod that stayed too are neither "never came
// back" nor "not rescheduled".
func TestIncidentNodeBound(t *testing.T) {
	h := store.NewHour(time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC))
	at := h.Start.Add(10 * time.Minute)
	place := func(pod string, o store.Owner) {
		ref := store.PodRef{Namespace: "kube-system", Name: pod}
		h.Add(ref, "node-z1a", h.Start.Add(time.Minute))
		h.Add(ref, "node-z1a", h.Start.Add(40*time.Minute))
		h.SetOwner(ref, o)
	}
	place("agent-z1a", store.Owner{Kind: "DaemonSet", Name: "agent"})
	place("web-7d9f-aaaaa", store.Owner{Kind: "ReplicaSet", Name: "web-7d9f"})
	h.AddNodeEvent(store.NodeEvent{Node: "node-z1a", At: at, Event: "node_unknown", Reason: "NodeStatusUnknown"})
	h.AddNodeEvent(store.NodeEvent{Node: "node-z1a", At: at.Add(11 * time.Second), Event: "node_ready", Reason: "KubeletReady"})

	var b strings.Builder
	if err := WriteIncidentTable(&b, history.Investigate([]*store.Hour{h}, "node-z1a", at, 30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	table := b.String()
	for _, bad := range []string{"<never came back>", "1 not rescheduled", "2 not rescheduled"} {
		if strings.Contains(table, bad) {
			t.Errorf("the table says %q of pods that never left the node:\n%s", bad, table)
		}
	}
	for _, want := range []string{"node-bound: stayed", "2 pods, 0 rescheduled, 0 not rescheduled, 1 stayed, 1 node-bound"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}
}
