package history

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/pod-ashiato/ashiato/src/reschedule"
	"github.com/pod-ashiato/ashiato/src/store"
)

// DefaultIncidentWindow is how far around the instant an incident looks: node
// events from Window before to Window after, replacements up to Window after.
const DefaultIncidentWindow = 30 * time.Minute

// Incident answers "node X failed at T: what ran there, and where did it go?"
type Incident struct {
	Node string // the node asked about; "" for a node selector's incident
	// Selector and Nodes: the node selector asked about, and the nodes it
	// matched that failed (see InvestigateNodes); Nodes is [Node] otherwise.
	Selector  string
	Nodes     []string
	At        time.Time
	Window    time.Duration
	Timeline  []store.NodeEvent // the nodes' events within Window of At, in time order
	Pods      []IncidentPod     // every pod on the nodes at At, by namespace and name
	Workloads []Workload        // the owners of Pods, by namespace, kind and name (see workloads.go)
	Summary   IncidentSummary
}

// IncidentPod is one pod that was on the node at the incident, and where its
// workload ran next.
type IncidentPod struct {
	Pod         store.PodRef
	Node        string      // the node it was on at the instant
	Owner       store.Owner // zero for a bare pod, or an hour that kept no owner
	First, Last time.Time   // its stay on the node (zero when not known)
	// Next is the pod that took its place (Rescheduled), or for a node-bound
	// pod the one back on its node (NodeBoundBack); nil otherwise.
	Next    *Replacement
	Outcome Outcome
	// NodeBack is when its node was Ready again after the incident (zero
	// when it was not within the window).
	NodeBack time.Time
}

// Replacement is the pod that took a lost pod's place: of the same owner, or
// of the same name for a StatefulSet's or a bare pod, first seen After the
// incident's instant (or at it: the store keeps whole seconds).
type Replacement struct {
	Pod   store.PodRef
	Node  string
	First time.Time
	After time.Duration
}

// IncidentSummary counts the pods by outcome and how long the rescheduled
// took to come back. Stayed and the node-bound counts are outside
// Rescheduled, NotRescheduled and the times.
type IncidentSummary struct {
	Pods, Rescheduled, NotRescheduled int
	Stayed                            int // pods that never left their node (not node-bound)
	NodeBound                         int // node-bound pods, whatever became of them
	NodeBoundStayed, NodeBoundBack    int
	NodeBoundNotBack                  int
	Median, Slowest                   time.Duration // zero when nothing was rescheduled
}

// Investigate builds the incident of node at at from hours, which must cover
// [at-window, at+window] (and the hour before, as Reader.Read returns).
//
// The pods on the node are those `history node NODE --at T` shows. A pod's
// replacement is a placement first seen within [at, at+window] (at itself
// too: times are whole seconds, and a replacement can follow within one):
//   - for a StatefulSet's pod or a bare pod, the same namespace/name on
//     another node (its identity is its name);
//   - for any other owner, another pod of the same namespace and owner, on any
//     node, first seen there for the first time. The lost pods of an owner are
//     matched in name order with its new pods in order first seen; new pods
//     beyond the lost ones (a scale-up) are no replacement.
//
// "First seen" is the earliest first-seen time over every hour read, so a pod
// that merely stays across an hour's edge is not new. Placements whose times
// are not known (the original tool's) cannot be placed in time and replace
// nothing.
func Investigate(hours []*store.Hour, node string, at time.Time, window time.Duration) Incident {
	inc := InvestigateNodes(hours, []string{node}, at, window)
	inc.Node = node
	return inc
}

// InvestigateNodes is Investigate over several nodes at once (a zone, a
// pool): the pods on any of them at at, each with its replacement by the
// same rule, a replacement on one of the other nodes included; and the
// workloads they belong to (see Workloads).
func InvestigateNodes(hours []*store.Hour, nodes []string, at time.Time, window time.Duration) Incident {
	inc := Incident{Nodes: slices.Sorted(slices.Values(nodes)), At: at.UTC(), Window: window}
	inc.Nodes = slices.Compact(inc.Nodes)
	for _, h := range hours {
		for _, e := range h.NodeEvents("") {
			if _, ok := slices.BinarySearch(inc.Nodes, e.Node); ok && !e.At.Before(at.Add(-window)) && !e.At.After(at.Add(window)) {
				inc.Timeline = append(inc.Timeline, e)
			}
		}
	}
	slices.SortStableFunc(inc.Timeline, func(a, b store.NodeEvent) int { return a.At.Compare(b.At) })

	ix := indexHours(hours)
	lost := map[store.PodRef]string{} // pod -> the node it was lost on
	for _, node := range inc.Nodes {
		for _, row := range Node(hours, node, At(at)) {
			if _, ok := lost[row.Pod]; ok {
				continue
			}
			lost[row.Pod] = node
			stay := ix.stays[stayKey{row.Pod, node}]
			inc.Pods = append(inc.Pods, IncidentPod{Pod: row.Pod, Node: node, Owner: ix.owners[row.Pod], First: stay.first, Last: stay.last})
		}
	}
	slices.SortStableFunc(inc.Pods, func(a, b IncidentPod) int {
		return cmp.Or(strings.Compare(a.Pod.Namespace, b.Pod.Namespace), strings.Compare(a.Pod.Name, b.Pod.Name))
	})

	// Group the lost pods by what their replacement shares with them; a
	// node-bound pod comes back on its node only (see outcome.go).
	groups := map[string][]*IncidentPod{}
	for i := range inc.Pods {
		p := &inc.Pods[i]
		if reschedule.NodeBound(p.Owner.Kind) {
			continue
		}
		groups[workloadKey(p.Pod, p.Owner)] = append(groups[workloadKey(p.Pod, p.Owner)], p)
	}
	candidates := ix.newPods(at, at.Add(window), lost)
	for key, pods := range groups {
		next := candidates[key]
		for i, p := range pods { // inc.Pods is sorted by name, so each group is
			if i < len(next) {
				r := next[i]
				r.After = r.First.Sub(at)
				p.Next = &r
			}
		}
	}
	ix.outcomes(&inc)
	inc.Summary = summarize(inc.Pods)
	inc.Workloads = workloads(hours, ix, &inc)
	return inc
}

// workloadKey is what a pod shares with its replacement: its name for a
// StatefulSet's pod or a bare one, else its owner.
func workloadKey(ref store.PodRef, o store.Owner) string {
	return reschedule.Key(ref.Namespace, ref.Name, o.Kind, o.Name)
}

type stayKey struct {
	pod  store.PodRef
	node string
}

// stay is a pod's time on a node over every hour read: the earliest first
// and the latest last seen (zero when never known).
type stay struct {
	first, last time.Time
}

// hourIndex is every hour read, by pod and node.
type hourIndex struct {
	stays  map[stayKey]stay
	owners map[store.PodRef]store.Owner
	// arrivals is every placement that begins a stay: known times, and not
	// the continuation of the same stay across an hour's edge.
	arrivals []Replacement
}

func indexHours(hours []*store.Hour) hourIndex {
	ix := hourIndex{stays: map[stayKey]stay{}, owners: map[store.PodRef]store.Owner{}}
	index := byStart(hours)
	for _, h := range hours {
		prev := index[h.Start.Add(-time.Hour)]
		for ref, seen := range h.Pods {
			for _, s := range seen {
				if s.First.IsZero() {
					continue
				}
				if !continues(prev, ref, s) {
					ix.arrivals = append(ix.arrivals, Replacement{Pod: ref, Node: s.Node, First: s.First})
				}
				k := stayKey{ref, s.Node}
				st, ok := ix.stays[k]
				if !ok || s.First.Before(st.first) {
					st.first = s.First
				}
				if s.Last.After(st.last) {
					st.last = s.Last
				}
				ix.stays[k] = st
			}
		}
		for ref, o := range h.Owners {
			if _, ok := ix.owners[ref]; !ok {
				ix.owners[ref] = o
			}
		}
	}
	return ix
}

// newPods is, by workload key, the placements first seen within [from, to]
// that may replace a lost pod, each group in order first seen: a new pod's
// first placement anywhere (for an owner), or a lost StatefulSet's or bare
// pod's first arrival within the span on a node other than the one it was
// lost on (it may have run there before).
func (ix hourIndex) newPods(from, to time.Time, lost map[store.PodRef]string) map[string][]Replacement {
	within := func(t time.Time) bool { return !t.Before(from) && !t.After(to) }
	earliest := map[store.PodRef]Replacement{} // a pod's first placement anywhere
	for k, st := range ix.stays {
		r := Replacement{Pod: k.pod, Node: k.node, First: st.first}
		if e, ok := earliest[k.pod]; !ok || before(r, e) {
			earliest[k.pod] = r
		}
	}
	returned := map[store.PodRef]Replacement{} // a lost pod's first arrival elsewhere within the span
	for _, r := range ix.arrivals {
		if node, ok := lost[r.Pod]; ok && r.Node != node && within(r.First) {
			if e, ok := returned[r.Pod]; !ok || before(r, e) {
				returned[r.Pod] = r
			}
		}
	}
	out := map[string][]Replacement{}
	for ref, r := range earliest {
		if _, isLost := lost[ref]; isLost {
			continue
		}
		if o, ok := ix.owners[ref]; ok && !byName(o) && within(r.First) {
			key := workloadKey(ref, o)
			out[key] = append(out[key], r)
		}
	}
	for ref, r := range returned {
		if o := ix.owners[ref]; byName(o) {
			key := workloadKey(ref, o)
			out[key] = append(out[key], r)
		}
	}
	for _, rs := range out {
		slices.SortFunc(rs, func(a, b Replacement) int {
			if before(a, b) {
				return -1
			}
			if before(b, a) {
				return 1
			}
			return 0
		})
	}
	return out
}

// byName reports whether a pod of this owner is replaced under its own name:
// a StatefulSet's pod, or a bare pod (no owner).
func byName(o store.Owner) bool { return reschedule.ByName(o.Kind) }

// before orders replacements by first seen, then namespace, name and node.
func before(a, b Replacement) bool {
	return cmp.Or(a.First.Compare(b.First), strings.Compare(a.Pod.Namespace, b.Pod.Namespace),
		strings.Compare(a.Pod.Name, b.Pod.Name), strings.Compare(a.Node, b.Node)) < 0
}
