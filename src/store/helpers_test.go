package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pod-ashiato/ashiato/src/storeio"
)

var testHour = time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)

// at is a time offset seconds into testHour.
func at(offset int) time.Time { return testHour.Add(time.Duration(offset) * time.Second) }

// dump renders an hour one placement per line, sorted, for comparisons with a
// readable diff. Unknown times are "-".
func dump(h *Hour) string {
	var b strings.Builder
	fmt.Fprintf(&b, "hour %s\n", h.Start.UTC().Format(time.RFC3339))
	for _, ref := range h.Refs() {
		for _, s := range h.Pods[ref] {
			if s.known() {
				fmt.Fprintf(&b, "%s %s %d %d\n", ref, s.Node, h.offset(s.First), h.offset(s.Last))
			} else {
				fmt.Fprintf(&b, "%s %s - -\n", ref, s.Node)
			}
		}
		if o, ok := h.Owners[ref]; ok {
			fmt.Fprintf(&b, "%s owner %s/%s\n", ref, o.Kind, o.Name)
		}
	}
	for _, e := range h.Nodes {
		fmt.Fprintf(&b, "node %s %d %s %q\n", e.Node, h.offset(e.At), e.Event, e.Reason)
	}
	return b.String()
}

// values converts Encode's output to what a List returns.
func values(cms []*storeio.Shard) []storeio.Shard {
	out := make([]storeio.Shard, len(cms))
	for i, cm := range cms {
		out[i] = *deepCopy(cm)
	}
	return out
}

func deepCopy(s *storeio.Shard) *storeio.Shard {
	c := *s
	c.Annotations, c.Data = maps.Clone(s.Annotations), maps.Clone(s.Data)
	if s.BinaryData != nil {
		c.BinaryData = make(map[string][]byte, len(s.BinaryData))
		for k, v := range s.BinaryData {
			c.BinaryData[k] = bytes.Clone(v)
		}
	}
	return &c
}

// configMap is s in the ConfigMap form (store/doc.go, "Objects"): what the API
// server and etcd check.
func configMap(s *storeio.Shard) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: "ashiato", Labels: Labels(s), Annotations: s.Annotations},
		Data:       s.Data, BinaryData: s.BinaryData,
	}
}

// rawSize is what the API server's 1 MiB check counts: data values and
// binaryData bytes.
func rawSize(cm *storeio.Shard) int {
	n := 0
	for _, v := range cm.Data {
		n += len(v)
	}
	for _, v := range cm.BinaryData {
		n += len(v)
	}
	return n
}

// requestSize is the object's size as a JSON request body (binaryData in
// base64), the largest form it travels in.
func requestSize(t testing.TB, cm *storeio.Shard) int {
	t.Helper()
	b, err := json.Marshal(configMap(cm))
	if err != nil {
		t.Fatalf("marshal %s: %v", cm.Name, err)
	}
	return len(b)
}

// checkObjects asserts what the API server and etcd would: valid names, label
// values and keys, values within the shard budget and 1 MiB, and a request
// under 1 MiB.
func checkObjects(t testing.TB, cms []*storeio.Shard) {
	t.Helper()
	for i, cm := range cms {
		if want := ShardName(testHour, i); cm.Name != want {
			t.Errorf("object %d is %q, want %q", i, cm.Name, want)
		}
		for _, e := range validation.IsDNS1123Subdomain(cm.Name) {
			t.Errorf("%s: name: %s", cm.Name, e)
		}
		for k, v := range Labels(cm) {
			for _, e := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
				t.Errorf("%s: label %s=%s: %s", cm.Name, k, v, e)
			}
		}
		for k := range cm.Data {
			for _, e := range validation.IsConfigMapKey(k) {
				t.Errorf("%s: data key %q: %s", cm.Name, k, e)
			}
		}
		for k := range cm.BinaryData {
			for _, e := range validation.IsConfigMapKey(k) {
				t.Errorf("%s: binaryData key %q: %s", cm.Name, k, e)
			}
		}
		if n := rawSize(cm); n > shardBudget || n >= 1<<20 {
			t.Errorf("%s: raw values %d bytes, over the budget %d", cm.Name, n, shardBudget)
		}
		if n := requestSize(t, cm); n >= 1<<20 {
			t.Errorf("%s: request %d bytes, 1 MiB or more", cm.Name, n)
		}
	}
}

// roundTrip encodes h, checks the objects and decodes them back, failing on any
// warning or difference.
func roundTrip(t testing.TB, h *Hour, prevShards int) []*storeio.Shard {
	t.Helper()
	cms, err := Encode(h, prevShards)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	checkObjects(t, cms)
	got, shards, warnings := Decode(t.Context(), h.Start, values(cms))
	if len(warnings) > 0 {
		t.Fatalf("Decode warnings: %v", warnings)
	}
	if shards != len(cms) {
		t.Errorf("Decode shards = %d, want %d", shards, len(cms))
	}
	if d, w := dump(got), dump(h); d != w {
		t.Fatalf("round trip differs:\n got %.2000s\nwant %.2000s", d, w)
	}
	return cms
}

// rsAlphabet is the alphabet of ReplicaSet hashes and pod suffixes
// (k8s.io/apimachinery/pkg/util/rand).
const rsAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func randString(r *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

var words = strings.Fields(`api web worker checkout payments cart search index
	auth gateway billing orders inventory ledger notifier mailer scheduler cache
	redis kafka consumer producer ingest export report metrics frontend backend
	admin sync batch cron image thumbnail video stream recommend feed profile`)

// realistic is an hour of n pods named like Deployment pods
// (<deploy>-<10-char hash>-<5-char suffix>) in 50 namespaces on 5000 nodes named
// like EC2 instances. Most pods run the whole hour; a few move node.
func realistic(n int, seed uint64) *Hour {
	r := rand.New(rand.NewPCG(seed, 7))
	namespaces := make([]string, 50)
	for i := range namespaces {
		namespaces[i] = fmt.Sprintf("%s-%s-%d", words[r.IntN(len(words))], []string{"prod", "staging", "dev"}[i%3], i)
	}
	nodes := make([]string, 5000)
	for i := range nodes {
		nodes[i] = fmt.Sprintf("ip-10-%d-%d-%d.eu-west-1.compute.internal", r.IntN(256), r.IntN(256), r.IntN(256))
	}
	h := NewHour(testHour)
	for h.Len() < n {
		ns := namespaces[r.IntN(len(namespaces))]
		deploy := words[r.IntN(len(words))] + "-" + words[r.IntN(len(words))]
		if r.IntN(2) == 0 {
			deploy += "-" + words[r.IntN(len(words))]
		}
		rs := deploy + "-" + randString(r, rsAlphabet, 10)
		for range min(1+r.IntN(20), n-h.Len()) {
			ref := PodRef{Namespace: ns, Name: rs + "-" + randString(r, rsAlphabet, 5)}
			if r.IntN(20) > 0 { // a few bare pods
				h.SetOwner(ref, Owner{Kind: "ReplicaSet", Name: rs})
			}
			first, last := r.IntN(30), 3300+r.IntN(300)
			if r.IntN(5) == 0 { // started or stopped within the hour
				first = r.IntN(3600)
				last = first + r.IntN(3600-first)
			}
			node := nodes[r.IntN(len(nodes))]
			h.Add(ref, node, at(first))
			h.Add(ref, node, at(last))
			if r.IntN(30) == 0 { // moved
				h.Add(ref, nodes[r.IntN(len(nodes))], at(last))
			}
		}
	}
	return h
}

// longNames is an hour of n pods with 200-253 character names in 63-character
// namespaces: the worst case for size.
func longNames(n int, seed uint64) *Hour {
	r := rand.New(rand.NewPCG(seed, 11))
	const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	h := NewHour(testHour)
	for h.Len() < n {
		ns := randString(r, alnum, 63)
		prefix := randString(r, alnum, 63) + "." + randString(r, alnum, 63) + "." + randString(r, alnum, 63)
		for range min(10, n-h.Len()) {
			name := prefix + "-" + randString(r, alnum, 8+r.IntN(54)) // 200..253 chars
			node := "node-" + randString(r, alnum, 12) + ".cluster.example.com"
			h.SetOwner(PodRef{ns, name}, Owner{Kind: "StatefulSet", Name: prefix})
			first := r.IntN(3600)
			h.Add(PodRef{ns, name}, node, at(first))
			h.Add(PodRef{ns, name}, node, at(first+r.IntN(3600-first)))
		}
	}
	return h
}
