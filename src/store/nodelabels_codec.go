package store

import (
	"maps"
	"slices"
	"strings"

	"github.com/pod-ashiato/ashiato/src/storeio"
)

// appendNodeLabelLines appends the node labels of h, one line per node in
// name order: "<node><sep><key>=<value>[,<key>=<value>...]\n", keys in
// order. Neither a key nor a value has "=", "," or a space.
func appendNodeLabelLines(b []byte, h *Hour, sep byte) []byte {
	for _, node := range slices.Sorted(maps.Keys(h.NodeLabels)) {
		labels := h.NodeLabels[node]
		b = append(b, node...)
		b = append(b, sep)
		for i, k := range slices.Sorted(maps.Keys(labels)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, k...)
			b = append(b, '=')
			b = append(b, labels[k]...)
		}
		b = append(b, '\n')
	}
	return b
}

// nodeLabelExtras decodes an object's node labels, in either form, into local.
func (d *decoder) nodeLabelExtras(cm *storeio.Shard, local *Hour) {
	if text, ok := cm.Data[KeyNodeLabels]; ok {
		d.nodeLabelLines(cm.Name, KeyNodeLabels, text, " ", local)
	}
	if gz, ok := cm.BinaryData[KeyNodeLabelsPacked]; ok {
		d.nodeLabelLines(cm.Name, KeyNodeLabelsPacked, string(d.gunzip(cm.Name, KeyNodeLabelsPacked, gz)), "\t", local)
	}
}

// nodeLabelLines reads the lines appendNodeLabelLines writes.
func (d *decoder) nodeLabelLines(object, key, text, sep string, local *Hour) {
	w := d.valueWarnings(object, key)
	defer w.done()
	for line := range strings.SplitSeq(text, "\n") {
		if line == "" {
			continue
		}
		node, pairs, ok := strings.Cut(line, sep)
		if !ok || !validName(node) {
			w.add("line %q: want a node name and its labels; skipped", line)
			continue
		}
		labels := map[string]string{}
		bad := false
		for pair := range strings.SplitSeq(pairs, ",") {
			k, v, ok := strings.Cut(pair, "=")
			if !ok || !validLabelKey(k) || !validLabelValue(v) {
				bad = true
				break
			}
			labels[k] = v
		}
		if bad || len(labels) > MaxNodeLabels {
			w.add("line %q: not key=value label pairs; skipped", line)
			continue
		}
		local.SetNodeLabels(node, labels)
	}
}
