package store

import (
	"maps"
	"slices"
	"strings"
)

// The keys of an hour's node labels (see the package documentation, "Node
// labels").
const (
	KeyNodeLabels       = "ashiato.nodelabels"
	KeyNodeLabelsPacked = "nodelabels.gz"
)

// Limits of the node labels an hour keeps.
const (
	// MaxLabelledNodes bounds the nodes with labels in an hour, as
	// MaxNodeEvents bounds the events: only nodes with a lifecycle record in
	// the hour have labels, and a runaway cannot outgrow shard 0.
	MaxLabelledNodes = 20_000
	// MaxNodeLabels bounds the labels kept of one node: the recorder keeps
	// an allow-list of a few (zone, region, instance type, node pool).
	MaxNodeLabels = 16
	maxLabelValue = 63
)

// SetNodeLabels records node's labels (those of the recorder's allow-list)
// and reports whether the hour changed. A node keeps the first labels
// recorded for it within the hour, so merging in any order gives the same
// hour; pairs that are not a valid label key and value are dropped, and at
// most MaxNodeLabels are kept (the first keys in order). A node with no
// valid label, or beyond MaxLabelledNodes, is not recorded.
func (h *Hour) SetNodeLabels(node string, labels map[string]string) bool {
	if _, ok := h.NodeLabels[node]; ok || !validName(node) || len(h.NodeLabels) >= MaxLabelledNodes {
		return false
	}
	kept := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if len(kept) < MaxNodeLabels && validLabelKey(k) && validLabelValue(labels[k]) {
			kept[k] = labels[k]
		}
	}
	if len(kept) == 0 {
		return false
	}
	if h.NodeLabels == nil {
		h.NodeLabels = map[string]map[string]string{}
	}
	h.NodeLabels[node] = kept
	return true
}

// NodeLabelsOf returns node's labels recorded in the hour (nil when none).
func (h *Hour) NodeLabelsOf(node string) map[string]string { return h.NodeLabels[node] }

// mergeNodeLabels merges o's node labels into h.
func (h *Hour) mergeNodeLabels(o *Hour) bool {
	changed := false
	for _, node := range slices.Sorted(maps.Keys(o.NodeLabels)) {
		changed = h.SetNodeLabels(node, o.NodeLabels[node]) || changed
	}
	return changed
}

// validLabelKey: [prefix/]name, as Kubernetes allows (a DNS subdomain
// prefix; a name of at most 63 alphanumerics, "-", "_" and ".", starting and
// ending alphanumeric). Nothing in it can break a line or a pair.
func validLabelKey(k string) bool {
	prefix, name, ok := strings.Cut(k, "/")
	if !ok {
		prefix, name = "", k
	} else if !validName(prefix) {
		return false
	}
	return name != "" && validLabelValue(name)
}

// validLabelValue: at most 63 alphanumerics, "-", "_" and ".", starting and
// ending alphanumeric; or empty.
func validLabelValue(v string) bool {
	if len(v) > maxLabelValue {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && ((c != '-' && c != '_' && c != '.') || i == 0 || i == len(v)-1) {
			return false
		}
	}
	return true
}
