package source

import (
	"fmt"
	"maps"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

func TestWatchPodsOn(t *testing.T) {
	objs := []k8sruntime.Object{
		placedPod("shop", "a", "ua", "n1", "10.0.0.1"),
		placedPod("shop", "b", "ub", "n1", "10.0.0.2"),
		placedPod("bank", "c", "uc", "n2", "10.0.0.3"),
		placedPod("bank", "d", "ud", "n3", "10.0.0.4"),
		placedPod("bank", "e", "ue", "", ""), // not bound: on no node
	}
	w := &Watch{Client: fake.NewClientset(objs...)}
	lost := map[string]bool{"n1": true, "n2": true, "n9": true, "": true}
	if got := w.PodsOn(lost); len(got) != 0 {
		t.Errorf("before Run: %v, want nothing", got)
	}
	r := startWatch(t, w)
	r.nextN(len(objs))
	r.waitSynced()
	tests := []struct {
		name  string
		nodes map[string]bool
		want  map[string]int
	}{
		{"lost nodes, one without pods", lost, map[string]int{"n1": 2, "n2": 1}},
		{"no node asked", map[string]bool{}, map[string]int{}},
	}
	for _, tt := range tests {
		if got := w.PodsOn(tt.nodes); !maps.Equal(got, tt.want) {
			t.Errorf("%s: PodsOn = %v, want %v", tt.name, got, tt.want)
		}
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if got := w.PodsOn(lost); len(got) != 0 {
		t.Errorf("after Run: %v, want nothing", got)
	}
}

// BenchmarkPodsOn is one scrape's count while nodes are lost, over a cache of
// 150,000 pods on 5,000 nodes (docs/monitoring.md has the figure).
func BenchmarkPodsOn(b *testing.B) {
	store := cache.NewStore(cache.MetaNamespaceKeyFunc)
	tr := newTrimmer()
	for i := range 150_000 {
		c, _ := tr.transform(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("p-%d", i)},
			Spec: corev1.PodSpec{NodeName: fmt.Sprintf("node-%d", i%5_000)}})
		_ = store.Add(c)
	}
	w := &Watch{}
	w.podCache.Store(&store)
	lost := map[string]bool{"node-1": true, "node-2": true, "node-3": true}
	b.ReportAllocs()
	for b.Loop() {
		if got := w.PodsOn(lost); got["node-1"] != 30 {
			b.Fatalf("PodsOn = %v", got)
		}
	}
}
