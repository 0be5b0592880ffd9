package timeline

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// grouped returns the lanes to draw: c.Lanes when they fit, else one lane per
// group (in order of first appearance) whose bars are the union of its pods'
// bars, labelled with the count. When even the groups do not fit, the last
// lane stands for all the groups that do not.
func grouped(c Chart) (lanes []Lane, wasGrouped bool) {
	limit := c.MaxLanes
	if limit <= 0 {
		limit = DefaultMaxLanes
	}
	if len(c.Lanes) <= limit {
		return c.Lanes, false
	}
	noun := c.GroupNoun
	if noun == "" {
		noun = "pods"
	}
	var order []string
	members := map[string][]Lane{}
	for _, l := range c.Lanes {
		if _, ok := members[l.Group]; !ok {
			order = append(order, l.Group)
		}
		members[l.Group] = append(members[l.Group], l)
	}
	var rest []Lane
	if len(order) > limit {
		for _, g := range order[limit-1:] {
			rest = append(rest, members[g]...)
		}
		order = order[:limit-1]
	}
	for _, g := range order {
		lanes = append(lanes, merge(g, fmt.Sprintf("%s (%d %s)", g, len(members[g]), noun), members[g]))
	}
	if rest != nil {
		label := fmt.Sprintf("%d more groups (%d %s)", countGroups(rest), len(rest), noun)
		lanes = append(lanes, merge("", label, rest))
	}
	return lanes, true
}

func countGroups(lanes []Lane) int {
	seen := map[string]bool{}
	for _, l := range lanes {
		seen[l.Group] = true
	}
	return len(seen)
}

// merge is one lane covering every bar of lanes: overlapping or touching bars
// become one, and a merged bar keeps a move mark if any of its parts had one.
func merge(group, label string, lanes []Lane) Lane {
	var bars []Bar
	for _, l := range lanes {
		bars = append(bars, l.Bars...)
	}
	slices.SortStableFunc(bars, func(a, b Bar) int { return cmp.Or(a.Start.Compare(b.Start), a.End.Compare(b.End)) })
	var out []Bar
	for _, b := range bars {
		part := Bar{Start: b.Start, End: b.End, From: b.From, To: b.To, Faint: b.Faint, Maybe: b.Maybe}
		if n := len(out); n > 0 && !b.Start.After(out[n-1].End) && b.Faint == out[n-1].Faint {
			last := &out[n-1]
			last.End = maxTime(last.End, b.End)
			last.Maybe = maxTime(last.Maybe, b.Maybe)
			last.From = cmp.Or(last.From, b.From)
			last.To = cmp.Or(b.To, last.To)
			continue
		}
		out = append(out, part)
	}
	for i := range out {
		out[i].Tip = label + ": " + out[i].Start.UTC().Format(time.RFC3339) + " – " + out[i].End.UTC().Format(time.RFC3339)
	}
	return Lane{Label: label, Group: group, Bars: out}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
