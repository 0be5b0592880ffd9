package history

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pod-ashiato/ashiato/src/store"
)

// Workload is one owner's share of an incident: its pods on the failed nodes
// at the instant against its pods anywhere then, and what became of them. A
// bare pod is a workload of its own.
type Workload struct {
	Namespace string
	Owner     store.Owner // zero for a bare pod
	Pod       string      // the bare pod; "" for an owner
	Lost      int         // its pods on the failed nodes at the instant
	Total     int         // its pods on any node at the instant (at least Lost)
	// Back counts its lost pods that were rescheduled, came back on their
	// node or stayed; AllBack is how long after the instant the last of them
	// was back (the replacement first seen, or its node Ready again).
	Back    int
	AllBack time.Duration
	// Outage: every pod it had at the instant was on the failed nodes, and
	// not all of them stayed. None ran from NoneFrom, the instant (or the
	// last of its nodes' loss, if later), to NoneUntil, when the first came
	// back (zero: none within the window).
	Outage              bool
	NoneFrom, NoneUntil time.Time
}

// Name is the owner as kind/name, or the bare pod's name.
func (w Workload) Name() string {
	if w.Owner.Kind == "" {
		return w.Pod
	}
	return w.Owner.Kind + "/" + w.Owner.Name
}

// Text is the workload as the table says it, for example "ReplicaSet/web: 2
// of 3 lost, all back after 3m0s".
func (w Workload) Text() string {
	var b strings.Builder
	b.WriteString(w.Name() + ": " + strconv.Itoa(w.Lost) + " of " + strconv.Itoa(w.Total) + " lost")
	switch {
	case w.Back == w.Lost:
		b.WriteString(", all back after " + w.AllBack.String())
	case w.Back == 0:
		b.WriteString(", none back within the window")
	default:
		b.WriteString(", " + strconv.Itoa(w.Back) + " back")
	}
	if w.Outage {
		b.WriteString("; OUTAGE: none ran from " + stampOf(w.NoneFrom))
		if w.NoneUntil.IsZero() {
			b.WriteString(" to the end of the window")
		} else {
			b.WriteString(" to " + stampOf(w.NoneUntil) + " (" + w.NoneUntil.Sub(w.NoneFrom).String() + ")")
		}
	}
	return b.String()
}

func stampOf(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// workloadOf is the workload a pod belongs to.
type workloadID struct {
	ns    string
	owner store.Owner
	pod   string // a bare pod's name
}

func workloadOf(ref store.PodRef, o store.Owner) workloadID {
	if o.Kind == "" {
		return workloadID{ns: ref.Namespace, pod: ref.Name}
	}
	return workloadID{ns: ref.Namespace, owner: o}
}

// workloads groups the incident's pods by owner and counts each owner's pods
// anywhere at the instant from the store (the pods `history pod` puts on a
// node then).
func workloads(hours []*store.Hour, ix hourIndex, inc *Incident) []Workload {
	byID := map[workloadID]*Workload{}
	lossOf := map[string]time.Time{} // node -> its loss after the instant, if it was lost later
	for _, e := range inc.Timeline {
		if _, ok := lossOf[e.Node]; !ok && isNodeLoss(e.Event) && e.At.After(inc.At) {
			lossOf[e.Node] = e.At
		}
	}
	for _, e := range inc.Timeline {
		if isNodeLoss(e.Event) && !e.At.After(inc.At) {
			lossOf[e.Node] = time.Time{} // lost at the instant already
		}
	}
	for _, p := range inc.Pods {
		id := workloadOf(p.Pod, p.Owner)
		w, ok := byID[id]
		if !ok {
			w = &Workload{Namespace: id.ns, Owner: id.owner, Pod: id.pod, NoneFrom: inc.At}
			byID[id] = w
		}
		w.Lost++
		if l := lossOf[p.Node]; l.After(w.NoneFrom) {
			w.NoneFrom = l
		}
		var back time.Time
		switch p.Outcome {
		case Rescheduled, NodeBoundBack:
			back = p.Next.First
		case Stayed, NodeBoundStayed:
			back = maxTime(inc.At, p.NodeBack)
		default:
			continue
		}
		w.Back++
		w.AllBack = max(w.AllBack, back.Sub(inc.At))
		if w.NoneUntil.IsZero() || back.Before(w.NoneUntil) {
			w.NoneUntil = back
		}
	}
	// Every pod of those owners anywhere at the instant.
	counted := map[store.PodRef]bool{}
	for _, h := range hours {
		for ref := range h.Pods {
			if counted[ref] {
				continue
			}
			counted[ref] = true
			if w, ok := byID[workloadOf(ref, ix.owners[ref])]; ok && len(Pod(hours, ref, At(inc.At))) > 0 {
				w.Total++
			}
		}
	}
	out := make([]Workload, 0, len(byID))
	for _, w := range byID {
		w.Total = max(w.Total, w.Lost)
		stayedAll := true
		for _, p := range inc.Pods {
			if workloadOf(p.Pod, p.Owner) == workloadOf(store.PodRef{Namespace: w.Namespace, Name: w.Pod}, w.Owner) && p.Outcome != Stayed && p.Outcome != NodeBoundStayed {
				stayedAll = false
			}
		}
		if w.Lost == w.Total && !stayedAll {
			w.Outage = true
			if w.NoneUntil.Before(w.NoneFrom) && !w.NoneUntil.IsZero() {
				w.NoneFrom = w.NoneUntil // back before its last node was lost
			}
		} else {
			w.NoneFrom, w.NoneUntil = time.Time{}, time.Time{}
		}
		out = append(out, *w)
	}
	slices.SortFunc(out, func(a, b Workload) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Owner.Kind, b.Owner.Kind),
			strings.Compare(a.Owner.Name, b.Owner.Name), strings.Compare(a.Pod, b.Pod))
	})
	return out
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
