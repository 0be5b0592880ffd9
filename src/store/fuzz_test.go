package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pod-ashiato/ashiato/src/storeio"
)

// FuzzDecode feeds hand-edit-like damage to Decode. It must never panic, and
// whatever it salvages must encode to valid objects that decode back to the
// same hour without warnings.
func FuzzDecode(f *testing.F) {
	f.Add("plain", "1", "pod-ashiato-2026031415-1", "default_web-1", "node-a,node-b",
		"default_web-1 node-a 1 2\ndefault_web-1 node-b 300 3599\n",
		"kube-system/dns\tnode-a\t0\t0\n", []byte{})
	f.Add("packed", "4", "pod-ashiato-2026031415-3", "a_b_c", ",,",
		"a_b_c x 1\n", "x/y\tnode\t-\t-\nx/y\tnode\t5\t-\nbad\n", []byte("\x1f\x8b\x08\x00garbage"))
	f.Add("zstd", "-1", "pod-ashiato-2026031416", "ns_Pod", "Node", "", "a/b\tn\t3600\t1\n", []byte(nil))
	f.Add("plain", "1", "pod-ashiato-2026031415-1", KeyOwners, "default ReplicaSet web -1,-2,x\nkube-system Job j\n",
		"", "default/web-1\tnode-a\t1\t2\n", []byte{})
	f.Add("plain", "1", "pod-ashiato-2026031415-1", KeyNodes, "node-a 5 node_ready KubeletReady\nnode-a 7 node_x \nn 1 a b c\n",
		"", "", []byte{})
	f.Fuzz(func(t *testing.T, format, shards, name1, key, value, seen, lines string, raw []byte) {
		for _, s := range []string{format, shards, name1, key, value, seen} {
			checkDNSName(t, s)
		}
		cms := []storeio.Shard{
			{
				Name:        NameFor(testHour),
				Annotations: map[string]string{AnnotationFormat: format, AnnotationShards: shards},
				Data:        map[string]string{key: value, KeySeen: seen},
				BinaryData:  map[string][]byte{KeyPacked: gz(t, lines)},
			},
			{
				Name:       name1,
				Data:       map[string]string{key: value},
				BinaryData: map[string][]byte{KeyPacked: raw, key: raw},
			},
		}
		h, n, _ := Decode(t.Context(), testHour, cms)
		if n < 1 || n > MaxShards {
			t.Fatalf("Decode shards = %d", n)
		}
		roundTrip(t, h, n)
	})
}

// Bounds of what one decode may take for content that unpacks to n bytes:
// allocation in proportion to n, time in proportion to n, whatever the
// content claims about itself. The constants are generous (a loaded machine,
// -race); what they catch is allocation the content does not hold and time
// that grows faster than it.
const (
	boundAllocBase    = 1 << 20
	boundAllocPerByte = 512
	boundTimeBase     = time.Second
	boundTimePerByte  = 10 * time.Microsecond
)

// FuzzDecodeBounds holds Decode to those bounds: a shard's gzip values and a
// plain pod key with its times, as the fuzzer makes them.
func FuzzDecodeBounds(f *testing.F) {
	gzf := func(s string) []byte { return gz(f, s) }
	nodes := make([]string, 20_000)
	var plain, packed strings.Builder
	for i := range nodes {
		nodes[i] = "node-" + strconv.Itoa(i)
		fmt.Fprintf(&plain, "shop_web-0 %s %d %d\n", nodes[i], i%3600, i%3600)
		fmt.Fprintf(&packed, "shop/web-0\t%s\t%d\t%d\n", nodes[i], i%3600, i%3600)
	}
	junk := strings.Repeat(strings.Repeat("X", 1023)+"\n", 4096)
	f.Add(gzf("shop/web-0\tnode-1\t1\t2\n"), gzf("shop\tReplicaSet\tweb\t-0\n"), gzf("node-1\t5\tnode_ready\t\n"),
		"node-1", "shop_web-0 node-1 1 2\n")
	f.Add(trailerBomb(f, ""), trailerBomb(f, ""), trailerBomb(f, ""), "", "")                                // sizes claimed, not held
	f.Add(gzf(packed.String()), []byte{}, []byte{}, strings.Join(nodes, ","), plain.String())                // one pod on many nodes
	f.Add(gzf("shop/web-0\tnode-1\t1\t2\n"+junk), gzf("shop\tReplicaSet\tweb\t-0\n"+junk), []byte{}, "", "") // one kept line
	f.Fuzz(func(t *testing.T, packed, owners, nodes []byte, pod, seen string) {
		cms := []storeio.Shard{{
			Name:       NameFor(testHour),
			Data:       map[string]string{"shop_web-0": pod, KeySeen: seen},
			BinaryData: map[string][]byte{KeyPacked: packed, KeyOwnersPacked: owners, KeyNodesPacked: nodes},
		}}
		n := len(pod) + len(seen) + unpackedSize(packed) + unpackedSize(owners) + unpackedSize(nodes)
		var took time.Duration
		alloc := allocated(func() {
			start := time.Now()
			Decode(context.Background(), testHour, cms)
			took = time.Since(start)
		})
		if limit := boundAllocBase + boundAllocPerByte*uint64(n); alloc > limit {
			t.Errorf("content of %d bytes: Decode allocated %d bytes, more than %d", n, alloc, limit)
		}
		if limit := boundTimeBase + boundTimePerByte*time.Duration(n); took > limit {
			t.Errorf("content of %d bytes: Decode took %v, more than %v", n, took, limit)
		}
	})
}

// unpackedSize is what a gzip value unpacks to, as far as Decode reads it.
func unpackedSize(b []byte) int {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return 0
	}
	n, _ := io.Copy(io.Discard, io.LimitReader(zr, maxUnpacked+1))
	return int(n)
}

// FuzzRoundTrip stores hours of generated pod names, short and long, and reads
// them back.
func FuzzRoundTrip(f *testing.F) {
	f.Add("default", "web-7d9c8b5f4-x2x9z", "ip-10-0-1-2.ec2.internal", uint16(0), uint16(3599), uint8(3), uint8(0))
	f.Add(strings.Repeat("n", 70), strings.Repeat("p.q-", 70), "node", uint16(100), uint16(50), uint8(40), uint8(2))
	f.Add("-", "..", "-.-", uint16(7000), uint16(1), uint8(255), uint8(255))
	f.Fuzz(func(t *testing.T, ns, pod, node string, first, last uint16, count, prevShards uint8) {
		ns = fuzzName(ns, validation.DNS1123LabelMaxLength, false)
		pod = fuzzName(pod, validation.DNS1123SubdomainMaxLength-3, true)
		node = fuzzName(node, validation.DNS1123SubdomainMaxLength, true)
		h := NewHour(testHour)
		for i := range int(count % 50) {
			ref := PodRef{Namespace: ns, Name: pod + "-" + strconv.Itoa(i)}
			h.Add(ref, node, at(int(first)))
			h.Add(ref, node, at(int(last)))
			if i%3 == 0 {
				h.Add(ref, "n"+strconv.Itoa(i%7), at(int(last)+i))
			}
			if i%5 == 0 {
				h.Pods[PodRef{Namespace: ns, Name: "old-" + strconv.Itoa(i)}] = []Seen{{Node: node}}
			}
			if i%4 != 3 { // owners named as their pods' prefixes, and not
				h.SetOwner(ref, Owner{Kind: "ReplicaSet", Name: pod})
			} else {
				h.SetOwner(ref, Owner{Kind: "StatefulSet", Name: ns})
			}
			h.AddNodeEvent(NodeEvent{Node: node, At: at(int(first) + i), Event: "node_not_ready", Reason: pod})
		}
		roundTrip(t, h, int(prevShards%9))
	})
}

// fuzzName maps s to a valid DNS subdomain (or label, without dots) of at most
// maxLen bytes, so the fuzzer explores names rather than rejections.
func fuzzName(s string, maxLen int, dots bool) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-."
	b := make([]byte, 0, min(len(s), maxLen))
	for i := 0; i < len(s) && len(b) < maxLen; i++ {
		c := alphabet[int(s[i])%len(alphabet)]
		prev := byte('.')
		if len(b) > 0 {
			prev = b[len(b)-1]
		}
		if (c == '.' && !dots) || (c == '.' && (prev == '.' || prev == '-')) || (c == '-' && prev == '.') {
			c = 'a'
		}
		b = append(b, c)
	}
	if len(b) == 0 {
		return "a"
	}
	if last := b[len(b)-1]; last == '-' || last == '.' {
		b[len(b)-1] = 'z'
	}
	return string(b)
}

// checkDNSName holds isDNSName to apimachinery's validation.
func checkDNSName(t *testing.T, s string) {
	t.Helper()
	if got, want := isDNSName(s, 253, true), len(validation.IsDNS1123Subdomain(s)) == 0; got != want {
		t.Errorf("isDNSName(%q, subdomain) = %v, apimachinery says %v", s, got, want)
	}
	if got, want := isDNSName(s, 63, false), len(validation.IsDNS1123Label(s)) == 0; got != want {
		t.Errorf("isDNSName(%q, label) = %v, apimachinery says %v", s, got, want)
	}
}
