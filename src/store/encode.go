package store

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pod-ashiato/ashiato/src/storeio"
)

// Size limits. The API server rejects a ConfigMap whose values exceed 1 MiB and
// etcd a request over ~1.5 MiB; binaryData is base64 in a JSON request (4/3).
const (
	// plainBudget keeps the readable form to hours a person can still read.
	plainBudget = 256 << 10
	// shardBudget is a packed shard's raw bytes: 700 KiB is 933 KiB in base64,
	// leaving room for metadata under 1 MiB.
	shardBudget = 700 << 10
	// MaxShards bounds an hour's shards: at the budget that is 175 MiB, far
	// beyond any cluster, so more is a damaged annotation or a bug.
	MaxShards = 256
	maxKeyLen = validation.DNS1123SubdomainMaxLength // 253, a ConfigMap key's limit
	// packLevel is fixed so that equal lines give equal bytes. Measured on
	// 150,000 realistic pods, level 5 is within 5% of BestCompression's size
	// at a fifth of its time; the sink re-encodes on every flush that changes.
	packLevel = 5
)

// ErrInvalid is returned by Encode for an hour it cannot store as written:
// names that are not valid Kubernetes names could not be read back.
var ErrInvalid = errors.New("invalid hour")

// Encode lays the hour out as shards, shard 0 first.
// prevShards is the shard count already stored for the hour (0 if none); the
// result never has fewer, so no stored shard is left stale. The output is
// deterministic, so the sink can compare it with what is stored (SameContent)
// and write only the shards that changed.
func Encode(h *Hour, prevShards int) ([]*storeio.Shard, error) {
	if !h.Start.Equal(HourOf(h.Start)) {
		return nil, fmt.Errorf("store: hour start %s is not a whole UTC hour: %w", h.Start, ErrInvalid)
	}
	if prevShards > MaxShards {
		return nil, fmt.Errorf("store: %d shards stored for %s, more than %d: %w", prevShards, NameFor(h.Start), MaxShards, ErrInvalid)
	}
	refs := h.Refs()
	for _, ref := range refs {
		if err := validRef(ref); err != nil {
			return nil, fmt.Errorf("store: %w: %w", ErrInvalid, err)
		}
		for _, s := range h.Pods[ref] {
			if !validName(s.Node) {
				return nil, fmt.Errorf("store: %w: pod %s: node %q is not a DNS subdomain", ErrInvalid, ref, s.Node)
			}
		}
	}
	if prevShards <= 1 {
		if data, ok := encodePlain(h, refs); ok {
			cm := object(h.Start, 0)
			cm.Annotations = map[string]string{AnnotationFormat: FormatPlain, AnnotationShards: "1"}
			cm.Data = data
			return []*storeio.Shard{cm}, nil
		}
	}
	return encodePacked(h, refs, prevShards)
}

// encodePlain builds the plain form's data, or reports that the hour does not
// fit it.
func encodePlain(h *Hour, refs []PodRef) (map[string]string, bool) {
	data := make(map[string]string, len(refs)+1)
	var seen []byte
	size := 0
	for _, ref := range refs {
		key := ref.Namespace + "_" + ref.Name
		if len(key) > maxKeyLen {
			return nil, false
		}
		nodes := make([]string, 0, len(h.Pods[ref]))
		for _, s := range h.Pods[ref] {
			nodes = append(nodes, s.Node)
			if s.known() {
				seen = fmt.Appendf(seen, "%s %s %d %d\n", key, s.Node, h.offset(s.First), h.offset(s.Last))
			}
		}
		data[key] = strings.Join(nodes, ",")
		if size += len(data[key]); size+len(seen) > plainBudget {
			return nil, false
		}
	}
	data[KeySeen] = string(seen)
	return data, plainExtras(h, refs, data, plainBudget-size-len(seen))
}

// encodePacked builds the packed form with the fewest shards, at least
// prevShards, that keep each within shardBudget.
func encodePacked(h *Hour, refs []PodRef, prevShards int) ([]*storeio.Shard, error) {
	n := ceilPow2(max(prevShards, 1))
	for {
		shards, total, err := pack(h, refs, n)
		if err != nil {
			return nil, fmt.Errorf("store: packing %s: %w", NameFor(h.Start), err)
		}
		if fits(shards) {
			cms := make([]*storeio.Shard, n)
			for i, bin := range shards {
				cms[i] = object(h.Start, i)
				cms[i].BinaryData = bin
			}
			cms[0].Annotations = map[string]string{AnnotationFormat: FormatPacked, AnnotationShards: strconv.Itoa(n)}
			return cms, nil
		}
		if n >= MaxShards {
			return nil, fmt.Errorf("store: %s needs more than %d shards: %w", NameFor(h.Start), MaxShards, ErrInvalid)
		}
		// Aim at 3/4 of the budget: names hash unevenly across shards.
		n = min(max(2*n, ceilPow2(total*4/(shardBudget*3)+1)), MaxShards)
	}
}

// pack writes each pod's lines into its shard's gzip stream, each owner's line
// into its owner's shard, the node events into shard 0, and returns each
// shard's binaryData and the total size.
func pack(h *Hour, refs []PodRef, n int) ([]map[string][]byte, int, error) {
	lines := make([][]byte, n)
	byShard := make([][]PodRef, n)
	for _, ref := range refs {
		i := shardOf(ref, n)
		for _, s := range h.Pods[ref] {
			lines[i] = appendLine(lines[i], h, ref, s)
		}
		if o, ok := h.Owners[ref]; ok {
			j := ownerShardOf(ref.Namespace, o, n)
			byShard[j] = append(byShard[j], ref)
		}
	}
	owners := make([][]byte, n)
	for i, refs := range byShard {
		owners[i] = appendOwnerLines(nil, h, refs, '\t')
	}
	shards := make([]map[string][]byte, n)
	total := 0
	for i := range lines {
		shards[i] = map[string][]byte{}
		raws := map[string][]byte{KeyPacked: lines[i], KeyOwnersPacked: owners[i]}
		if i == 0 {
			raws[KeyNodesPacked] = appendNodeLines(nil, h, '\t')
			raws[KeyNodeLabelsPacked] = appendNodeLabelLines(nil, h, '\t')
		}
		for key, raw := range raws {
			if key != KeyPacked && len(raw) == 0 {
				continue // an older reader warns about every extra key: write none that is empty
			}
			gz, err := gzipBytes(raw)
			if err != nil {
				return nil, 0, err
			}
			shards[i][key] = gz
			total += len(gz)
		}
	}
	return shards, total, nil
}

// gzipBytes compresses raw with a zero Header (no name, mtime 0) and a fixed
// level: same lines, same bytes.
func gzipBytes(raw []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, packLevel)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return buf.Bytes(), nil
}

func appendLine(b []byte, h *Hour, ref PodRef, s Seen) []byte {
	b = append(b, ref.Namespace...)
	b = append(b, '/')
	b = append(b, ref.Name...)
	b = append(b, '\t')
	b = append(b, s.Node...)
	if !s.known() {
		return append(b, "\t-\t-\n"...)
	}
	b = append(b, '\t')
	b = strconv.AppendInt(b, h.offset(s.First), 10)
	b = append(b, '\t')
	b = strconv.AppendInt(b, h.offset(s.Last), 10)
	return append(b, '\n')
}

// ShardOf is the shard among n that holds ref's placements in the packed
// form (a reader of one pod reads only that one).
func ShardOf(ref PodRef, n int) int { return shardOf(ref, n) }

// shardOf is the pod's shard among n: fnv32a of "<namespace>/<pod>", so a pod
// stays in its shard for as long as n does.
func shardOf(ref PodRef, n int) int {
	f := fnv.New32a()
	f.Write([]byte(ref.Namespace + "/" + ref.Name))
	return int(f.Sum32() % uint32(n))
}

// ownerShardOf is the shard of an owner's line among n: by the owner, not by
// its pods, so that its pods' names are written once after its name (by pod,
// an owner of 10 pods spread over 8 shards repeated its name in each and the
// owners took half as much room as the placements).
func ownerShardOf(namespace string, o Owner, n int) int {
	f := fnv.New32a()
	f.Write([]byte(namespace + "/" + o.Kind + "/" + o.Name))
	return int(f.Sum32() % uint32(n))
}

func fits(shards []map[string][]byte) bool {
	for _, bin := range shards {
		size := 0
		for _, gz := range bin {
			size += len(gz)
		}
		if size > shardBudget {
			return false
		}
	}
	return true
}

func ceilPow2(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}

// object is an empty shard with its name, hour and index.
func object(hour time.Time, shard int) *storeio.Shard {
	return &storeio.Shard{Name: ShardName(hour, shard), Hour: HourOf(hour), Index: shard}
}

// SameContent reports whether a and b store the same thing: data, binaryData,
// the hour and shard marks (Hour, Index, Legacy: the labels of the ConfigMap
// form) and the annotations this package owns. Anything else (a kubectl
// annotation, the version) is ignored. nil and empty maps are equal.
func SameContent(a, b *storeio.Shard) bool {
	if a == nil || b == nil {
		return a == b
	}
	if !a.Hour.Equal(b.Hour) || a.Index != b.Index || a.Legacy != b.Legacy {
		return false
	}
	for _, k := range []string{AnnotationFormat, AnnotationShards} {
		if a.Annotations[k] != b.Annotations[k] {
			return false
		}
	}
	return maps.Equal(a.Data, b.Data) && maps.EqualFunc(a.BinaryData, b.BinaryData, bytes.Equal)
}
