package store

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/internal/heaptest"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// Hostile store content (issue 23): what a writer controls must not decide
// how much a reader allocates, how much it keeps, or for how long it works.
// These tests measure the process's heap, so none of them runs in parallel.

// allocated is what f allocates on the heap, in bytes.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// trailerBomb is a gzip of s whose trailer claims 4 GiB unpacked.
func trailerBomb(t testing.TB, s string) []byte {
	b := gz(t, s)
	copy(b[len(b)-4:], []byte{0xff, 0xff, 0xff, 0xff})
	return b
}

// TestDecodeTrailerBomb: a gzip value's trailer is the writer's word on its
// unpacked size; a few bytes claiming 4 GiB must not make the reader
// allocate more than the few bytes they unpack to.
func TestDecodeTrailerBomb(t *testing.T) {
	const limit = 1 << 20
	for _, key := range []string{KeyPacked, KeyOwnersPacked, KeyNodesPacked} {
		t.Run(key, func(t *testing.T) {
			cms := []storeio.Shard{{
				Name:       NameFor(testHour),
				BinaryData: map[string][]byte{key: trailerBomb(t, "")},
			}}
			Decode(context.Background(), testHour, cms) // warm up what is allocated once per process
			var warnings []Warning
			n := allocated(func() { _, _, warnings = Decode(context.Background(), testHour, cms) })
			if n > limit {
				t.Errorf("decoding %d bytes of gzip allocated %d bytes, want at most %d", len(cms[0].BinaryData[key]), n, limit)
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0].Reason, "bad gzip") {
				t.Errorf("warnings %v, want one bad gzip", warnings)
			}
		})
	}
}

// TestDecodeKeepsNoBuffer: what Decode keeps does not point into the values
// it read, so one kept line does not keep a large value alive.
func TestDecodeKeepsNoBuffer(t *testing.T) {
	const (
		size  = 32 << 20
		limit = 4 << 20
	)
	junk := func(sep string) string { // size bytes of damaged lines
		line := strings.Repeat("X", 1023) + sep
		return strings.Repeat(line, size/len(line))
	}
	obj := func(data map[string]string, bin map[string][]byte) []storeio.Shard {
		return []storeio.Shard{{Name: NameFor(testHour), Data: data, BinaryData: bin}}
	}
	tests := []struct {
		name string
		cms  func() []storeio.Shard
		want string
	}{
		{"placements.gz", func() []storeio.Shard {
			return obj(nil, map[string][]byte{KeyPacked: gz(t, "shop/web-0\tnode-1\t1\t2\n"+junk("\n"))})
		}, "shop/web-0 node-1 1 2\n"},
		{"plain pod key", func() []storeio.Shard {
			return obj(map[string]string{"shop_web-0": "node-1," + junk(",")}, nil)
		}, "shop/web-0 node-1 - -\n"},
		{"owners.gz", func() []storeio.Shard {
			return obj(map[string]string{"shop_web-0": "node-1"},
				map[string][]byte{KeyOwnersPacked: gz(t, "shop\tReplicaSet\tweb\t-0\n"+junk("\n"))})
		}, "shop/web-0 node-1 - -\nshop/web-0 owner ReplicaSet/web\n"},
		{"nodes.gz", func() []storeio.Shard {
			return obj(nil, map[string][]byte{KeyNodesPacked: gz(t, "node-1\t5\tnode_ready\t\n"+junk("\n"))})
		}, "node node-1 5 node_ready \"\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := heaptest.Settled()
			h := func() *Hour {
				h, _, _ := Decode(context.Background(), testHour, tt.cms())
				return h
			}()
			after := heaptest.Settled()
			if kept := int64(after) - int64(before); kept > limit {
				t.Errorf("kept %d bytes of heap after decoding one line among %d, want at most %d", kept, size, limit)
			}
			if got := dump(h); got != "hour 2026-03-14T15:00:00Z\n"+tt.want {
				t.Errorf("decoded %s, want %s", got, tt.want)
			}
		})
	}
}

// onePodOnNodes is the objects of an hour in which one pod ran on n nodes,
// in the plain form (with times) or the packed form.
func onePodOnNodes(t testing.TB, form string, n int) []storeio.Shard {
	nodes := make([]string, n)
	var lines strings.Builder
	for i := range nodes {
		nodes[i] = fmt.Sprintf("node-%05d.example", i)
		sep := "\t"
		if form == FormatPlain {
			sep = " "
			lines.WriteString("shop_web-0")
		} else {
			lines.WriteString("shop/web-0")
		}
		fmt.Fprintf(&lines, "%s%s%s%d%s%d\n", sep, nodes[i], sep, i%3600, sep, i%3600)
	}
	cm := storeio.Shard{Name: NameFor(testHour)}
	if form == FormatPlain {
		cm.Data = map[string]string{"shop_web-0": strings.Join(nodes, ","), KeySeen: lines.String()}
	} else {
		cm.BinaryData = map[string][]byte{KeyPacked: gz(t, lines.String())}
	}
	return []storeio.Shard{cm}
}

// TestDecodeOnePodManyNodes: one pod listed on many nodes costs time in
// proportion to the nodes, not to their square.
func TestDecodeOnePodManyNodes(t *testing.T) {
	const (
		nodes = 40_000
		limit = 5 * time.Second // linear is a fraction of that even under -race
	)
	ref := PodRef{Namespace: "shop", Name: "web-0"}
	tests := []struct {
		form   string
		decode func(cms []storeio.Shard) *Hour
	}{
		{FormatPlain, func(cms []storeio.Shard) *Hour { h, _, _ := Decode(context.Background(), testHour, cms); return h }},
		{FormatPacked, func(cms []storeio.Shard) *Hour { h, _, _ := Decode(context.Background(), testHour, cms); return h }},
		{FormatPacked, func(cms []storeio.Shard) *Hour {
			h, _ := DecodePart(context.Background(), testHour, cms, Only{Pod: &ref})
			return h
		}},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.form, i), func(t *testing.T) {
			cms := onePodOnNodes(t, tt.form, nodes)
			start := time.Now()
			h := tt.decode(cms)
			if d := time.Since(start); d > limit {
				t.Errorf("decoding one pod on %d nodes took %v, want at most %v", nodes, d, limit)
			}
			seen := h.Pod(ref)
			if len(seen) != nodes {
				t.Fatalf("%d placements, want %d", len(seen), nodes)
			}
			for i := 1; i < len(seen); i++ {
				if sortSeen([]Seen{seen[i], seen[i-1]})[0] != seen[i-1] {
					t.Fatalf("placements %d and %d out of order: %v, %v", i-1, i, seen[i-1], seen[i])
				}
			}
		})
	}
}

// cancelAfter is a context that is canceled from its n+1st Err on, so a
// test can stop a decode part way without racing it.
type cancelAfter struct {
	context.Context
	n int
}

func (c *cancelAfter) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

// TestDecodeCanceled: decoding stops when its context ends, and says so.
func TestDecodeCanceled(t *testing.T) {
	whole := realistic(20_000, 5)
	cms := values(mustEncode(t, whole, 1))
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		maxPods int
	}{
		{"canceled before", canceled, 0},
		{"canceled part way", &cancelAfter{Context: context.Background(), n: 3}, whole.Len() - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _, warnings := Decode(tt.ctx, testHour, cms)
			if h.Len() > tt.maxPods {
				t.Errorf("decoded %d pods, want at most %d", h.Len(), tt.maxPods)
			}
			if len(warnings) != 1 || warnings[0].Reason != "decoding stopped: context canceled" {
				t.Errorf("warnings %v, want one saying decoding stopped", warnings)
			}
		})
	}
}

// TestDecodeWarningsAreShort: a warning quotes a damaged line or name only in
// part, so a long one costs the reader no more than a short one.
func TestDecodeWarningsAreShort(t *testing.T) {
	long := strings.Repeat("X", 1<<20)
	tests := []struct {
		name string
		cm   storeio.Shard
	}{
		{"packed line", storeio.Shard{BinaryData: map[string][]byte{KeyPacked: gz(t, long+"\n")}}},
		{"packed pod name", storeio.Shard{BinaryData: map[string][]byte{KeyPacked: gz(t, "ns/"+long+"\tnode\t1\t2\n")}}},
		{"packed node", storeio.Shard{BinaryData: map[string][]byte{KeyPacked: gz(t, "ns/pod\t"+long+"\t1\t2\n")}}},
		{"plain node", storeio.Shard{Data: map[string]string{"ns_pod": "node," + long}}},
		{"seen line", storeio.Shard{Data: map[string]string{"ns_pod": "node", KeySeen: "ns_pod node 1 " + long + "\n"}}},
		{"owner line", storeio.Shard{Data: map[string]string{KeyOwners: "ns Kind " + long + " -0\n"}}},
		{"node event", storeio.Shard{Data: map[string]string{KeyNodes: "node 1 node_ready " + long + "\n"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cm.Name = NameFor(testHour)
			_, _, warnings := Decode(context.Background(), testHour, []storeio.Shard{tt.cm})
			if len(warnings) == 0 {
				t.Fatal("no warning")
			}
			for _, w := range warnings {
				if len(w.Reason) > 4*maxQuoted {
					t.Errorf("warning of %d bytes: %.100s...", len(w.Reason), w.Reason)
				}
			}
		})
	}
}
