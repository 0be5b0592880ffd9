package store

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/storeio"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	long := PodRef{strings.Repeat("n", 63), strings.Repeat("p", 63) + "." + strings.Repeat("q", 63) + "." + strings.Repeat("r", 63) + "." + strings.Repeat("s", 61)}
	tests := []struct {
		name       string
		hour       func() *Hour
		prevShards int
		format     string
		shards     int
	}{
		{"empty", func() *Hour { return NewHour(testHour) }, 0, FormatPlain, 1},
		{"small hour is plain", func() *Hour { return realistic(100, 1) }, 0, FormatPlain, 1},
		{"two nodes with times", func() *Hour {
			h := NewHour(testHour)
			h.Add(PodRef{"db", "pg-0"}, "node-a", at(3))
			h.Add(PodRef{"db", "pg-0"}, "node-a", at(1200))
			h.Add(PodRef{"db", "pg-0"}, "node-b", at(1500))
			h.Add(PodRef{"db", "pg-0"}, "node-b", at(3599))
			return h
		}, 0, FormatPlain, 1},
		{"unknown times", func() *Hour {
			h := NewHour(testHour)
			h.Pods[PodRef{"db", "pg-0"}] = []Seen{{Node: "node-a"}}
			h.Add(PodRef{"db", "pg-0"}, "node-b", at(0))
			return h
		}, 0, FormatPlain, 1},
		{"253-char pod name in a 63-char namespace is packed", func() *Hour {
			h := NewHour(testHour)
			h.Add(long, "node-a", at(1))
			h.Add(PodRef{"db", "pg-0"}, "node-b", at(2))
			return h
		}, 0, FormatPacked, 1},
		{"unknown times packed", func() *Hour {
			h := NewHour(testHour)
			h.Pods[long] = []Seen{{Node: "node-a"}}
			return h
		}, 0, FormatPacked, 1},
		{"big hour is packed", func() *Hour { return realistic(5000, 2) }, 0, FormatPacked, 1},
		{"shards never shrink", func() *Hour { return realistic(100, 3) }, 4, FormatPacked, 4},
		{"shards round up to a power of two", func() *Hour { return realistic(100, 3) }, 3, FormatPacked, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := tt.hour()
			cms := roundTrip(t, h, tt.prevShards)
			if got := cms[0].Annotations[AnnotationFormat]; got != tt.format {
				t.Errorf("format = %q, want %q", got, tt.format)
			}
			if len(cms) != tt.shards {
				t.Errorf("%d shards, want %d", len(cms), tt.shards)
			}
			// Deterministic: a second encoding is byte-identical.
			again, err := Encode(h, tt.prevShards)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cms, again) {
				t.Error("second Encode differs")
			}
		})
	}
}

func TestPlainLayout(t *testing.T) {
	t.Parallel()
	h := NewHour(testHour)
	h.Add(PodRef{"db", "pg-0"}, "node-a", at(3))
	h.Add(PodRef{"db", "pg-0"}, "node-b", at(1500))
	h.Add(PodRef{"db", "pg-0"}, "node-b", at(3599))
	h.Add(PodRef{"web", "front"}, "node-a", at(60))
	cms, err := Encode(h, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := &storeio.Shard{
		Name:        "pod-ashiato-2026031415",
		Hour:        testHour,
		Index:       0,
		Annotations: map[string]string{"pod-ashiato/format": "plain", "pod-ashiato/shards": "1"},
		Data: map[string]string{
			"db_pg-0":   "node-a,node-b",
			"web_front": "node-a",
			"ashiato.seen": "db_pg-0 node-a 3 3\n" +
				"db_pg-0 node-b 1500 3599\n" +
				"web_front node-a 60 60\n",
		},
	}
	if len(cms) != 1 || !reflect.DeepEqual(cms[0], want) {
		t.Errorf("got %+v\nwant %+v", cms, want)
	}
	wantLabels := map[string]string{
		"app": "pod-ashiato", "type": "pod-node-mapping",
		"pod-ashiato/hour": "2026031415", "pod-ashiato/shard": "0",
	}
	if got := Labels(cms[0]); !reflect.DeepEqual(got, wantLabels) {
		t.Errorf("labels %v, want %v", got, wantLabels)
	}
}

func TestPackedLayout(t *testing.T) {
	t.Parallel()
	long := PodRef{"db", strings.Repeat("p", 253)}
	h := NewHour(testHour)
	h.Add(long, "node-b", at(1500))
	h.Add(long, "node-a", at(3))
	h.Pods[PodRef{"a", "old"}] = []Seen{{Node: "node-c"}}
	cms, err := Encode(h, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(cms) != 1 || len(cms[0].Data) != 0 || len(cms[0].BinaryData) != 1 {
		t.Fatalf("want one object with binaryData only, got %+v", cms)
	}
	zr, err := gzip.NewReader(bytes.NewReader(cms[0].BinaryData[KeyPacked]))
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := got.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	want := "a/old\tnode-c\t-\t-\n" +
		"db/" + long.Name + "\tnode-a\t3\t3\n" +
		"db/" + long.Name + "\tnode-b\t1500\t1500\n"
	if got.String() != want {
		t.Errorf("lines:\n%s\nwant\n%s", got.String(), want)
	}
	if zr.ModTime.Unix() > 0 || zr.Name != "" {
		t.Errorf("gzip header has mtime %v name %q; want neither", zr.ModTime, zr.Name)
	}
}

// TestOriginalTool decodes a ConfigMap as the original tool wrote it: no hour
// label, no annotations, no times.
func TestOriginalTool(t *testing.T) {
	t.Parallel()
	hour, shard, legacy := FromLabels("pod-ashiato-2026031415", map[string]string{"app": "pod-ashiato", "type": "pod-node-mapping"})
	orig := storeio.Shard{
		Name: "pod-ashiato-2026031415", Hour: hour, Index: shard, Legacy: legacy,
		Data: map[string]string{
			"default_nginx-7d9c8b5f4-x2x9z": "ip-10-0-1-2.ec2.internal",
			"kube-system_coredns-abc":       "node-1",
		},
	}
	h, shards, warnings := Decode(t.Context(), testHour, []storeio.Shard{orig})
	if len(warnings) > 0 {
		t.Errorf("warnings: %v", warnings)
	}
	if shards != 1 {
		t.Errorf("shards = %d, want 1", shards)
	}
	want := "hour 2026-03-14T15:00:00Z\n" +
		"default/nginx-7d9c8b5f4-x2x9z ip-10-0-1-2.ec2.internal - -\n" +
		"kube-system/coredns-abc node-1 - -\n"
	if got := dump(h); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	// The sink then adds what it sees and rewrites the object in its own form.
	h.Add(PodRef{"default", "nginx-7d9c8b5f4-x2x9z"}, "ip-10-0-1-2.ec2.internal", at(42))
	cms := roundTrip(t, h, shards)
	if SameContent(cms[0], &orig) {
		t.Error("the rewritten object should differ from the original")
	}
}

// TestDuplicatesMerge decodes the same placement from two objects, as after a
// shard split or a hand copy: earliest first, latest last.
func TestDuplicatesMerge(t *testing.T) {
	t.Parallel()
	a, b := NewHour(testHour), NewHour(testHour)
	ref := PodRef{"db", strings.Repeat("p", 253)}
	a.Add(ref, "n1", at(100))
	a.Add(ref, "n1", at(700))
	b.Add(ref, "n1", at(50))
	b.Add(ref, "n1", at(3000))
	ca, _ := Encode(a, 0)
	cb, _ := Encode(b, 2)
	h, shards, warnings := Decode(t.Context(), testHour, append(values(cb), values(ca)...))
	if len(warnings) > 0 {
		t.Errorf("warnings: %v", warnings)
	}
	if shards != 2 {
		t.Errorf("shards = %d, want 2", shards)
	}
	if got, want := dump(h), "hour 2026-03-14T15:00:00Z\ndb/"+ref.Name+" n1 50 3000\n"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestShardsGrow: an hour too big for one shard is split into a power of two.
func TestShardsGrow(t *testing.T) {
	if testing.Short() {
		t.Skip("large hour")
	}
	t.Parallel()
	cms := roundTrip(t, realistic(60000, 4), 0)
	if len(cms) != 4 || cms[0].Annotations[AnnotationShards] != "4" {
		t.Errorf("%d shards (annotation %q), want 4", len(cms), cms[0].Annotations[AnnotationShards])
	}
}

// TestEncodeNonUTCStart: an hour whose start is in another zone is still named
// and labelled in UTC.
func TestEncodeNonUTCStart(t *testing.T) {
	t.Parallel()
	h := &Hour{Start: testHour.In(time.FixedZone("UTC+9", 9*3600)), Pods: map[PodRef][]Seen{}}
	h.Add(PodRef{"a", "p"}, "n", at(10))
	cms := roundTrip(t, h, 0)
	if got := Labels(cms[0])[LabelHour]; got != "2026031415" {
		t.Errorf("hour label = %q, want 2026031415", got)
	}
}

func TestEncodeRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		hour func() *Hour
	}{
		{"namespace with underscore", func() *Hour { h := NewHour(testHour); h.Add(PodRef{"a_b", "p"}, "n", at(0)); return h }},
		{"upper-case pod", func() *Hour { h := NewHour(testHour); h.Add(PodRef{"a", "P"}, "n", at(0)); return h }},
		{"empty node", func() *Hour { h := NewHour(testHour); h.Add(PodRef{"a", "p"}, "", at(0)); return h }},
		{"node with comma", func() *Hour { h := NewHour(testHour); h.Add(PodRef{"a", "p"}, "n1,n2", at(0)); return h }},
		{"start not an hour", func() *Hour { return &Hour{Start: testHour.Add(1)} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Encode(tt.hour(), 0); !errors.Is(err, ErrInvalid) {
				t.Errorf("Encode error = %v, want ErrInvalid", err)
			}
		})
	}
}

// TestStableSharding: with the shard count unchanged, a new pod or a moved time
// rewrites exactly one shard, so a flush writes one object, not the hour.
func TestStableSharding(t *testing.T) {
	t.Parallel()
	base := realistic(5000, 5)
	const n = 8 // as if the hour had grown to 8 shards
	before, err := Encode(base, n)
	if err != nil {
		t.Fatal(err)
	}
	// A pod on one node, first seen after the hour's start and last seen before
	// its last step, so that each change below does change the hour.
	var existing PodRef
	for _, ref := range base.Refs() {
		seen := base.Pods[ref]
		if len(seen) == 1 && seen[0].First.After(at(0)) && base.step(seen[0].Last) < base.step(at(3599)) {
			existing = ref
			break
		}
	}
	if existing == (PodRef{}) {
		t.Fatal("no pod of the realistic hour can be seen earlier and later")
	}
	tests := []struct {
		name   string
		change func(h *Hour) bool
	}{
		{"new pod", func(h *Hour) bool { return h.Add(PodRef{"default", "new-pod-1"}, "node-x", at(60)) }},
		{"another new pod", func(h *Hour) bool { return h.Add(PodRef{"zzz", "other"}, "node-y", at(60)) }},
		{"pod moved", func(h *Hour) bool { return h.Add(existing, "node-z", at(3000)) }},
		{"last seen advanced", func(h *Hour) bool { return h.Add(existing, h.Pods[existing][0].Node, at(3599)) }},
		{"first seen earlier", func(h *Hour) bool { return h.Add(existing, h.Pods[existing][0].Node, at(0)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := NewHour(testHour)
			h.Merge(base)
			if !tt.change(h) {
				t.Fatal("the change did not change the hour: nothing to check")
			}
			after, err := Encode(h, n)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != n {
				t.Fatalf("%d shards after, %d before", len(after), n)
			}
			changed := 0
			for i := range after {
				if !SameContent(before[i], after[i]) {
					changed++
				}
			}
			if changed != 1 {
				t.Errorf("%d shards changed, want 1", changed)
			}
		})
	}
}

func TestSameContent(t *testing.T) {
	t.Parallel()
	h := realistic(10, 1)
	cms, err := Encode(h, 0)
	if err != nil {
		t.Fatal(err)
	}
	stored := deepCopy(cms[0])
	stored.Version = "42"
	stored.Annotations["kubectl.kubernetes.io/last-applied-configuration"] = "{}"
	if !SameContent(cms[0], stored) {
		t.Error("fields we do not own made a difference")
	}
	empty := &storeio.Shard{Data: map[string]string{}}
	if !SameContent(empty, &storeio.Shard{}) {
		t.Error("nil and empty data differ")
	}
	for name, edit := range map[string]func(*storeio.Shard){
		"data":       func(cm *storeio.Shard) { cm.Data[KeySeen] += "x" },
		"binaryData": func(cm *storeio.Shard) { cm.BinaryData = map[string][]byte{"x": nil} },
		"annotation": func(cm *storeio.Shard) { cm.Annotations[AnnotationShards] = "2" },
		"label":      func(cm *storeio.Shard) { cm.Hour, cm.Index, cm.Legacy = FromLabels(cm.Name, map[string]string{}) },
	} {
		c := deepCopy(cms[0])
		edit(c)
		if SameContent(cms[0], c) {
			t.Errorf("a change of %s went unnoticed", name)
		}
	}
}

func gz(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDamaged: a hand-edited or truncated value yields warnings, and the good
// placements around it are still read.
func TestDamaged(t *testing.T) {
	t.Parallel()
	const good = "ok/pod\tnode-1\t10\t20\n"
	full := gz(t, good+"ok/pod2\tnode-2\t30\t40\n")
	obj := func(ann map[string]string, data map[string]string, bin map[string][]byte) storeio.Shard {
		return storeio.Shard{Name: "pod-ashiato-2026031415", Annotations: ann, Data: data, BinaryData: bin}
	}
	tests := []struct {
		name     string
		cms      []storeio.Shard
		want     string // the decoded hour, after the header line
		warnings []string
	}{
		{"bad gzip", []storeio.Shard{obj(nil, map[string]string{"ok_pod": "node-1"}, map[string][]byte{KeyPacked: []byte("not gzip")})},
			"ok/pod node-1 - -\n", []string{"bad gzip"}},
		{"truncated gzip keeps complete lines", []storeio.Shard{obj(nil, nil, map[string][]byte{KeyPacked: full[:len(full)-4]})},
			"ok/pod node-1 10 20\nok/pod2 node-2 30 40\n", []string{"kept the complete lines"}},
		{"bad lines", []storeio.Shard{obj(nil, nil, map[string][]byte{KeyPacked: gz(t, good+
			"short\tline\n"+
			"ok/pod3\tnode-3\tx\t5\n"+
			"ok/pod3\tnode-3\t5\t-\n"+
			"ok/pod3\tnode-3\t50\t5\n"+
			"ok/pod3\tnode-3\t5\t3600\n"+
			"ok/pod3\tnode-3\t-5\t5\n"+
			"ok/pod3\tnode,3\t5\t5\n"+
			"OK/pod3\tnode-3\t5\t5\n"+
			"ok_pod3\tnode-3\t5\t5\n"+
			"ok/pod/3\tnode-3\t5\t5\n")})},
			"ok/pod node-1 10 20\n", []string{
				"want 4 tab-separated", "bad time", "bad time", "not within the hour", "not within the hour",
				"bad time", "not a DNS subdomain", "namespace", "not <namespace>/<pod>", "pod name"}},
		{"bad keys and nodes", []storeio.Shard{obj(nil, map[string]string{
			"ok_pod":      "node-1,,Node-2,node-3",
			"no-pod-here": "node-1",
			"a_b_c":       "node-1",
			"_pod":        "node-1",
		}, nil)},
			"ok/pod node-1 - -\nok/pod node-3 - -\n", []string{
				"not a <namespace>_<pod>", "not a <namespace>_<pod>", "not a <namespace>_<pod>", `node ""`, `node "Node-2"`}},
		{"bad seen lines", []storeio.Shard{obj(nil, map[string]string{
			"ok_pod": "node-1,node-2",
			KeySeen:  "ok_pod node-1 10 20\nok_pod node-2 10\nok_pod node-9 1 2\nok_pod node-2 a b\n",
		}, nil)},
			"ok/pod node-2 - -\nok/pod node-1 10 20\n", []string{"want 4 space-separated", "no pod key lists", "bad time"}},
		{"unknown format and shard count", []storeio.Shard{obj(map[string]string{AnnotationFormat: "zstd", AnnotationShards: "many"},
			map[string]string{"ok_pod": "node-1"}, map[string][]byte{"other.bin": nil})},
			"ok/pod node-1 - -\n", []string{"unknown format", "shard count", "unknown binaryData key"}},
		{"objects of other hours or names", []storeio.Shard{
			{Name: "pod-ashiato-2026031416", Data: map[string]string{"ok_pod": "node-1"}},
			{Name: "something-else", Data: map[string]string{"ok_pod": "node-1"}},
			{Name: "pod-ashiato-2026031415-9999", Data: map[string]string{"ok_pod": "node-1"}},
		}, "", []string{"belongs to hour", "not a pod-ashiato object name", "beyond the limit"}},
		{"many bad lines are summarised", []storeio.Shard{obj(nil, nil, map[string][]byte{KeyPacked: gz(t, strings.Repeat("bad\n", 1000))})},
			"", append(slicesRepeat("want 4", maxValueWarnings), "990 more damaged lines")},
		{"gzip bomb is cut", []storeio.Shard{obj(nil, nil, map[string][]byte{KeyPacked: gz(t, strings.Repeat(good, maxUnpacked/len(good)+10))})},
			"ok/pod node-1 10 20\n", []string{"unpacks to more than"}},
		{"an object the store could not read, beside a good one", []storeio.Shard{
			{Name: "pod-ashiato-2026031415", Unreadable: fmt.Errorf("larger than 16 MiB: %w", storeio.ErrTooLarge)},
			{Name: "pod-ashiato-2026031415-1", Data: map[string]string{"ok_pod": "node-1"}},
		}, "ok/pod node-1 - -\n", []string{"not read (larger than 16 MiB: too large)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, _, warnings := Decode(t.Context(), testHour, tt.cms)
			if got, want := dump(h), "hour 2026-03-14T15:00:00Z\n"+tt.want; got != want {
				t.Errorf("decoded\n%s\nwant\n%s", got, want)
			}
			if len(warnings) != len(tt.warnings) {
				t.Fatalf("%d warnings, want %d: %v", len(warnings), len(tt.warnings), warnings)
			}
			for i, w := range warnings {
				if !strings.Contains(w.Reason, tt.warnings[i]) {
					t.Errorf("warning %d = %q, want it to contain %q", i, w, tt.warnings[i])
				}
			}
			roundTrip(t, h, 0) // whatever was salvaged stores cleanly
		})
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
