package sink

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// longName is a random pod name of 253 characters, the longest there is:
// random names compress poorly, so few pods fill a shard.
func longName(r *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 253)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// growth is the scenario, scaled down: 1,000 pods stored in the plain
// form, then enough long-named pods to grow the hour to 4 shards.
func growth() (first, burst []record.Placement) {
	at := hour14.Add(time.Minute)
	for i := range 1000 {
		first = append(first, placement(fmt.Sprintf("a-%d", i), fmt.Sprintf("node-%d", i%10), at))
	}
	r := rand.New(rand.NewPCG(12, 12))
	for range 7000 {
		burst = append(burst, placement(longName(r), "node-long", at.Add(time.Minute)))
	}
	return first, burst
}

// storedNodes decodes whatever the namespace holds for the hour, warnings
// or not, as a reader would.
func storedNodes(t *testing.T, client *fake.Clientset) (nodes map[store.PodRef]string, shards int, warnings []store.Warning) {
	t.Helper()
	list, err := client.CoreV1().ConfigMaps(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var objs []storeio.Shard
	for _, cm := range list.Items {
		if h, _, ok := store.ParseName(cm.Name); ok && h.Equal(hour14) {
			objs = append(objs, configmapstore.Shard(&cm))
		}
	}
	h, shards, warnings := store.Decode(t.Context(), hour14, objs)
	nodes = map[store.PodRef]string{}
	for ref, seen := range h.Pods {
		nodes[ref] = seen[0].Node
	}
	return nodes, len(objs), warnings
}

// TestGrowthRefusedMidwayLosesNothing: whichever write of a growth from one
// shard to four is refused (a ResourceQuota on ConfigMaps, a kill between
// two writes), the store still holds every placement stored before, and reads
// without a warning; a later flush completes the growth.
func TestGrowthRefusedMidwayLosesNothing(t *testing.T) {
	first, burst := growth()
	for refuse := 1; ; refuse++ {
		client := fake.NewClientset()
		if err := run(t, newSink(client), first...); err != nil {
			t.Fatal(err)
		}
		writesSeen := 0
		client.PrependReactor("*", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.GetVerb() != "create" && a.GetVerb() != "update" {
				return false, nil, nil
			}
			if writesSeen++; writesSeen == refuse {
				return true, nil, apierrors.NewForbidden(cmRes, "x", errors.New("exceeded quota: configmaps"))
			}
			return false, nil, nil
		})
		err := run(t, newSink(client), burst...)
		nodes, objects, warnings := storedNodes(t, client)
		lost := 0
		for _, p := range first {
			if nodes[store.PodRef{Namespace: p.Namespace, Name: p.Pod}] != p.Node {
				lost++
			}
		}
		if lost > 0 || len(warnings) > 0 {
			t.Fatalf("write %d refused (%v): %d of the %d pods stored before are lost; warnings %v", refuse, err, lost, len(first), warnings)
		}
		if err == nil { // every write went through: the growth is complete
			if refuse < 4 || objects < 4 || len(nodes) != len(first)+len(burst) {
				t.Fatalf("growth done after %d writes: %d objects, %d pods; want 4 shards, %d pods", refuse-1, objects, len(nodes), len(first)+len(burst))
			}
			return
		}
		if !apierrors.IsForbidden(err) {
			t.Fatalf("write %d refused: err %v, want the refusal", refuse, err)
		}
		// The next flush, quota lifted, completes what was started.
		client.ReactionChain = client.ReactionChain[1:]
		if err := run(t, newSink(client), burst...); err != nil {
			t.Fatalf("after the refusal of write %d: %v", refuse, err)
		}
		if nodes, _, warnings := storedNodes(t, client); len(nodes) != len(first)+len(burst) || len(warnings) > 0 {
			t.Fatalf("after the refusal of write %d and a new flush: %d pods, warnings %v; want %d", refuse, len(nodes), warnings, len(first)+len(burst))
		}
	}
}
