// Package view turns the history's answers into timeline charts: a node's
// pods, one pod's nodes, with moves and node state bands. It is shared by
// `history -o svg` and `ashiato serve`, and draws nothing itself (package
// timeline does).
package view

import (
	"slices"
	"time"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/timeline"
)

// instantMargin is how much time a chart of one instant shows on either side
// of it, at least.
const instantMargin = 15 * time.Minute

// Links makes the URLs a chart's labels lead to; nil fields (or a nil Links)
// link nothing, as in the SVG the CLI writes.
type Links struct {
	Pod  func(store.PodRef) string
	Node func(node string) string
}

func (l *Links) pod(ref store.PodRef) string {
	if l == nil || l.Pod == nil {
		return ""
	}
	return l.Pod(ref)
}

func (l *Links) node(node string) string {
	if l == nil || l.Node == nil {
		return ""
	}
	return l.Node(node)
}

// Node is the chart of `history node`: one lane per pod of rows (the answer
// of history.Node, filtered), with a bar for each stretch on the node, marked
// where the pod came from or went to another node within hours, under the
// node's state band when its lifecycle is stored.
func Node(hours []*store.Hour, node string, w history.Window, rows []history.Row, links *Links) timeline.Chart {
	c := timeline.Chart{Title: "Pods on node " + node, Subtitle: windowText(w), GroupNoun: "pods"}
	var lane *timeline.Lane
	var last store.PodRef
	for _, s := range stretches(rows) {
		if lane == nil || s.pod != last {
			c.Lanes = append(c.Lanes, timeline.Lane{Label: s.pod.String(), Link: links.pod(s.pod), Group: groupOf(hours, s.pod)})
			lane, last = &c.Lanes[len(c.Lanes)-1], s.pod
		}
		b := s.bar(false)
		b.From, b.To = neighbours(history.Pod(hours, s.pod, history.Window{Since: hoursStart(hours), Until: hoursEnd(hours)}), s)
		lane.Bars = append(lane.Bars, b)
	}
	clipTails(c.Lanes)
	c.From, c.To = extent(w, c.Lanes)
	c.Bands = Bands(hours, []string{node}, c.From, c.To, links)
	addInstant(&c, w)
	return c
}

// maxPodBands is the most nodes whose state a pod's chart shows.
const maxPodBands = 6

// Pod is the chart of `history pod`: one lane, a bar for each stretch on a
// node, labelled with the node, and a move mark wherever the node changes;
// above it the state bands of its nodes (the first few) where stored.
func Pod(hours []*store.Hour, ref store.PodRef, w history.Window, rows []history.Row, links *Links) timeline.Chart {
	c := timeline.Chart{Title: "Pod " + ref.String(), Subtitle: windowText(w), GroupNoun: "pods"}
	all := stretches(rows)
	var nodes []string
	for _, s := range all {
		if !slices.Contains(nodes, s.node) && len(nodes) < maxPodBands {
			nodes = append(nodes, s.node)
		}
	}
	if len(all) > 0 {
		lane := timeline.Lane{Label: ref.String(), Link: links.pod(ref), Group: groupOf(hours, ref)}
		for i, s := range all {
			b := s.bar(true)
			b.Link = links.node(s.node)
			if i > 0 && all[i-1].node != s.node {
				b.From = all[i-1].node
			}
			if i+1 < len(all) && all[i+1].node != s.node {
				b.To = all[i+1].node
			}
			lane.Bars = append(lane.Bars, b)
		}
		c.Lanes = []timeline.Lane{lane}
	}
	clipTails(c.Lanes)
	c.From, c.To = extent(w, c.Lanes)
	c.Bands = Bands(hours, nodes, c.From, c.To, links)
	addInstant(&c, w)
	return c
}

// clipTails keeps each bar's pale tail short of the lane's next bar.
func clipTails(lanes []timeline.Lane) {
	for _, l := range lanes {
		for i := range l.Bars {
			for j := range l.Bars {
				if next := l.Bars[j].Start; j != i && next.After(l.Bars[i].End) && l.Bars[i].Maybe.After(next) {
					l.Bars[i].Maybe = next
				}
			}
		}
	}
}

// groupOf is the colour group of a pod: its controlling owner where the store
// kept one (the first hour that has it), else its namespace.
func groupOf(hours []*store.Hour, ref store.PodRef) string {
	for _, h := range hours {
		if o, ok := h.Owner(ref); ok {
			return o.Kind + " " + ref.Namespace + "/" + o.Name
		}
	}
	return ref.Namespace
}

// stretch is a pod's continuous time on one node: consecutive rows of the
// same pod and node whose times touch (within a LastSeenStep) are one.
type stretch struct {
	pod         store.PodRef
	node        string
	first, last time.Time
	unknown     bool // the hour is all that is known (original tool's rows)
}

// stretches joins rows, which are sorted by pod and then time, into stretches.
func stretches(rows []history.Row) []stretch {
	var out []stretch
	for _, r := range rows {
		s := stretch{pod: r.Pod, node: r.Node, first: r.First, last: r.Last}
		if r.First.IsZero() {
			s.first, s.last, s.unknown = r.Hour, r.Hour.Add(time.Hour), true
		}
		if n := len(out); n > 0 {
			prev := &out[n-1]
			if prev.pod == s.pod && prev.node == s.node && !s.first.After(prev.last.Add(store.LastSeenStep)) {
				prev.last = maxTime(prev.last, s.last)
				prev.unknown = prev.unknown || s.unknown
				continue
			}
		}
		out = append(out, s)
	}
	return out
}

func (s stretch) bar(label bool) timeline.Bar {
	b := timeline.Bar{Start: s.first, End: s.last}
	if !s.unknown {
		b.Maybe = s.last.Add(store.LastSeenStep)
	}
	if label {
		b.Label = s.node
	}
	b.Tip = s.pod.String() + " on " + s.node + ": first seen " + clock(s.first) + ", last seen " + clock(s.last) + " (±5m)"
	if s.unknown {
		b.Tip = s.pod.String() + " on " + s.node + " within the hour from " + clock(s.first) + " (times not recorded)"
	}
	return b
}

// neighbours is the node the pod was on just before s, and the one just
// after, when those differ from s's node.
func neighbours(rows []history.Row, s stretch) (from, to string) {
	var before, after *history.Row
	for i := range rows {
		r := &rows[i]
		if r.Node == s.node || r.First.IsZero() {
			continue
		}
		if !r.Last.After(s.first) && (before == nil || r.Last.After(before.Last)) {
			before = r
		}
		if !r.First.Before(s.last) && (after == nil || r.First.Before(after.First)) {
			after = r
		}
	}
	if before != nil {
		from = before.Node
	}
	if after != nil {
		to = after.Node
	}
	return from, to
}

// extent is the chart's time axis: the window, or for an instant the
// instant with a margin either side, widened to the bars, in whole 5 minutes.
func extent(w history.Window, lanes []timeline.Lane) (from, to time.Time) {
	if !w.Since.Equal(w.Until) {
		return w.Since, w.Until
	}
	from, to = w.Since.Add(-instantMargin), w.Until.Add(instantMargin)
	for _, l := range lanes {
		for _, b := range l.Bars {
			from, to = minTime(from, b.Start), maxTime(to, b.End)
		}
	}
	const round = 5 * time.Minute
	from = from.Truncate(round)
	if t := to.Truncate(round); t.Before(to) {
		to = t.Add(round)
	}
	return from, to
}

// addInstant marks the instant of an --at window.
func addInstant(c *timeline.Chart, w history.Window) {
	if w.Since.Equal(w.Until) {
		c.Marks = append(c.Marks, timeline.Mark{At: w.Since, Label: "at " + clock(w.Since)})
	}
}

func windowText(w history.Window) string {
	if w.Since.Equal(w.Until) {
		return "at " + w.Since.UTC().Format(time.RFC3339)
	}
	return "from " + w.Since.UTC().Format(time.RFC3339) + " to " + w.Until.UTC().Format(time.RFC3339)
}

func clock(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

func hoursStart(hours []*store.Hour) time.Time {
	if len(hours) == 0 {
		return time.Time{}
	}
	return hours[0].Start
}

func hoursEnd(hours []*store.Hour) time.Time {
	if len(hours) == 0 {
		return time.Time{}
	}
	return hours[len(hours)-1].Start.Add(time.Hour - time.Second)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
