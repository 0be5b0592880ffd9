package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pod-ashiato/ashiato/src/storeio"
)

const (
	// maxUnpacked bounds what one placements.gz may unpack to. A full shard of
	// real names unpacks to a few MiB; a hand-made gzip bomb must not take the
	// reader down.
	maxUnpacked = 64 << 20
	// unpackRatio sizes the buffer a gzip value unpacks into from its
	// compressed length: a little more than placement lines compress by, so
	// that a real shard unpacks without growing it and a small value never
	// takes much.
	unpackRatio = 6
	// maxValueWarnings caps the warnings of one value, so that a value damaged
	// throughout does not bury the reader in 100,000 lines of warnings.
	maxValueWarnings = 10
	// maxQuoted is how much of a damaged line or name a warning quotes:
	// enough to find it, so that a warning's size is the reader's choice,
	// not the writer's.
	maxQuoted = 200
	// checkLines and checkBytes are how many lines, and how many bytes
	// unpacked, a decode goes between looks at its context.
	checkLines = 1024
	checkBytes = 1 << 20
)

// Decode reads the objects of one hour (any order, any subset, either form,
// including the original tool's object) back into an Hour. shards is the
// shard count stored for the hour, the prevShards to pass to Encode; 0 when cms
// holds nothing of the hour. Damaged values become warnings; Decode never fails.
// So does a shard that shard 0's count promises but cms lacks (and shard 0
// itself, when only other shards are there): the placements it held are not
// in h. Decoding stops when its context ends: h then holds the objects read
// whole before, with their owners, and one Warning, "decoding stopped: " and
// the context's error, says so (and ctx.Err() is not nil).
func Decode(ctx context.Context, hour time.Time, cms []storeio.Shard) (h *Hour, shards int, warnings []Warning) {
	d := &decoder{ctx: ctx, h: NewHour(hour), present: map[int]bool{}}
	for i := range cms {
		d.object(&cms[i])
	}
	if !d.stopped {
		d.missing()
	}
	d.applyOwners()
	return d.h, d.shards, d.warnings
}

// Only narrows DecodePart to the placements of one pod (Pod set, with its
// owner), of a set of pods (Pods set, with their owners), or of one node
// (Node set, without owners); the zero Only keeps everything. Node events are
// always kept. A reader of one pod or one node then never holds the rest of
// a shard decoded.
type Only struct {
	Pod  *PodRef
	Pods map[PodRef]bool
	Node string
	// Namespaces, when set, narrows any of the above to the pods of the
	// namespaces it accepts: a reader decodes a large hour in parts, a
	// range of namespaces at a time (NamespaceLines sizes them). It is
	// called before a line is parsed, with a namespace that may point into
	// the unpacked value: a caller that keeps it must copy it.
	Namespaces func(namespace string) bool
}

// keepLine reports, before a line is parsed, whether it can be one Only keeps:
// line starts with "<namespace><sep><pod><sep2>".
func (o Only) keepLine(line string, sep, sep2 byte) bool {
	if o.Namespaces != nil {
		if mid := strings.IndexByte(line, sep); mid >= 0 && !o.Namespaces(line[:mid]) {
			return false
		}
	}
	if o.Pods != nil {
		end := strings.IndexByte(line, sep2)
		mid := strings.IndexByte(line, sep)
		if end < 0 || mid < 0 || mid > end {
			return true // damaged: the parser says how
		}
		return o.Pods[PodRef{Namespace: line[:mid], Name: line[mid+1 : end]}]
	}
	if o.Pod == nil {
		return true
	}
	p := o.Pod
	n := len(p.Namespace) + 1 + len(p.Name)
	return len(line) > n && line[n] == sep2 && line[len(p.Namespace)] == sep &&
		line[:len(p.Namespace)] == p.Namespace && line[len(p.Namespace)+1:n] == p.Name
}

// keepNode reports, before a line is parsed, whether its second field can
// be the node Only keeps.
func (o Only) keepNode(line string, sep byte) bool {
	if o.Node == "" {
		return true
	}
	i := strings.IndexByte(line, sep)
	if i < 0 {
		return true // damaged: the parser says how
	}
	rest := line[i+1:]
	return len(rest) > len(o.Node) && rest[len(o.Node)] == sep && rest[:len(o.Node)] == o.Node
}

func (o Only) keeps(ref PodRef, node string) bool {
	return o.keepsPod(ref) && (o.Node == "" || o.Node == node)
}

func (o Only) keepsPod(ref PodRef) bool {
	return (o.Pod == nil || *o.Pod == ref) && (o.Pods == nil || o.Pods[ref]) &&
		(o.Namespaces == nil || o.Namespaces(ref.Namespace))
}

// NamespaceLines counts the placement and owner lines of each namespace in
// cms without parsing them (a pod counts once a placement and once an
// owner): what a reader needs to cut a large hour into ranges of namespaces
// of about the same size, to decode one at a time with DecodePart and
// Only.Namespaces. Damaged lines are not counted; there is no warning.
func NamespaceLines(ctx context.Context, hour time.Time, cms []storeio.Shard) map[string]int {
	counts := map[string]int{}
	DecodePart(ctx, hour, cms, Only{Namespaces: func(ns string) bool {
		if _, ok := counts[ns]; !ok {
			ns = strings.Clone(ns)
		}
		counts[ns]++
		return false
	}})
	return counts
}

// DecodePart is Decode for some of an hour's objects chosen on purpose (the
// shard a pod hashes to, say), keeping what only asks for: it does not warn
// about the shards left out, nor about damaged values of the pods it skips.
func DecodePart(ctx context.Context, hour time.Time, cms []storeio.Shard, only Only) (h *Hour, warnings []Warning) {
	d := &decoder{ctx: ctx, h: NewHour(hour), present: map[int]bool{}, only: only}
	for i := range cms {
		d.object(&cms[i])
	}
	d.applyOwners()
	return d.h, d.warnings
}

// MissingShards is the warning Decode gives about the shards of the hour that
// cms lacks (none when it lacks none), for a reader that decodes an hour's
// objects one at a time with DecodePart.
func MissingShards(hour time.Time, cms []storeio.Shard) []Warning {
	d := &decoder{ctx: context.Background(), h: NewHour(hour), present: map[int]bool{}}
	for i := range cms {
		h, shard, ok := ParseName(cms[i].Name)
		if !ok || !h.Equal(d.h.Start) || shard >= MaxShards {
			continue
		}
		d.present[shard] = true
		if shard == 0 {
			d.annotations(&cms[i])
		}
	}
	d.warnings = nil // annotation warnings are DecodePart's
	d.missing()
	return d.warnings
}

type decoder struct {
	ctx      context.Context
	stopped  bool // ctx ended; see check
	lines    uint // read so far; see live
	h        *Hour
	shards   int
	promised int          // shard 0's count, 0 when shard 0 or its count is absent
	present  map[int]bool // the shards read
	warnings []Warning
	owners   []podOwner // read from every object, applied at the end
	only     Only
	names    map[string]string // see intern
}

// missing warns about the shards the hour should have and cms lacks.
func (d *decoder) missing() {
	if len(d.present) == 0 {
		return
	}
	want := max(d.promised, 1)
	var lacking []string
	for i := range want {
		if !d.present[i] {
			lacking = append(lacking, strconv.Itoa(i))
		}
	}
	if len(lacking) == 0 {
		return
	}
	promise := fmt.Sprintf("shard 0 says %d", d.promised)
	if !d.present[0] {
		promise = "shard 0 holds the count"
	}
	d.warn(NameFor(d.h.Start), "", "hour %s: shard(s) %s of %d missing (%s); the placements they held are not shown",
		hourLabel(d.h.Start), strings.Join(lacking, ", "), want, promise)
}

// live reports whether decoding goes on, for a loop to ask at every line: it
// looks at the context every checkLines lines, since a look costs more than a
// line.
func (d *decoder) live() bool {
	if d.lines++; d.lines%checkLines == 0 {
		return d.check()
	}
	return !d.stopped
}

// check looks at the context now. Once it has ended, decoding stops, with one
// warning.
func (d *decoder) check() bool {
	if d.stopped {
		return false
	}
	if err := d.ctx.Err(); err != nil {
		d.stopped = true
		d.warn(NameFor(d.h.Start), "", "decoding stopped: %v", err)
	}
	return !d.stopped
}

func (d *decoder) warn(object, key, format string, args ...any) {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = clip(s)
		}
	}
	d.warnings = append(d.warnings, Warning{Object: object, Key: key, Reason: fmt.Sprintf(format, args...)})
}

// object decodes one object by its content, whatever its annotation says,
// so that a hand-edited or half-converted object still yields what it holds.
func (d *decoder) object(cm *storeio.Shard) {
	if !d.check() {
		return
	}
	hour, shard, ok := ParseName(cm.Name)
	switch {
	case !ok:
		d.warn(cm.Name, "", "not a pod-ashiato object name; skipped")
		return
	case !hour.Equal(d.h.Start):
		d.warn(cm.Name, "", "belongs to hour %s, not %s; skipped", hourLabel(hour), hourLabel(d.h.Start))
		return
	case shard >= MaxShards:
		d.warn(cm.Name, "", "shard %d is beyond the limit of %d; skipped", shard, MaxShards)
		return
	}
	d.shards = max(d.shards, shard+1)
	d.present[shard] = true
	if cm.Unreadable != nil {
		d.warn(cm.Name, "", "not read (%v); the placements it holds are not shown", cm.Unreadable)
		return
	}
	if shard == 0 {
		d.annotations(cm)
	}

	// Decode into a hour of its own first: ashiato.seen gives times only to the
	// placements this object's pod keys list.
	local := newBuilding(d.h.Start)
	for _, key := range slices.Sorted(maps.Keys(cm.Data)) {
		if !strings.HasPrefix(key, extraKeyPrefix) {
			d.podKey(cm.Name, key, cm.Data[key], local)
		}
	}
	if seen, ok := cm.Data[KeySeen]; ok {
		d.seenLines(cm.Name, seen, local)
	}
	if gz, ok := cm.BinaryData[KeyPacked]; ok {
		d.packed(cm.Name, gz, local)
	}
	for _, key := range slices.Sorted(maps.Keys(cm.BinaryData)) {
		if key != KeyPacked && key != KeyOwnersPacked && key != KeyNodesPacked && !strings.HasSuffix(key, ".gz") {
			d.warn(cm.Name, key, "unknown binaryData key; skipped")
		}
	}
	d.extras(cm, local.Hour)
	if d.stopped { // part way through
		return
	}
	d.merge(local)
}

// merge is d.h.Merge(local.Hour), except that a pod d.h does not have yet
// takes local's placements as they are (one per node, as building keeps
// them) rather than a copy: most pods are in one object only.
func (d *decoder) merge(local *building) {
	for ref, seen := range local.Pods {
		if _, ok := d.h.Pods[ref]; ok {
			d.h.mergePod(ref, seen)
		} else {
			d.h.Pods[ref] = sortSeen(seen)
		}
	}
	d.h.mergeExtras(local.Hour)
}

// building is an object's placements while its lines are read: each pod's in
// no order, found by node through an index once they are many (see
// placements). Merging it into an Hour sorts them.
type building struct {
	*Hour
	index map[PodRef]map[string]int // the pods with many placements
}

func newBuilding(start time.Time) *building { return &building{Hour: NewHour(start)} }

// has reports whether ref has a placement on node.
func (b *building) has(ref PodRef, node string) bool {
	p := placements{seen: b.Pods[ref], index: b.index[ref]}
	return p.find(node) >= 0
}

// see merges one placement in with the rules of Hour.see. ref and s.Node are
// kept only when the placement is new.
func (b *building) see(ref PodRef, s Seen) {
	p := placements{seen: b.Pods[ref], index: b.index[ref]}
	n, indexed := len(p.seen), p.index != nil
	p.see(b.Hour, s)
	if len(p.seen) != n {
		b.Pods[ref] = p.seen
	}
	if p.index != nil && !indexed {
		if b.index == nil {
			b.index = map[PodRef]map[string]int{}
		}
		b.index[ref] = p.index
	}
}

func (d *decoder) annotations(cm *storeio.Shard) {
	switch f := cm.Annotations[AnnotationFormat]; f {
	case "", FormatPlain, FormatPacked: // "" is the original tool's
	default:
		d.warn(cm.Name, AnnotationFormat, "unknown format %q; read by content", f)
	}
	if s, ok := cm.Annotations[AnnotationShards]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxShards {
			d.warn(cm.Name, AnnotationShards, "shard count %q is not in 1..%d; ignored", s, MaxShards)
			return
		}
		d.shards = max(d.shards, n)
		d.promised = n
	}
}

// podKey decodes a plain-form key <namespace>_<pod> with its node list.
func (d *decoder) podKey(object, key, value string, local *building) {
	ns, name, _ := strings.Cut(key, "_")
	ref := PodRef{Namespace: ns, Name: name}
	if !d.only.keepsPod(ref) {
		return
	}
	if err := validRef(ref); err != nil {
		d.warn(object, key, "not a <namespace>_<pod> key (%v); skipped", err)
		return
	}
	ref = d.own(ref)
	w := d.valueWarnings(object, key)
	defer w.done()
	for node := range strings.SplitSeq(value, ",") {
		if !d.live() {
			return
		}
		if d.only.Node != "" && node != d.only.Node {
			continue
		}
		if !validName(node) {
			w.add("node %q is not a DNS subdomain; skipped", node)
			continue
		}
		local.see(ref, Seen{Node: d.intern(node)})
	}
}

// seenLines gives times to the placements of local: lines of
// "<namespace>_<pod> <node> <first> <last>".
func (d *decoder) seenLines(object, text string, local *building) {
	w := d.valueWarnings(object, KeySeen)
	defer w.done()
	for line := range strings.SplitSeq(text, "\n") {
		if !d.live() {
			return
		}
		if line == "" || !d.only.keepLine(line, '_', ' ') {
			continue
		}
		f, ok := fields(line, ' ', false)
		if !ok {
			w.add("line %q: want 4 space-separated fields; skipped", line)
			continue
		}
		ns, name, _ := strings.Cut(f[0], "_")
		ref := PodRef{Namespace: ns, Name: name}
		if !d.only.keeps(ref, f[1]) {
			continue
		}
		if !local.has(ref, f[1]) {
			w.add("line %q: no pod key lists this placement; skipped", line)
			continue
		}
		s, err := local.times(f[1], f[2], f[3])
		if err != nil {
			w.add("line %q: %v; skipped", line, err)
			continue
		}
		local.see(ref, s) // found above: only its times are kept
	}
}

// packed decodes a placements.gz value. The complete lines before a gzip error
// are kept: a stream damaged at its end still holds good history.
func (d *decoder) packed(object string, gz []byte, local *building) {
	raw := d.gunzip(object, KeyPacked, gz)
	w := d.valueWarnings(object, KeyPacked)
	defer w.done()
	var last, owned PodRef // the lines of a pod follow each other
	for line := range strings.SplitSeq(inPlace(raw), "\n") {
		if !d.live() {
			return
		}
		if line == "" || !d.only.keepLine(line, '/', '\t') || !d.only.keepNode(line, '\t') {
			continue
		}
		f, ok := fields(line, '\t', false)
		if !ok {
			w.add("line %q: want 4 tab-separated fields; skipped", line)
			continue
		}
		ns, name, _ := strings.Cut(f[0], "/")
		ref := PodRef{Namespace: ns, Name: name}
		if !d.only.keeps(ref, f[1]) {
			continue
		}
		if err := validRef(ref); err != nil {
			w.add("line %q: not <namespace>/<pod> (%v); skipped", line, err)
			continue
		}
		s, err := local.times(f[1], f[2], f[3])
		if err != nil {
			w.add("line %q: %v; skipped", line, err)
			continue
		}
		if ref != last {
			last, owned = ref, d.own(ref)
		}
		s.Node = d.intern(s.Node)
		local.see(owned, s)
	}
}

// gunzip unpacks a gzip value of the packed form. The complete lines before a
// gzip error are kept, and at most maxUnpacked bytes of them. Read it with
// inPlace.
func (d *decoder) gunzip(object, key string, gz []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		d.warn(object, key, "bad gzip: %v; skipped", err)
		return nil
	}
	raw, err := readAtMost(zr, min(unpackRatio*len(gz), maxUnpacked+1), maxUnpacked+1, d.check)
	switch {
	case d.stopped:
		return nil
	case err != nil:
		d.warn(object, key, "bad gzip: %v; kept the complete lines before it", err)
		raw = raw[:bytes.LastIndexByte(raw, '\n')+1]
	case len(raw) > maxUnpacked:
		d.warn(object, key, "unpacks to more than %d bytes; kept the complete lines before that", maxUnpacked)
		raw = raw[:bytes.LastIndexByte(raw[:maxUnpacked], '\n')+1]
	}
	return raw
}

// readAtMost reads r to its end or to limit bytes, into a buffer of size
// first that doubles as bytes arrive, never beyond limit. The size a value
// claims (a gzip trailer's) is the writer's word: a few bytes could claim
// 4 GiB. It asks live every checkBytes bytes whether to go on.
func readAtMost(r io.Reader, first, limit int, live func() bool) ([]byte, error) {
	buf := make([]byte, 0, max(first, 512))
	next := checkBytes
	for {
		if len(buf) >= next {
			if !live() {
				return buf, nil
			}
			next += checkBytes
		}
		if len(buf) == cap(buf) {
			if len(buf) >= limit {
				return buf, nil
			}
			grown := make([]byte, len(buf), min(2*cap(buf), limit))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return buf, err
		}
	}
}

// inPlace is raw, gunzip's own buffer that nothing writes again, as a string
// read without a copy (a shard unpacks to megabytes). Nothing decoded may
// point into it: one kept line would keep it all (see own and intern).
func inPlace(raw []byte) string { return unsafe.String(unsafe.SliceData(raw), len(raw)) }

// intern is s as a copy of its own, one per decode for each name (a node, a
// namespace, an owner, an event): a node's name is on thousands of lines, and
// what a decode keeps must not point into the value it was read from.
func (d *decoder) intern(s string) string {
	if c, ok := d.names[s]; ok {
		return c
	}
	if d.names == nil {
		d.names = map[string]string{}
	}
	c := strings.Clone(s)
	d.names[c] = c
	return c
}

// own is ref as a copy of its own; a pod's name is on few lines, so it is
// cloned rather than interned.
func (d *decoder) own(ref PodRef) PodRef {
	return PodRef{Namespace: d.intern(ref.Namespace), Name: strings.Clone(ref.Name)}
}

// fields splits line at sep into four fields without allocating (a shard
// has 100,000 lines). With rest, the fourth is the rest of the line;
// without, a line of more than four fields is not ok.
func fields(line string, sep byte, rest bool) (f [4]string, ok bool) {
	for i := range 3 {
		j := strings.IndexByte(line, sep)
		if j < 0 {
			return f, false
		}
		f[i], line = line[:j], line[j+1:]
	}
	f[3] = line
	return f, rest || strings.IndexByte(line, sep) < 0
}

// times parses a placement's node and first/last offsets: decimal seconds
// 0..3599 with first <= last, or both "-" for unknown.
func (h *Hour) times(node, first, last string) (Seen, error) {
	if !validName(node) {
		return Seen{}, fmt.Errorf("node %q is not a DNS subdomain", clip(node))
	}
	if first == "-" && last == "-" {
		return Seen{Node: node}, nil
	}
	f, ok1 := parseSecond(first)
	l, ok2 := parseSecond(last)
	if !ok1 || !ok2 {
		return Seen{}, fmt.Errorf("bad time: %q, %q", clip(first), clip(last))
	}
	if f > l || l >= int(time.Hour/time.Second) {
		return Seen{}, fmt.Errorf("times %d..%d are not within the hour in order", f, l)
	}
	return Seen{
		Node:  node,
		First: h.Start.Add(time.Duration(f) * time.Second),
		Last:  h.Start.Add(time.Duration(l) * time.Second),
	}, nil
}

// parseSecond parses a time of a line: up to four decimal digits.
// strconv's errors would copy the whole of a damaged field.
func parseSecond(s string) (int, bool) {
	if s == "" || len(s) > 4 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = 10*n + int(s[i]-'0')
	}
	return n, true
}

// valueWarnings collects the warnings of one value, up to maxValueWarnings.
type valueWarnings struct {
	d           *decoder
	object, key string
	n           int
}

func (d *decoder) valueWarnings(object, key string) *valueWarnings {
	return &valueWarnings{d: d, object: object, key: key}
}

func (w *valueWarnings) add(format string, args ...any) {
	if w.n++; w.n <= maxValueWarnings {
		w.d.warn(w.object, w.key, format, args...)
	}
}

func (w *valueWarnings) done() {
	if w.n > maxValueWarnings {
		w.d.warn(w.object, w.key, "%d more damaged lines skipped", w.n-maxValueWarnings)
	}
}

// clip is s cut to maxQuoted bytes, for a warning.
func clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	return s[:maxQuoted] + "…"
}

// validRef checks that ref is a namespace and a pod name as the API server
// allows them: that is what makes "_" and "/" safe separators and every key
// a valid ConfigMap key.
func validRef(ref PodRef) error {
	if !isDNSName(ref.Namespace, validation.DNS1123LabelMaxLength, false) {
		return fmt.Errorf("namespace %q is not a DNS label", clip(ref.Namespace))
	}
	if !validName(ref.Name) {
		return fmt.Errorf("pod name %q is not a DNS subdomain", clip(ref.Name))
	}
	return nil
}

// validName checks a pod or node name: a DNS subdomain, so it has no ",", "_",
// "/", space or newline to break a key or a line.
func validName(s string) bool {
	return isDNSName(s, validation.DNS1123SubdomainMaxLength, true)
}

// isDNSName is validation.IsDNS1123Subdomain (dots) or IsDNS1123Label (no dots)
// without their regular expressions, which took a fifth of the time to encode
// a big hour. The fuzz tests hold it to apimachinery's answers.
func isDNSName(s string, maxLen int, dots bool) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	prev := byte('.') // a label starts as after a dot: alphanumeric
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' && prev != '.':
		case c == '.' && dots && prev != '.' && prev != '-':
		default:
			return false
		}
		prev = c
	}
	return prev != '-' && prev != '.'
}
