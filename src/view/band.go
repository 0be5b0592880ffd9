package view

import (
	"maps"
	"slices"
	"time"

	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/timeline"
)

// NodeChange is one lifecycle change of a node as the recorder stores it:
// Event is one of the node_* events (node_ready, node_not_ready,
// node_unknown, node_cordoned, node_uncordoned, node_tainted,
// node_untainted, node_added, node_deleted) and Reason what the cluster gave.
type NodeChange struct {
	At     time.Time
	Event  string
	Reason string
}

// NodeChanges is node's lifecycle changes stored in hours, oldest first.
func NodeChanges(hours []*store.Hour, node string) []NodeChange {
	var out []NodeChange
	for _, h := range hours {
		for _, e := range h.NodeEvents(node) {
			out = append(out, NodeChange{At: e.At, Event: e.Event, Reason: e.Reason})
		}
	}
	return out
}

// Bands is the state band of each node, over the chart's axis, for the nodes
// that have a lifecycle change stored in hours (a node without one has
// nothing to draw: the recorder stores changes only).
func Bands(hours []*store.Hour, nodes []string, from, to time.Time, links *Links) []timeline.Band {
	var out []timeline.Band
	for _, n := range nodes {
		if changes := NodeChanges(hours, n); len(changes) > 0 {
			out = append(out, Band(n, changes, from, to, links.node(n)))
		}
	}
	return out
}

// Band is a node's state band over [from, to] from its changes, oldest first.
// The Ready condition holds from one change to the next; before the first
// change the state is not known and nothing is drawn, except that an
// uncordon or untaint says the node was cordoned or tainted until then.
func Band(node string, changes []NodeChange, from, to time.Time, link string) timeline.Band {
	b := timeline.Band{Label: node, Link: link}
	changes = slices.Clone(changes)
	slices.SortStableFunc(changes, func(a, b NodeChange) int { return a.At.Compare(b.At) })

	type open struct {
		state timeline.State
		since time.Time
		tip   string
	}
	var cond *open
	cordon := &open{state: timeline.Cordoned, since: from, tip: "cordoned (since before this window)"}
	cordoned := false // whether the cordon track is known to be open
	cordonKnown := false
	taints := map[string]time.Time{} // open NoExecute taints: when added
	taintsBefore := map[string]bool{}
	end := func(o *open, at time.Time) {
		if o != nil && at.After(o.since) {
			b.Spans = append(b.Spans, timeline.Span{Start: o.since, End: at, State: o.state, Tip: o.tip + " until " + clock(at)})
		}
	}
	for _, c := range changes {
		if c.At.After(to) {
			break
		}
		at := maxTime(c.At, from)
		tip := func(s string) string {
			if c.Reason != "" {
				s += " (" + c.Reason + ")"
			}
			return node + " " + s + " from " + clock(c.At)
		}
		switch c.Event {
		case "node_ready", "node_not_ready", "node_unknown", "node_deleted":
			end(cond, at)
			state := map[string]timeline.State{"node_ready": timeline.Ready, "node_not_ready": timeline.NotReady, "node_unknown": timeline.Unknown, "node_deleted": timeline.Deleted}[c.Event]
			cond = &open{state: state, since: at, tip: tip(string(state))}
		case "node_added":
			end(cond, at)
			cond = nil
		case "node_cordoned":
			if !cordonKnown || !cordoned {
				cordon = &open{state: timeline.Cordoned, since: at, tip: tip("cordoned")}
			}
			cordoned, cordonKnown = true, true
		case "node_uncordoned":
			if cordoned || !cordonKnown {
				end(cordon, at)
			}
			cordoned, cordonKnown = false, true
		case "node_tainted":
			if _, ok := taints[c.Reason]; !ok {
				taints[c.Reason] = at
			}
		case "node_untainted":
			since, ok := taints[c.Reason]
			if !ok && !taintsBefore[c.Reason] {
				since, ok = from, true
			}
			if ok {
				end(&open{state: timeline.Tainted, since: since, tip: node + " tainted " + c.Reason + " from " + clock(since)}, at)
			}
			delete(taints, c.Reason)
			taintsBefore[c.Reason] = true
		}
	}
	end(cond, to)
	if cordoned {
		end(cordon, to)
	}
	for _, reason := range slices.Sorted(maps.Keys(taints)) {
		since := taints[reason]
		end(&open{state: timeline.Tainted, since: since, tip: node + " tainted " + reason + " from " + clock(since)}, to)
	}
	slices.SortStableFunc(b.Spans, func(x, y timeline.Span) int { return x.Start.Compare(y.Start) })
	return b
}
