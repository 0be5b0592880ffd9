package sink

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// TestStoresOwnersAndNodeEvents: a pod's owner and a node's lifecycle change
// are kept in the hour they were seen in.
func TestStoresOwnersAndNodeEvents(t *testing.T) {
	client := fake.NewClientset()
	web := placement("web-7d9f-x2x9q", "node-a", hour14.Add(time.Minute))
	web.OwnerKind, web.OwnerName = "ReplicaSet", "web-7d9f"
	bare := placement("solo", "node-a", hour14.Add(time.Minute))
	down := record.Placement{Node: "node-a", Event: record.EventNodeUnknown, Reason: "NodeStatusUnknown", Timestamp: hour14.Add(2 * time.Minute)}
	gone := record.Placement{Node: "node-b", Event: record.EventNodeDeleted, Timestamp: hour15.Add(time.Second)}
	if err := run(t, newSink(client), web, bare, down, gone); err != nil {
		t.Fatal(err)
	}
	h14, h15 := decodeHour(t, client, hour14), decodeHour(t, client, hour15)
	if o, ok := h14.Owner(store.PodRef{Namespace: "shop", Name: web.Pod}); !ok || o != (store.Owner{Kind: "ReplicaSet", Name: "web-7d9f"}) {
		t.Errorf("owner of %s = %v, %v", web.Pod, o, ok)
	}
	if _, ok := h14.Owner(store.PodRef{Namespace: "shop", Name: "solo"}); ok {
		t.Error("a bare pod has an owner")
	}
	want14 := []store.NodeEvent{{Node: "node-a", At: down.Timestamp, Event: "node_unknown", Reason: "NodeStatusUnknown"}}
	if got := h14.NodeEvents(""); len(got) != 1 || got[0] != want14[0] {
		t.Errorf("hour 14 node events = %v, want %v", got, want14)
	}
	if got := h15.NodeEvents("node-b"); len(got) != 1 || got[0].Event != "node_deleted" || h15.Len() != 0 {
		t.Errorf("hour 15 = %d pods, node events %v; want only node-b's deletion", h15.Len(), got)
	}
}

func decodeHour(t *testing.T, client *fake.Clientset, hour time.Time) *store.Hour {
	t.Helper()
	list, err := client.CoreV1().ConfigMaps(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var objs []storeio.Shard
	for _, cm := range list.Items {
		if h, _, ok := store.ParseName(cm.Name); ok && h.Equal(hour) {
			objs = append(objs, configmapstore.Shard(&cm))
		}
	}
	h, _, warnings := store.Decode(t.Context(), hour, objs)
	if len(warnings) > 0 {
		t.Fatalf("store holds damaged values: %v", warnings)
	}
	return h
}
