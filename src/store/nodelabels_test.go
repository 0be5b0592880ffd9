package store

import (
	"reflect"
	"testing"
)

func labelledHour() *Hour {
	h := incidentHour()
	h.SetNodeLabels("node-a", map[string]string{"topology.kubernetes.io/zone": "eu-west-1a", "node.kubernetes.io/instance-type": "m5.large"})
	h.SetNodeLabels("node-b", map[string]string{"topology.kubernetes.io/zone": "eu-west-1b", "bad key": "x", "ok": "not valid!"})
	return h
}

func TestNodeLabelsLayout(t *testing.T) {
	t.Parallel()
	plain := roundTrip(t, labelledHour(), 0)
	want := "node-a node.kubernetes.io/instance-type=m5.large,topology.kubernetes.io/zone=eu-west-1a\n" +
		"node-b topology.kubernetes.io/zone=eu-west-1b\n"
	if got := plain[0].Data[KeyNodeLabels]; got != want {
		t.Errorf("plain %s:\n%q\nwant\n%q", KeyNodeLabels, got, want)
	}
	packed := roundTrip(t, labelledHour(), 2)
	if got := gunzipString(t, packed[0].BinaryData[KeyNodeLabelsPacked]); got != "node-a\tnode.kubernetes.io/instance-type=m5.large,topology.kubernetes.io/zone=eu-west-1a\nnode-b\ttopology.kubernetes.io/zone=eu-west-1b\n" {
		t.Errorf("packed %s: %q", KeyNodeLabelsPacked, got)
	}
	if _, ok := packed[1].BinaryData[KeyNodeLabelsPacked]; ok {
		t.Error("node labels in shard 1: they belong to shard 0")
	}
	// An hour without labels is written as before: no key at all.
	if _, ok := roundTrip(t, incidentHour(), 0)[0].Data[KeyNodeLabels]; ok {
		t.Error("an hour without node labels has the key")
	}
}

func TestNodeLabelsDecodeAndMerge(t *testing.T) {
	t.Parallel()
	cms, err := Encode(labelledHour(), 0)
	if err != nil {
		t.Fatal(err)
	}
	h, _, warnings := Decode(t.Context(), testHour, values(cms))
	if len(warnings) > 0 {
		t.Fatal(warnings)
	}
	if got := h.NodeLabelsOf("node-a")["topology.kubernetes.io/zone"]; got != "eu-west-1a" {
		t.Errorf("node-a's zone %q", got)
	}
	// The first labels recorded win, whatever the order of the merge.
	other := NewHour(testHour)
	other.SetNodeLabels("node-a", map[string]string{"topology.kubernetes.io/zone": "elsewhere"})
	other.SetNodeLabels("node-z", map[string]string{"topology.kubernetes.io/zone": "eu-west-1c"})
	if !h.Merge(other) || h.NodeLabelsOf("node-a")["topology.kubernetes.io/zone"] != "eu-west-1a" || h.NodeLabelsOf("node-z") == nil {
		t.Errorf("merged: %v", h.NodeLabels)
	}
	// A damaged line is a warning; the rest is read.
	vals := values(cms)
	vals[0].Data[KeyNodeLabels] = "node-a zone=a,b\nnode-b topology.kubernetes.io/zone=x\n"
	h, _, warnings = Decode(t.Context(), testHour, vals)
	if len(warnings) != 1 || h.NodeLabelsOf("node-a") != nil || !reflect.DeepEqual(h.NodeLabelsOf("node-b"), map[string]string{"topology.kubernetes.io/zone": "x"}) {
		t.Errorf("warnings %v, labels %v", warnings, h.NodeLabels)
	}
}
