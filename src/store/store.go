package store

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Labels every object of the store carries. LabelApp and LabelType are the
// original tool's, kept so that existing selectors keep working.
const (
	LabelApp       = "app"
	LabelAppValue  = "pod-ashiato"
	LabelType      = "type"
	LabelTypeValue = "pod-node-mapping"
	// LabelHour holds the hour, YYYYMMDDHH in UTC; it finds every shard of an hour
	// and lets retention select whole hours.
	LabelHour = "pod-ashiato/hour"
	// LabelShard is the shard's index; shard 0 is named NameFor(hour).
	LabelShard = "pod-ashiato/shard"
)

// Annotations on shard 0 and the keys of the two forms (see the package
// documentation).
const (
	AnnotationFormat = "pod-ashiato/format"
	AnnotationShards = "pod-ashiato/shards"
	FormatPlain      = "plain"
	FormatPacked     = "packed"
	// KeySeen is the plain form's times; it has no "_", so no pod key can be it.
	KeySeen = "ashiato.seen"
	// KeyPacked is the packed form's gzip of placement lines, in binaryData.
	KeyPacked = "placements.gz"
)

// LastSeenStep is the granularity at which Last advances. The sink re-sees every
// running pod on every listing; without a step each flush would rewrite the
// whole hour just to move last-seen times by seconds.
const LastSeenStep = 5 * time.Minute

const (
	namePrefix = "pod-ashiato-"
	hourLayout = "2006010215"
)

// PodRef names a pod the way history is kept: by namespace and name, not UID.
type PodRef struct {
	Namespace string
	Name      string
}

func (r PodRef) String() string { return r.Namespace + "/" + r.Name }

// Less reports whether r sorts before o: by namespace, then name (the order
// of Hour.Refs).
func (r PodRef) Less(o PodRef) bool { return r.compare(o) < 0 }

func (r PodRef) compare(o PodRef) int {
	return cmp.Or(strings.Compare(r.Namespace, o.Namespace), strings.Compare(r.Name, o.Name))
}

// Seen is one placement of a pod within the hour: the node and when it was
// first and last observed there (UTC, whole seconds; zero when not known, such
// as for values written by the original tool).
type Seen struct {
	Node  string
	First time.Time
	Last  time.Time
}

// known reports whether the placement's times are known. First and Last are
// either both known or both zero.
func (s Seen) known() bool { return !s.First.IsZero() }

// Hour is every placement recorded in one UTC hour. Each pod's placements are
// kept in the order first seen (unknown times first, ties by node name), one
// per node, so that equal contents always encode to equal bytes. Owners and
// Nodes (see extras.go) are filled through SetOwner and AddNodeEvent.
type Hour struct {
	Start  time.Time // the hour, truncated, UTC
	Pods   map[PodRef][]Seen
	Owners map[PodRef]Owner // pods' controlling owners, where known
	Nodes  []NodeEvent      // node lifecycle events, sorted by time
	// NodeLabels is node -> its allow-listed labels, for the nodes whose
	// labels were recorded (SetNodeLabels, nodelabels.go).
	NodeLabels map[string]map[string]string
}

// Warning reports a value that could not be decoded; the rest of the hour is
// still read.
type Warning struct {
	Object string // the ConfigMap's name
	Key    string
	Reason string
}

func (w Warning) String() string { return w.Object + " " + w.Key + ": " + w.Reason }

// HourOf is the hour bucket t belongs to.
func HourOf(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// NameFor is the name of an hour's shard 0, the original tool's object name.
func NameFor(hour time.Time) string { return namePrefix + hourLabel(hour) }

// hourLabel is the hour as YYYYMMDDHH in UTC, as in names and LabelHour.
func hourLabel(hour time.Time) string { return HourOf(hour).Format(hourLayout) }

// ShardName is the name of an hour's shard; shard 0 is NameFor(hour).
func ShardName(hour time.Time, shard int) string {
	if shard == 0 {
		return NameFor(hour)
	}
	return NameFor(hour) + "-" + strconv.Itoa(shard)
}

// ParseName is the inverse of ShardName; ok is false for any other name, so it
// also tells the store's objects from others.
func ParseName(name string) (hour time.Time, shard int, ok bool) {
	rest, found := strings.CutPrefix(name, namePrefix)
	if !found || len(rest) < len(hourLayout) {
		return time.Time{}, 0, false
	}
	hour, err := time.Parse(hourLayout, rest[:len(hourLayout)])
	if err != nil {
		return time.Time{}, 0, false
	}
	if tail := rest[len(hourLayout):]; tail != "" {
		shard, err = strconv.Atoi(strings.TrimPrefix(tail, "-"))
		if err != nil || shard < 1 {
			return time.Time{}, 0, false
		}
	}
	// Only the canonical spelling: no "-01", "-0" or "+1".
	if ShardName(hour, shard) != name {
		return time.Time{}, 0, false
	}
	return hour, shard, true
}

// AllSelector selects every object of the store, of every hour, including the
// original tool's.
func AllSelector() string {
	return LabelApp + "=" + LabelAppValue + "," + LabelType + "=" + LabelTypeValue
}

// HourSelector selects every shard of one hour written by Pod Ashiato. The
// original tool's object has no hour label; get it by NameFor(hour).
func HourSelector(hour time.Time) string {
	return AllSelector() + "," + LabelHour + "=" + hourLabel(hour)
}

// HoursSelector selects the shards Pod Ashiato wrote for the hours from
// through to, both included; a zero from or to leaves that side open. It
// compares the hour label as a number (YYYYMMDDHH orders as time does), so the
// API server returns only those hours instead of the whole store. The original
// tool's objects have no hour label: select them with UnlabelledSelector.
func HoursSelector(from, to time.Time) string {
	sel := AllSelector()
	if !from.IsZero() {
		sel += "," + LabelHour + ">" + hourLabel(HourOf(from).Add(-time.Hour))
	}
	if !to.IsZero() {
		sel += "," + LabelHour + "<" + hourLabel(HourOf(to).Add(time.Hour))
	}
	return sel
}

// UnlabelledSelector selects the store's objects that have no hour label: the
// original tool's, one per hour, whose hour is only in the name.
func UnlabelledSelector() string { return AllSelector() + ",!" + LabelHour }

// NewHour returns an empty hour; start may be any time within it.
func NewHour(start time.Time) *Hour {
	return &Hour{Start: HourOf(start), Pods: map[PodRef][]Seen{}}
}

// Add records that ref was seen on node at time at. at is cut to whole seconds
// and clamped into the hour. It reports whether the encoded form changes: a new
// pod or node, First moved earlier, or Last moved into a later LastSeenStep.
func (h *Hour) Add(ref PodRef, node string, at time.Time) bool {
	t := h.clamp(at)
	return h.see(ref, Seen{Node: node, First: t, Last: t})
}

// Merge adds every placement, owner and node event of o to h, with the rules
// of Add, SetOwner and AddNodeEvent, and reports whether h changed. Known
// times beat unknown ones.
func (h *Hour) Merge(o *Hour) bool {
	changed := false
	for ref, seen := range o.Pods {
		changed = h.mergePod(ref, seen) || changed
	}
	return h.mergeExtras(o) || changed
}

// mergePod merges one pod's placements into h, in any order, and sorts them
// once rather than after each.
func (h *Hour) mergePod(ref PodRef, seen []Seen) bool {
	if h.Pods == nil {
		h.Pods = map[PodRef][]Seen{}
	}
	p := placements{seen: h.Pods[ref]}
	changed := false
	for _, s := range seen {
		if s.known() {
			s.First, s.Last = h.clamp(s.First), h.clamp(s.Last)
		}
		changed = p.see(h, s) || changed
	}
	if changed {
		h.Pods[ref] = sortSeen(p.seen)
	}
	return changed
}

// see merges one placement into h.
func (h *Hour) see(ref PodRef, s Seen) bool {
	if h.Pods == nil {
		h.Pods = map[PodRef][]Seen{}
	}
	seen := h.Pods[ref]
	i := slices.IndexFunc(seen, func(x Seen) bool { return x.Node == s.Node })
	if i < 0 {
		h.Pods[ref] = sortSeen(append(seen, s))
		return true
	}
	if !h.update(&seen[i], s) {
		return false
	}
	sortSeen(seen)
	return true
}

// update merges the times of s into old, a placement on the same node, and
// reports whether old changed.
func (h *Hour) update(old *Seen, s Seen) bool {
	switch {
	case !s.known():
		return false
	case !old.known():
		old.First, old.Last = s.First, s.Last
	default:
		earlier := s.First.Before(old.First)
		later := h.step(s.Last) > h.step(old.Last)
		if !earlier && !later {
			return false
		}
		if earlier {
			old.First = s.First
		}
		if later {
			old.Last = s.Last
		}
	}
	return true
}

// indexFrom is the number of placements from which a pod's are found through
// a map: fewer are found faster by a scan.
const indexFrom = 16

// placements is one pod's placements while many are merged into them: in no
// order until the caller sorts them, and found by node through an index once
// they are many, so that a pod on N nodes costs O(N) lookups, not O(N²).
type placements struct {
	seen  []Seen
	index map[string]int // node → position in seen; nil while seen is short
}

func (p *placements) find(node string) int {
	if p.index == nil {
		for i := range p.seen {
			if p.seen[i].Node == node {
				return i
			}
		}
		return -1
	}
	if i, ok := p.index[node]; ok {
		return i
	}
	return -1
}

// see merges one placement into p with the rules of Hour.see, leaving the
// order to the caller.
func (p *placements) see(h *Hour, s Seen) bool {
	if i := p.find(s.Node); i >= 0 {
		return h.update(&p.seen[i], s)
	}
	p.seen = append(p.seen, s)
	switch {
	case p.index != nil:
		p.index[s.Node] = len(p.seen) - 1
	case len(p.seen) >= indexFrom:
		p.index = make(map[string]int, 2*len(p.seen))
		for i, x := range p.seen {
			p.index[x.Node] = i
		}
	}
	return true
}

func (h *Hour) step(t time.Time) time.Duration { return t.Sub(h.Start) / LastSeenStep }

// clamp cuts t to whole seconds within the hour, the resolution the store keeps.
func (h *Hour) clamp(t time.Time) time.Time {
	off := min(max(t.Sub(h.Start)/time.Second, 0), time.Hour/time.Second-1)
	return h.Start.Add(off * time.Second)
}

// offset is t in seconds since the hour start.
func (h *Hour) offset(t time.Time) int64 { return int64(t.Sub(h.Start) / time.Second) }

// SortSeen puts one pod's placements in the order an Hour keeps them (first
// seen, then node), for a writer that builds an Hour's Pods itself.
func SortSeen(seen []Seen) []Seen { return sortSeen(seen) }

func sortSeen(seen []Seen) []Seen {
	slices.SortFunc(seen, func(a, b Seen) int {
		return cmp.Or(a.First.Compare(b.First), strings.Compare(a.Node, b.Node))
	})
	return seen
}

// Len is the number of pods in the hour.
func (h *Hour) Len() int { return len(h.Pods) }

// Refs lists the pods that have placements, sorted by namespace and name.
func (h *Hour) Refs() []PodRef {
	refs := make([]PodRef, 0, len(h.Pods))
	for ref, seen := range h.Pods {
		if len(seen) > 0 {
			refs = append(refs, ref)
		}
	}
	slices.SortFunc(refs, PodRef.compare)
	return refs
}

// Pod returns the pod's placements in the order first seen (a copy).
func (h *Hour) Pod(ref PodRef) []Seen { return slices.Clone(h.Pods[ref]) }

// OnNode returns every pod that ran on node during the hour; a pod is on a node
// at most once per hour, so the map holds its one placement there.
func (h *Hour) OnNode(node string) map[PodRef]Seen {
	out := map[PodRef]Seen{}
	for ref, seen := range h.Pods {
		for _, s := range seen {
			if s.Node == node {
				out[ref] = s
			}
		}
	}
	return out
}
