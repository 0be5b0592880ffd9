package source

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pod-ashiato/ashiato/src/record"
)

// TestNodeRecordsCarryAllowListedLabels: only the allow-list's labels are
// kept, and every record of the node carries them.
func TestNodeRecordsCarryAllowListedLabels(t *testing.T) {
	tr := newNodeTrimmer()
	tr.labels = DefaultNodeLabels
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "z1-a", Labels: map[string]string{
			"topology.kubernetes.io/zone": "zone-1", "kubernetes.io/hostname": "z1-a", "eks.amazonaws.com/nodegroup": "pool-a",
		}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown"}}},
	}
	obj, _ := tr.transform(node)
	c := obj.(*cachedNode)
	want := map[string]string{"topology.kubernetes.io/zone": "zone-1", "eks.amazonaws.com/nodegroup": "pool-a"}
	if !reflect.DeepEqual(c.labels, want) {
		t.Errorf("kept %v, want %v", c.labels, want)
	}
	recs := c.changes(normalNode)
	if len(recs) != 1 || recs[0].Event != record.EventNodeUnknown || !reflect.DeepEqual(recs[0].NodeLabels, want) {
		t.Errorf("records %+v", recs)
	}
	tr.labels = nil
	obj, _ = tr.transform(node)
	if obj.(*cachedNode).labels != nil {
		t.Error("an empty allow-list keeps labels")
	}
}
