package history

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/pod-ashiato/ashiato/src/store"
)

// DefaultIncidentWindow is how far around the instant an incident looks: node
// events from Window before to Window after, replacements up to Window after.
const DefaultIncidentWindow = 30 * time.Minute

// Incident answers "node X failed at T: what ran there, and where did it go?"
type Incident struct {
	Node     string
	At       time.Time
	Window   time.Duration
	Timeline []store.NodeEvent // the node's events within Window of At, in time order
	Pods     []IncidentPod     // every pod on the node at At, by namespace and name
	Summary  IncidentSummary
}

// IncidentPod is one pod that was on the node at the incident, and where its
// workload ran next.
type IncidentPod struct {
	Pod         store.PodRef
	Owner       store.Owner // zero for a bare pod, or an hour that kept no owner
	First, Last time.Time   // its stay on the node (zero when not known)
	Next        *Replacement
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

// IncidentSummary counts the pods and how long they took to come back.
type IncidentSummary struct {
	Pods, Rescheduled, NotRescheduled int
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
	inc := Incident{Node: node, At: at.UTC(), Window: window}
	for _, h := range hours {
		for _, e := range h.NodeEvents(node) {
			if !e.At.Before(at.Add(-window)) && !e.At.After(at.Add(window)) {
				inc.Timeline = append(inc.Timeline, e)
			}
		}
	}
	slices.SortStableFunc(inc.Timeline, func(a, b store.NodeEvent) int { return a.At.Compare(b.At) })

	ix := indexHours(hours)
	lost := map[store.PodRef]bool{}
	for _, row := range Node(hours, node, At(at)) {
		if lost[row.Pod] {
			continue
		}
		lost[row.Pod] = true
		stay := ix.stays[stayKey{row.Pod, node}]
		inc.Pods = append(inc.Pods, IncidentPod{Pod: row.Pod, Owner: ix.owners[row.Pod], First: stay.first, Last: stay.last})
	}

	// Group the lost pods by what their replacement shares with them.
	groups := map[string][]*IncidentPod{}
	for i := range inc.Pods {
		p := &inc.Pods[i]
		groups[workloadKey(p.Pod, p.Owner)] = append(groups[workloadKey(p.Pod, p.Owner)], p)
	}
	candidates := ix.newPods(at, at.Add(window), node, lost)
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

	var delays []time.Duration
	for _, p := range inc.Pods {
		if p.Next != nil {
			delays = append(delays, p.Next.After)
		}
	}
	slices.Sort(delays)
	inc.Summary = IncidentSummary{Pods: len(inc.Pods), Rescheduled: len(delays), NotRescheduled: len(inc.Pods) - len(delays)}
	if n := len(delays); n > 0 {
		inc.Summary.Median = (delays[(n-1)/2] + delays[n/2]) / 2
		inc.Summary.Slowest = delays[n-1]
	}
	return inc
}

// workloadKey is what a pod shares with its replacement: its name for a
// StatefulSet's pod or a bare one, else its owner.
func workloadKey(ref store.PodRef, o store.Owner) string {
	if byName(o) {
		return "pod\x00" + ref.Namespace + "\x00" + ref.Name
	}
	return "owner\x00" + ref.Namespace + "\x00" + o.Kind + "\x00" + o.Name
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
// pod's first arrival within the span on a node other than lostNode (it may
// have run there before).
func (ix hourIndex) newPods(from, to time.Time, lostNode string, lost map[store.PodRef]bool) map[string][]Replacement {
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
		if lost[r.Pod] && r.Node != lostNode && within(r.First) {
			if e, ok := returned[r.Pod]; !ok || before(r, e) {
				returned[r.Pod] = r
			}
		}
	}
	out := map[string][]Replacement{}
	for ref, r := range earliest {
		if o, ok := ix.owners[ref]; ok && !byName(o) && !lost[ref] && within(r.First) {
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
func byName(o store.Owner) bool { return o.Kind == "" || o.Kind == "StatefulSet" }

// before orders replacements by first seen, then namespace, name and node.
func before(a, b Replacement) bool {
	return cmp.Or(a.First.Compare(b.First), strings.Compare(a.Pod.Namespace, b.Pod.Namespace),
		strings.Compare(a.Pod.Name, b.Pod.Name), strings.Compare(a.Node, b.Node)) < 0
}
