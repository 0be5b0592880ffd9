package history

import (
	"slices"
	"time"

	"github.com/pod-ashiato/ashiato/src/store"
)

// NodeLabels is every node's labels as the hours recorded them (the
// recorder's allow-list): for each node, the labels of the earliest hour
// that has them.
func NodeLabels(hours []*store.Hour) map[string]map[string]string {
	sorted := slices.Clone(hours)
	slices.SortFunc(sorted, func(a, b *store.Hour) int { return a.Start.Compare(b.Start) })
	out := map[string]map[string]string{}
	for _, h := range sorted {
		for node, labels := range h.NodeLabels {
			if _, ok := out[node]; !ok {
				out[node] = labels
			}
		}
	}
	return out
}

// FailedNodes is the nodes whose labels match and that went NotReady or
// Unknown, or were deleted, within [from, to], in name order. A node whose
// labels were never recorded matches nothing (but an empty selector, which
// match says of every label set).
func FailedNodes(hours []*store.Hour, match func(labels map[string]string) bool, from, to time.Time) []string {
	labels := NodeLabels(hours)
	failed := map[string]bool{}
	for _, h := range hours {
		for _, e := range h.Nodes {
			if isNodeLoss(e.Event) && !e.At.Before(from) && !e.At.After(to) && match(labels[e.Node]) {
				failed[e.Node] = true
			}
		}
	}
	out := make([]string, 0, len(failed))
	for n := range failed {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
