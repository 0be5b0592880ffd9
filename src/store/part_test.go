package store

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/storeio"
)

// TestDecodePartOnly: DecodePart narrowed to a pod, a set of pods or a node holds exactly
// the placements a whole Decode holds for it, in both forms.
func TestDecodePartOnly(t *testing.T) {
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	h := NewHour(start)
	for i := range 300 {
		ref := PodRef{Namespace: "shop", Name: fmt.Sprintf("web-%d", i)}
		h.Add(ref, fmt.Sprintf("n%d", i%7), start.Add(time.Duration(i)*time.Second))
		h.Add(ref, fmt.Sprintf("n%d", (i+1)%7), start.Add(time.Duration(i+600)*time.Second))
		h.SetOwner(ref, Owner{Kind: "ReplicaSet", Name: "web"})
	}
	for _, shards := range []int{1, 4} {
		cms, err := Encode(h, shards)
		if err != nil {
			t.Fatal(err)
		}
		objs := make([]storeio.Shard, len(cms))
		for i, cm := range cms {
			objs[i] = *cm
		}
		whole, _, _ := Decode(t.Context(), start, objs)
		ref := PodRef{Namespace: "shop", Name: "web-42"}
		got, warnings := DecodePart(t.Context(), start, objs, Only{Pod: &ref})
		if len(warnings) > 0 || got.Len() != 1 || !reflect.DeepEqual(got.Pod(ref), whole.Pod(ref)) {
			t.Errorf("%d shards, pod: %v (warnings %v), want %v", shards, got.Pods, warnings, whole.Pod(ref))
		}
		if o, ok := got.Owner(ref); !ok || o.Name != "web" {
			t.Errorf("%d shards, pod: owner %v %v", shards, o, ok)
		}
		got, warnings = DecodePart(t.Context(), start, objs, Only{Node: "n3"})
		if len(warnings) > 0 || !reflect.DeepEqual(got.OnNode("n3"), whole.OnNode("n3")) || got.Len() != len(whole.OnNode("n3")) {
			t.Errorf("%d shards, node: %d pods (warnings %v), want %d", shards, got.Len(), warnings, len(whole.OnNode("n3")))
		}
		set := map[PodRef]bool{ref: true, {Namespace: "shop", Name: "web-7"}: true, {Namespace: "shop", Name: "web-299"}: true}
		got, warnings = DecodePart(t.Context(), start, objs, Only{Pods: set})
		if len(warnings) > 0 || got.Len() != len(set) {
			t.Errorf("%d shards, pods: %d pods (warnings %v), want %d", shards, got.Len(), warnings, len(set))
		}
		for p := range set {
			if !reflect.DeepEqual(got.Pod(p), whole.Pod(p)) {
				t.Errorf("%d shards, pods: %s %v, want %v", shards, p, got.Pod(p), whole.Pod(p))
			}
			if o, ok := got.Owner(p); !ok || o.Name != "web" {
				t.Errorf("%d shards, pods: owner of %s %v %v", shards, p, o, ok)
			}
		}
	}
}

// TestDecodeNamespaces: Only.Namespaces decodes the pods of some namespaces,
// with their owners, and every node event, in both forms; NamespaceLines
// names every namespace without decoding it.
func TestDecodeNamespaces(t *testing.T) {
	h := NewHour(testHour)
	for _, ns := range []string{"a", "b", "c"} {
		for i := range 3 {
			ref := PodRef{Namespace: ns, Name: fmt.Sprintf("web-%d", i)}
			h.Add(ref, "n1", at(i))
			h.Add(ref, "n2", at(100+i))
			h.SetOwner(ref, Owner{Kind: "ReplicaSet", Name: "web"})
		}
	}
	h.AddNodeEvent(NodeEvent{Node: "n1", At: at(50), Event: "node_not_ready"})
	for _, tc := range []struct {
		name       string
		prevShards int
	}{{"plain", 0}, {"packed", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			objs := values(roundTrip(t, h, tc.prevShards))
			full, _, _ := Decode(t.Context(), testHour, objs)
			want := NewHour(testHour)
			for ref, seen := range full.Pods {
				if ref.Namespace == "b" {
					want.Pods[ref] = seen
					want.SetOwner(ref, full.Owners[ref])
				}
			}
			want.Nodes = full.Nodes
			got, warnings := DecodePart(t.Context(), testHour, objs, Only{Namespaces: func(ns string) bool { return ns == "b" }})
			if len(warnings) > 0 || dump(got) != dump(want) {
				t.Errorf("namespace b: got\n%s\nwant\n%s\nwarnings %v", dump(got), dump(want), warnings)
			}
			counts := NamespaceLines(t.Context(), testHour, objs)
			if len(counts) != 3 || counts["a"] < 3 || counts["b"] < 3 || counts["c"] < 3 {
				t.Errorf("NamespaceLines = %v, want a, b and c, each with at least its 3 pods", counts)
			}
		})
	}
}
