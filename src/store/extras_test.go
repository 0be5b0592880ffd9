package store

import (
	"bytes"
	"compress/gzip"
	"io"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/storeio"
)

// incidentHour has owners of each kind of name and node events, the reason of
// one with spaces.
func incidentHour() *Hour {
	h := NewHour(testHour)
	h.Add(PodRef{"db", "pg-0"}, "node-a", at(3))
	h.Add(PodRef{"db", "pg-0"}, "node-b", at(1500))
	h.Add(PodRef{"web", "web-7d9f-x2x9q"}, "node-a", at(60))
	h.Add(PodRef{"web", "web-7d9f-k8k2p"}, "node-b", at(70))
	h.Add(PodRef{"web", "odd"}, "node-a", at(80))
	h.Add(PodRef{"web", "solo"}, "node-a", at(90))
	h.SetOwner(PodRef{"db", "pg-0"}, Owner{"StatefulSet", "pg"})
	h.SetOwner(PodRef{"web", "web-7d9f-x2x9q"}, Owner{"ReplicaSet", "web-7d9f"})
	h.SetOwner(PodRef{"web", "web-7d9f-k8k2p"}, Owner{"ReplicaSet", "web-7d9f"})
	h.SetOwner(PodRef{"web", "odd"}, Owner{"ReplicaSet", "web-7d9f"})
	h.AddNodeEvent(NodeEvent{Node: "node-a", At: at(1200), Event: "node_unknown", Reason: "NodeStatusUnknown"})
	h.AddNodeEvent(NodeEvent{Node: "node-a", At: at(1201), Event: "node_tainted", Reason: "node.kubernetes.io/unreachable:NoExecute"})
	h.AddNodeEvent(NodeEvent{Node: "node-c", At: at(1300), Event: "node_deleted"})
	h.AddNodeEvent(NodeEvent{Node: "node-b", At: at(1300), Event: "node_not_ready", Reason: "container runtime is down"})
	return h
}

func TestExtrasPlainLayout(t *testing.T) {
	t.Parallel()
	cms := roundTrip(t, incidentHour(), 0)
	want := map[string]string{
		"db_pg-0":            "node-a,node-b",
		"web_web-7d9f-x2x9q": "node-a",
		"web_web-7d9f-k8k2p": "node-b",
		"web_odd":            "node-a",
		"web_solo":           "node-a",
		KeySeen: "db_pg-0 node-a 3 3\ndb_pg-0 node-b 1500 1500\n" +
			"web_odd node-a 80 80\nweb_solo node-a 90 90\nweb_web-7d9f-k8k2p node-b 70 70\nweb_web-7d9f-x2x9q node-a 60 60\n",
		KeyOwners: "db StatefulSet pg -0\nweb ReplicaSet web-7d9f odd,-k8k2p,-x2x9q\n",
		KeyNodes: "node-a 1200 node_unknown NodeStatusUnknown\n" +
			"node-a 1201 node_tainted node.kubernetes.io/unreachable:NoExecute\n" +
			"node-c 1300 node_deleted \n" +
			"node-b 1300 node_not_ready container runtime is down\n",
	}
	if len(cms) != 1 || !reflect.DeepEqual(cms[0].Data, want) {
		t.Errorf("data:\n%v\nwant\n%v", cms[0].Data, want)
	}
}

func TestExtrasPackedLayout(t *testing.T) {
	t.Parallel()
	cms := roundTrip(t, incidentHour(), 2)
	got := map[string]string{}
	for _, cm := range cms {
		for key, gz := range cm.BinaryData {
			got[cm.Name+" "+key] = gunzipString(t, gz)
		}
	}
	// Owner lines go by owner: web/odd's is in shard 0, its placement in 1.
	want := map[string]string{
		"pod-ashiato-2026031415 " + KeyPacked:       "db/pg-0\tnode-a\t3\t3\ndb/pg-0\tnode-b\t1500\t1500\nweb/web-7d9f-k8k2p\tnode-b\t70\t70\nweb/web-7d9f-x2x9q\tnode-a\t60\t60\n",
		"pod-ashiato-2026031415-1 " + KeyPacked:     "web/odd\tnode-a\t80\t80\nweb/solo\tnode-a\t90\t90\n",
		"pod-ashiato-2026031415 " + KeyOwnersPacked: "db\tStatefulSet\tpg\t-0\nweb\tReplicaSet\tweb-7d9f\todd,-k8k2p,-x2x9q\n",
		"pod-ashiato-2026031415 " + KeyNodesPacked: "node-a\t1200\tnode_unknown\tNodeStatusUnknown\n" +
			"node-a\t1201\tnode_tainted\tnode.kubernetes.io/unreachable:NoExecute\n" +
			"node-c\t1300\tnode_deleted\t\n" +
			"node-b\t1300\tnode_not_ready\tcontainer runtime is down\n",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("binaryData:\n%q\nwant\n%q", got, want)
	}
}

func gunzipString(t *testing.T, gz []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOlderReaders: what readers that predate owners and node events get from
// an hour that has them.
func TestOlderReaders(t *testing.T) {
	t.Parallel()
	h := incidentHour()
	for _, prev := range []int{0, 2} {
		cms, err := Encode(h, prev)
		if err != nil {
			t.Fatal(err)
		}
		// The original tool reads every data key with a "_" as <namespace>_<pod>:
		// the new keys have none, and every key that has one is a pod.
		for key, value := range cms[0].Data {
			if !strings.Contains(key, "_") {
				continue
			}
			ns, pod, _ := strings.Cut(key, "_")
			if len(h.Pod(PodRef{ns, pod})) == 0 || strings.ContainsAny(value, " \n") {
				t.Errorf("plain key %q: %q is not a pod's node list", key, value)
			}
		}
		// An older Pod Ashiato reads every other data key but ashiato.seen as a
		// pod key and knows only placements.gz: the new keys fail its pod-key
		// check (skipped with a warning), and without them the placements read
		// are the same.
		for _, key := range []string{KeyOwners, KeyNodes} {
			if validRef(PodRef{Namespace: key}) == nil {
				t.Errorf("an older reader would take %q for a namespace", key)
			}
		}
		old := values(cms)
		for i := range old {
			maps.DeleteFunc(old[i].Data, func(k string, _ string) bool { return k == KeyOwners || k == KeyNodes })
			maps.DeleteFunc(old[i].BinaryData, func(k string, _ []byte) bool { return k != KeyPacked })
		}
		got, _, warnings := Decode(t.Context(), testHour, old)
		want := NewHour(testHour)
		want.Pods = h.Pods
		if len(warnings) > 0 || dump(got) != dump(want) {
			t.Errorf("placements without the new keys (%d shards):\n%s\nwant\n%s\nwarnings %v", len(cms), dump(got), dump(want), warnings)
		}
	}
}

func TestExtrasMerge(t *testing.T) {
	t.Parallel()
	ref := PodRef{"web", "web-1"}
	a, b := NewHour(testHour), NewHour(testHour)
	a.Add(ref, "n1", at(1))
	b.Add(ref, "n1", at(1))
	a.SetOwner(ref, Owner{"ReplicaSet", "web"})
	b.SetOwner(ref, Owner{"Job", "other"})
	b.AddNodeEvent(NodeEvent{Node: "n1", At: at(5), Event: "node_ready"})
	if !a.Merge(b) {
		t.Fatal("Merge of a node event reported no change")
	}
	if o, _ := a.Owner(ref); o != (Owner{"ReplicaSet", "web"}) {
		t.Errorf("owner = %v, want the first one kept", o)
	}
	if a.Merge(b) {
		t.Error("second Merge reported a change")
	}
	if got := a.NodeEvents("n1"); len(got) != 1 || got[0].Event != "node_ready" {
		t.Errorf("node events = %v", got)
	}
	if a.SetOwner(PodRef{"web", "x"}, Owner{"Replica Set", "web"}) || a.SetOwner(PodRef{"web", "x"}, Owner{"ReplicaSet", "a/b"}) {
		t.Error("an owner that cannot be stored was recorded")
	}
	if a.AddNodeEvent(NodeEvent{Node: "N1", At: at(1), Event: "node_ready"}) || a.AddNodeEvent(NodeEvent{Node: "n1", At: at(1), Event: "Ready"}) {
		t.Error("an invalid node event was recorded")
	}
	a.AddNodeEvent(NodeEvent{Node: "n1", At: testHour.Add(-time.Hour), Event: "node_added", Reason: " two\tlines\n "})
	if got := a.NodeEvents("n1")[0]; !got.At.Equal(testHour) || got.Reason != "two?lines" {
		t.Errorf("event before the hour = %+v, want it clamped to the hour's start and its reason cleaned", got)
	}
}

func TestExtrasDamaged(t *testing.T) {
	t.Parallel()
	obj := storeio.Shard{
		Name: "pod-ashiato-2026031415",
		Data: map[string]string{
			"web_a": "node-1",
			"web_b": "node-1",
			KeyOwners: "web ReplicaSet rs a\n" +
				"web ReplicaSet\n" +
				"web Replica/Set rs b\n" +
				"web Job j b,-c,Bad\n",
			KeyNodes: "node-1 10 node_ready KubeletReady\n" +
				"node-1 3600 node_ready x\n" +
				"Node-1 10 node_ready x\n" +
				"node-1 10 NodeReady x\n" +
				"node-1 10\n",
			"ashiato.future": "a later version's key",
		},
		BinaryData: map[string][]byte{KeyOwnersPacked: []byte("not gzip"), "future.gz": nil},
	}
	h, _, warnings := Decode(t.Context(), testHour, []storeio.Shard{obj})
	want := "hour 2026-03-14T15:00:00Z\nweb/a node-1 - -\nweb/a owner ReplicaSet/rs\nweb/b node-1 - -\nweb/b owner Job/j\n" +
		"node node-1 10 node_ready \"KubeletReady\"\n"
	if got := dump(h); got != want {
		t.Errorf("decoded\n%s\nwant\n%s", got, want)
	}
	wantWarnings := []string{"want 4 fields", "not an owner", "pod name \"Bad\"", "not a second", "not a DNS subdomain", "not a node event", "want 4 fields", "bad gzip"}
	if len(warnings) != len(wantWarnings) {
		t.Fatalf("%d warnings, want %d: %v", len(warnings), len(wantWarnings), warnings)
	}
	for i, w := range warnings {
		if !strings.Contains(w.Reason, wantWarnings[i]) {
			t.Errorf("warning %d = %q, want it to contain %q", i, w, wantWarnings[i])
		}
	}
	roundTrip(t, h, 0)
}

// TestNodeEventsOfOneSecond: a flap within one second keeps its order through
// a merge and a round trip; an exact repeat within the second is dropped.
func TestNodeEventsOfOneSecond(t *testing.T) {
	t.Parallel()
	flap := []string{"node_unknown", "node_tainted", "node_ready", "node_untainted"}
	h := NewHour(testHour)
	h.AddNodeEvent(NodeEvent{Node: "n", At: at(11), Event: "node_cordoned"})
	for _, e := range flap {
		h.AddNodeEvent(NodeEvent{Node: "n", At: at(10), Event: e})
	}
	if h.AddNodeEvent(NodeEvent{Node: "n", At: at(10), Event: "node_tainted"}) {
		t.Error("an exact repeat within the second was recorded")
	}
	stored := NewHour(testHour)
	stored.AddNodeEvent(NodeEvent{Node: "n", At: at(10), Event: "node_added"})
	stored.Merge(h)
	cms := roundTrip(t, stored, 0)
	got, _, _ := Decode(t.Context(), testHour, values(cms))
	var events []string
	for _, e := range got.NodeEvents("n") {
		events = append(events, e.Event)
	}
	if want := "node_added " + strings.Join(flap, " ") + " node_cordoned"; strings.Join(events, " ") != want {
		t.Errorf("events %v, want %s", events, want)
	}
}
