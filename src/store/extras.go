package store

import (
	"slices"
	"strings"
	"time"
)

// The keys of an hour's owners and node events (see the package documentation).
// The plain form's have no "_", so no pod key can be them.
const (
	KeyOwners       = "ashiato.owners"
	KeyNodes        = "ashiato.nodes"
	KeyOwnersPacked = "owners.gz"
	KeyNodesPacked  = "nodes.gz"
)

// Limits of the values kept with owners and node events.
const (
	// MaxNodeEvents bounds an hour's node events: a cluster of 5,000 nodes
	// that all flap a few times an hour stays within it, and a runaway cannot
	// push the hour past what its shard 0 can hold.
	MaxNodeEvents = 20_000
	maxReasonLen  = 128
	maxKindLen    = 63
	maxEventLen   = 32
)

// Owner is a pod's controlling owner: the kind and name of the object that
// created it (a ReplicaSet, a StatefulSet, a Job...). It is what links a pod
// to its replacement, which has another name.
type Owner struct {
	Kind string
	Name string
}

// NodeEvent is one lifecycle change of a node: Event is one of the record
// package's node events (node_ready, node_not_ready, ...), Reason what the
// cluster gave as the cause (a condition's reason, a taint), possibly empty.
type NodeEvent struct {
	Node   string
	At     time.Time // UTC, whole seconds
	Event  string
	Reason string
}

// SetOwner records ref's controlling owner and reports whether the hour
// changed. A pod keeps the first owner recorded for it within the hour, so
// merging in any order gives the same hour. An owner that cannot be stored (an
// empty or malformed kind or name) is not recorded: a pod without an owner is
// stored as one.
func (h *Hour) SetOwner(ref PodRef, o Owner) bool {
	if !validOwner(o) {
		return false
	}
	if h.Owners == nil {
		h.Owners = map[PodRef]Owner{}
	}
	if _, ok := h.Owners[ref]; ok {
		return false
	}
	h.Owners[ref] = o
	return true
}

// Owner returns ref's controlling owner, if one is known.
func (h *Hour) Owner(ref PodRef) (Owner, bool) {
	o, ok := h.Owners[ref]
	return o, ok
}

// AddNodeEvent records a node event and reports whether the hour changed. at
// is cut to whole seconds and clamped into the hour; the reason is cut to 128
// printable ASCII bytes. Events are kept in time order, those of one second in
// the order added. An event with an invalid node or event name, an exact
// repeat within its second, or one beyond MaxNodeEvents is not recorded.
func (h *Hour) AddNodeEvent(e NodeEvent) bool {
	e.At, e.Reason = h.clamp(e.At), cleanReason(e.Reason)
	if !validName(e.Node) || !validEvent(e.Event) || len(h.Nodes) >= MaxNodeEvents {
		return false
	}
	// After every event of an earlier or the same second: the events of one
	// second keep the order they were recorded in (a flap can be that fast).
	i, _ := slices.BinarySearchFunc(h.Nodes, e.At, func(x NodeEvent, at time.Time) int {
		if x.At.After(at) {
			return 1
		}
		return -1
	})
	for j := i - 1; j >= 0 && h.Nodes[j].At.Equal(e.At); j-- {
		if h.Nodes[j] == e {
			return false
		}
	}
	h.Nodes = slices.Insert(h.Nodes, i, e)
	return true
}

// addNodeEvents is AddNodeEvent of each of es in turn, in time linear in the
// events held and given, however many share a second (one by one, each event
// is compared with every event of its second before it). First the events
// that AddNodeEvent would record are chosen, in es's order: valid, no exact
// repeat of one held or chosen before (a set), while there is room. Then
// they are merged into the held events in one pass, each after the held
// events of its second and in es's order among its own, which is where
// AddNodeEvent would have put them. It reports whether h changed.
func (h *Hour) addNodeEvents(es []NodeEvent) bool {
	room := MaxNodeEvents - len(h.Nodes)
	if room <= 0 || len(es) == 0 {
		return false
	}
	held := make(map[NodeEvent]struct{}, len(h.Nodes)+len(es))
	for _, e := range h.Nodes {
		held[e] = struct{}{}
	}
	var add []NodeEvent
	for _, e := range es {
		e.At, e.Reason = h.clamp(e.At), cleanReason(e.Reason)
		if _, dup := held[e]; dup || !validName(e.Node) || !validEvent(e.Event) {
			continue
		}
		held[e] = struct{}{}
		add = append(add, e)
		if len(add) == room {
			break
		}
	}
	if len(add) == 0 {
		return false
	}
	slices.SortStableFunc(add, func(a, b NodeEvent) int { return a.At.Compare(b.At) })
	out := make([]NodeEvent, 0, len(h.Nodes)+len(add))
	i := 0
	for _, e := range add {
		for ; i < len(h.Nodes) && !h.Nodes[i].At.After(e.At); i++ {
			out = append(out, h.Nodes[i])
		}
		out = append(out, e)
	}
	h.Nodes = append(out, h.Nodes[i:]...)
	return true
}

// NodeEvents returns node's events of the hour in time order (a copy); every
// node's when node is "".
func (h *Hour) NodeEvents(node string) []NodeEvent {
	var out []NodeEvent
	for _, e := range h.Nodes {
		if node == "" || e.Node == node {
			out = append(out, e)
		}
	}
	return out
}

// mergeExtras merges o's owners and node events into h.
func (h *Hour) mergeExtras(o *Hour) bool {
	changed := false
	for _, ref := range sortedOwnerRefs(o) {
		changed = h.SetOwner(ref, o.Owners[ref]) || changed
	}
	changed = h.addNodeEvents(o.Nodes) || changed
	return h.mergeNodeLabels(o) || changed
}

// sortedOwnerRefs is the pods of h with an owner, in order, so that merges and
// encodings do not depend on map order.
func sortedOwnerRefs(h *Hour) []PodRef {
	refs := make([]PodRef, 0, len(h.Owners))
	for ref := range h.Owners {
		refs = append(refs, ref)
	}
	slices.SortFunc(refs, PodRef.compare)
	return refs
}

// Valid reports whether the owner can be stored (SetOwner keeps only those).
func (o Owner) Valid() bool { return validOwner(o) }

// validOwner: a kind is a Go-style type name (letters and digits, starting
// with a letter); a name is the printable ASCII of an object name without
// space or "/", so neither can break a line or a key.
func validOwner(o Owner) bool {
	if o.Kind == "" || len(o.Kind) > maxKindLen || o.Name == "" || len(o.Name) > maxKeyLen {
		return false
	}
	for i := 0; i < len(o.Kind); i++ {
		c := o.Kind[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	for i := 0; i < len(o.Name); i++ {
		if c := o.Name[i]; c <= ' ' || c >= 0x7f || c == '/' {
			return false
		}
	}
	return true
}

// validEvent: lower-case letters and "_", as the record package names events.
func validEvent(s string) bool {
	if s == "" || len(s) > maxEventLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

// cleanReason keeps a reason to one line of printable ASCII (anything else
// becomes "?"), without leading or trailing spaces, at most maxReasonLen bytes.
func cleanReason(s string) string {
	b := []byte(strings.TrimSpace(s))
	if len(b) > maxReasonLen {
		b = b[:maxReasonLen]
	}
	for i, c := range b {
		if c < ' ' || c >= 0x7f {
			b[i] = '?'
		}
	}
	return strings.TrimSpace(string(b))
}
