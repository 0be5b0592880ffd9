package history

import (
	"slices"
	"time"

	"github.com/pod-ashiato/ashiato/src/reschedule"
	"github.com/pod-ashiato/ashiato/src/store"
)

// Outcome is what became of a pod that was on a failed node at the instant.
type Outcome string

const (
	// Rescheduled: another pod took its place (Next), on another node.
	Rescheduled Outcome = "rescheduled"
	// NotRescheduled: nothing took its place within the window, and it did
	// not stay on its node through the node's return.
	NotRescheduled Outcome = "not_rescheduled"
	// Stayed: it never left the node: still there when the node was Ready
	// again (the node came back before the pod was evicted, as it does
	// within the default 300 s toleration), and nothing replaced it.
	Stayed Outcome = "stayed"
	// NodeBoundStayed, NodeBoundBack and NodeBoundNotBack are a node-bound
	// pod's (a DaemonSet's, or a mirror pod): it stayed; it was replaced on
	// the same node (Next); or it was not back on the node within the window.
	NodeBoundStayed  Outcome = "node_bound_stayed"
	NodeBoundBack    Outcome = "node_bound_back"
	NodeBoundNotBack Outcome = "node_bound_not_back"
)

// Text is the outcome as the table and the pictures say it.
func (p IncidentPod) Text() string {
	switch p.Outcome {
	case Rescheduled:
		return "rescheduled after " + p.Next.After.String()
	case Stayed:
		return "stayed"
	case NodeBoundStayed:
		return "node-bound: stayed"
	case NodeBoundBack:
		return "node-bound: back on the node after " + p.Next.After.String()
	case NodeBoundNotBack:
		if p.NodeBack.IsZero() {
			return "node-bound: the node did not come back within the window"
		}
		return "node-bound: not back on the node within the window"
	}
	return "never came back"
}

// isNodeLoss says whether a node event takes the node's pods out of service.
func isNodeLoss(event string) bool {
	return event == "node_not_ready" || event == "node_unknown" || event == "node_deleted"
}

// nodeBack is when node was Ready again after the incident: its first
// node_ready (or node_added, a node created again) after its loss, within
// the window. The loss is its last node_not_ready, node_unknown or
// node_deleted at or before at, else its first after at; a node without one
// was never lost (lost false) and back is at. back is zero when the node did
// not come back by to.
func nodeBack(timeline []store.NodeEvent, node string, at, to time.Time) (back time.Time, lost bool) {
	loss := -1
	for i, e := range timeline {
		if e.Node != node || !isNodeLoss(e.Event) {
			continue
		}
		if e.At.After(at) && loss >= 0 {
			break
		}
		loss = i
		if e.At.After(at) {
			break
		}
	}
	if loss < 0 {
		return at, false
	}
	for _, e := range timeline[loss+1:] { // in time order, a second's events as recorded
		if e.Node == node && (e.Event == "node_ready" || e.Event == "node_added") && !e.At.After(to) {
			return e.At, true
		}
	}
	return time.Time{}, true
}

// outcomes sets each pod's Outcome, and a node-bound pod's Next when it was
// replaced on its node. Replacements are matched first (Investigate), so a
// pod that lingered on its node (Terminating, unreachable) while its
// replacement ran elsewhere is rescheduled; one that nothing replaced and
// that was still on its node when the node was Ready again stayed.
func (ix hourIndex) outcomes(inc *Incident) {
	to := inc.At.Add(inc.Window)
	back, wasLost := map[string]time.Time{}, map[string]bool{}
	for _, n := range inc.Nodes {
		back[n], wasLost[n] = nodeBack(inc.Timeline, n, inc.At, to)
	}
	// A node-bound pod's replacement: a new pod of its owner first seen on
	// its node within the window, or the pod itself arriving there again.
	within := func(t time.Time) bool { return !t.Before(inc.At) && !t.After(to) }
	lost := map[store.PodRef]bool{}
	for _, p := range inc.Pods {
		lost[p.Pod] = true
	}
	// The new pods of node-bound owners, by node and owner: a pod's first
	// placement anywhere, when it is within the window.
	type nodeOwner struct {
		node  string
		ns    string
		owner store.Owner
	}
	earliest := map[store.PodRef]Replacement{}
	for k, st := range ix.stays {
		if !reschedule.NodeBound(ix.owners[k.pod].Kind) || lost[k.pod] {
			continue
		}
		r := Replacement{Pod: k.pod, Node: k.node, First: st.first}
		if e, ok := earliest[k.pod]; !ok || before(r, e) {
			earliest[k.pod] = r
		}
	}
	again := map[store.PodRef][]Replacement{} // the lost node-bound pods' arrivals
	for _, r := range ix.arrivals {
		if lost[r.Pod] && reschedule.NodeBound(ix.owners[r.Pod].Kind) && within(r.First) {
			again[r.Pod] = append(again[r.Pod], r)
		}
	}
	bound := map[nodeOwner][]Replacement{}
	for ref, r := range earliest {
		if within(r.First) {
			k := nodeOwner{r.Node, ref.Namespace, ix.owners[ref]}
			bound[k] = append(bound[k], r)
		}
	}
	taken := map[store.PodRef]bool{}
	for i := range inc.Pods {
		p := &inc.Pods[i]
		if wasLost[p.Node] {
			p.NodeBack = back[p.Node]
		}
		stayed := !back[p.Node].IsZero() && !p.Last.IsZero() && !p.Last.Before(back[p.Node])
		switch {
		case !reschedule.NodeBound(p.Owner.Kind) && p.Next != nil:
			p.Outcome = Rescheduled
		case !reschedule.NodeBound(p.Owner.Kind) && stayed:
			p.Outcome = Stayed
		case !reschedule.NodeBound(p.Owner.Kind):
			p.Outcome = NotRescheduled
		default:
			var next *Replacement
			for _, r := range again[p.Pod] { // the pod itself, again on its node
				if r.Node == p.Node && r.First.After(p.First) && (next == nil || before(r, *next)) {
					next = &r
				}
			}
			for _, r := range bound[nodeOwner{p.Node, p.Pod.Namespace, p.Owner}] { // a new pod of its owner on its node
				if !taken[r.Pod] && (next == nil || before(r, *next)) {
					next = &r
				}
			}
			switch {
			case next != nil:
				taken[next.Pod] = true
				next.After = next.First.Sub(inc.At)
				p.Next, p.Outcome = next, NodeBoundBack
			case stayed:
				p.Outcome = NodeBoundStayed
			default:
				p.Outcome = NodeBoundNotBack
			}
		}
	}
}

// summarize counts the pods by outcome; the median and slowest times are
// those of the rescheduled.
func summarize(pods []IncidentPod) IncidentSummary {
	s := IncidentSummary{Pods: len(pods)}
	var delays []time.Duration
	for _, p := range pods {
		switch p.Outcome {
		case Rescheduled:
			s.Rescheduled++
			delays = append(delays, p.Next.After)
		case NotRescheduled:
			s.NotRescheduled++
		case Stayed:
			s.Stayed++
		case NodeBoundStayed:
			s.NodeBound++
			s.NodeBoundStayed++
		case NodeBoundBack:
			s.NodeBound++
			s.NodeBoundBack++
		case NodeBoundNotBack:
			s.NodeBound++
			s.NodeBoundNotBack++
		}
	}
	slices.Sort(delays)
	if n := len(delays); n > 0 {
		s.Median = (delays[(n-1)/2] + delays[n/2]) / 2
		s.Slowest = delays[n-1]
	}
	return s
}
