package view

import (
	"fmt"
	"time"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/timeline"
)

// Incident is the chart of `history incident`: the node's state band, and a
// lane for each pod that was on the node at the instant, with its time on the
// node and, drawn faint, its replacement on the node where it came back
// (linked, where links are made). The axis is the incident's window either
// side of the instant, which is marked.
func Incident(hours []*store.Hour, inc history.Incident, links *Links) timeline.Chart {
	from, to := inc.At.Add(-inc.Window), inc.At.Add(inc.Window)
	axis := history.Window{Since: from, Until: to}
	s := inc.Summary
	where, title := "the node", "Incident on node "+inc.Node
	if inc.Node == "" {
		where, title = fmt.Sprintf("%d nodes", len(inc.Nodes)), "Incident on nodes "+inc.Selector
	}
	sub := fmt.Sprintf("%d pods on %s at %s: %d rescheduled, %d not", s.Pods, where, inc.At.UTC().Format(time.RFC3339), s.Rescheduled, s.NotRescheduled)
	if s.Stayed > 0 {
		sub += fmt.Sprintf(", %d stayed", s.Stayed)
	}
	if s.NodeBound > 0 {
		sub += fmt.Sprintf(", %d node-bound", s.NodeBound)
	}
	if s.Rescheduled > 0 {
		sub += fmt.Sprintf("; median %s, slowest %s to reschedule", s.Median, s.Slowest)
	}
	c := timeline.Chart{
		Title: title, Subtitle: sub, From: from, To: to, GroupNoun: "pods",
		FaintNote: "replacement",
		Bands:     Bands(hours, inc.Nodes, from, to, links),
		Marks:     []timeline.Mark{{At: inc.At, Label: "incident " + inc.At.UTC().Format("15:04:05")}},
	}
	for _, p := range inc.Pods {
		lane := timeline.Lane{Label: p.Pod.String(), Link: links.pod(p.Pod), Group: groupOf(hours, p.Pod)}
		node := p.Node
		if node == "" {
			node = inc.Node
		}
		for _, st := range stretches(history.Pod(hours, p.Pod, axis)) {
			if st.node != node {
				continue
			}
			b := st.bar(false)
			if r := p.Next; r != nil && r.Pod == p.Pod && r.Node != node && !st.last.After(r.First) {
				b.To = r.Node // the same pod, back on another node
			}
			lane.Bars = append(lane.Bars, b)
		}
		if r := p.Next; r != nil {
			lane.Bars = append(lane.Bars, replacementBar(hours, p.Pod, *r, axis, links))
		}
		if p.Outcome != history.Rescheduled && p.Outcome != history.NotRescheduled && p.Outcome != "" && len(lane.Bars) > 0 {
			lane.Bars[len(lane.Bars)-1].Tip = p.Pod.String() + ": " + p.Text()
		}
		c.Lanes = append(c.Lanes, lane)
	}
	clipTails(c.Lanes)
	return c
}

// replacementBar is r's time on its node from when it was first seen there,
// as far as the axis goes.
func replacementBar(hours []*store.Hour, lost store.PodRef, r history.Replacement, axis history.Window, links *Links) timeline.Bar {
	end := r.First.Add(time.Minute)
	for _, st := range stretches(history.Pod(hours, r.Pod, axis)) {
		if st.node == r.Node && !st.last.Before(r.First) && !st.first.After(r.First.Add(store.LastSeenStep)) {
			end = maxTime(end, st.last)
			break
		}
	}
	what := r.Pod.Name + " on " + r.Node
	if r.Pod == lost {
		what = "back on " + r.Node
	}
	return timeline.Bar{
		Start: r.First, End: end, Faint: true, Link: links.pod(r.Pod),
		Label: what + " (+" + r.After.String() + ")",
		Tip:   lost.String() + " replaced by " + r.Pod.String() + " on " + r.Node + ", first seen " + clock(r.First) + ", " + r.After.String() + " after the incident",
	}
}
