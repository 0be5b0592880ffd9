package source

import (
	"maps"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pod-ashiato/ashiato/src/record"
)

// cachedNode is what the Nodes informer's cache holds for one node: the state
// its lifecycle records are made of, and nothing else. A real Node is 10 to
// 30 KiB (images, labels, annotations, managedFields); this is a few hundred
// bytes (see docs/benchmarks.md for the measurement at 5,000 nodes).
//
// Like cachedPod, it implements runtime.Object and metav1.Object only so that
// client-go's cache can key and copy it.
type cachedNode struct {
	unkeptMeta

	name, uid, resourceVersion string
	ready                      string // the Ready condition's status: True, False, Unknown; "" without one
	readyReason                string
	unschedulable              bool
	noExecute                  []string          // the NoExecute taints as key[=value]:NoExecute, sorted
	labels                     map[string]string // the labels of the allow-list (nodelabels.go); nil without any
}

// normalNode is the state a healthy node is in: the initial listing reports
// only how a node differs from it.
var normalNode = &cachedNode{ready: string(corev1.ConditionTrue)}

// changes is what changed from old to c, as node lifecycle events with their
// reasons, in a fixed order: readiness, cordon, taints removed, taints added.
func (c *cachedNode) changes(old *cachedNode) []record.Placement {
	var out []record.Placement
	add := func(e record.Event, reason string) {
		out = append(out, record.Placement{Node: c.name, Event: e, Reason: reason, NodeLabels: c.labels})
	}
	if c.ready != old.ready && c.ready != "" {
		switch corev1.ConditionStatus(c.ready) {
		case corev1.ConditionTrue:
			add(record.EventNodeReady, c.readyReason)
		case corev1.ConditionFalse:
			add(record.EventNodeNotReady, c.readyReason)
		default:
			add(record.EventNodeUnknown, c.readyReason)
		}
	}
	if c.unschedulable != old.unschedulable {
		if c.unschedulable {
			add(record.EventNodeCordoned, "spec.unschedulable")
		} else {
			add(record.EventNodeUncordoned, "spec.unschedulable")
		}
	}
	for _, t := range old.noExecute {
		if !slices.Contains(c.noExecute, t) {
			add(record.EventNodeUntainted, t)
		}
	}
	for _, t := range c.noExecute {
		if !slices.Contains(old.noExecute, t) {
			add(record.EventNodeTainted, t)
		}
	}
	return out
}

func (c *cachedNode) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

func (c *cachedNode) DeepCopyObject() runtime.Object {
	cp := *c
	cp.noExecute = slices.Clone(c.noExecute)
	cp.labels = maps.Clone(c.labels)
	return &cp
}

func (c *cachedNode) GetNamespace() string              { return "" }
func (c *cachedNode) SetNamespace(string)               {}
func (c *cachedNode) GetName() string                   { return c.name }
func (c *cachedNode) SetName(name string)               { c.name = name }
func (c *cachedNode) GetUID() types.UID                 { return types.UID(c.uid) }
func (c *cachedNode) SetUID(uid types.UID)              { c.uid = string(uid) }
func (c *cachedNode) GetResourceVersion() string        { return c.resourceVersion }
func (c *cachedNode) SetResourceVersion(version string) { c.resourceVersion = version }

var (
	_ runtime.Object = (*cachedNode)(nil)
	_ metav1.Object  = (*cachedNode)(nil)
)

// nodeTrimmer is the Nodes informer's transform. Reasons and taints repeat
// across nodes, so it shares one copy of each.
type nodeTrimmer struct {
	mu      sync.Mutex
	strings map[string]string
	labels  []string // the node labels to keep (Nodes.Labels)
}

func newNodeTrimmer() *nodeTrimmer { return &nodeTrimmer{strings: make(map[string]string)} }

// transform implements cache.TransformFunc; anything but a *corev1.Node
// passes unchanged.
func (t *nodeTrimmer) transform(obj any) (any, error) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	c := &cachedNode{
		name: node.Name, uid: string(node.UID), resourceVersion: node.ResourceVersion,
		unschedulable: node.Spec.Unschedulable,
	}
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			c.ready, c.readyReason = t.intern(string(cond.Status)), t.intern(cond.Reason)
		}
	}
	for _, taint := range node.Spec.Taints {
		if taint.Effect == corev1.TaintEffectNoExecute {
			c.noExecute = append(c.noExecute, t.intern(taintString(taint)))
		}
	}
	slices.Sort(c.noExecute)
	c.noExecute = slices.Compact(c.noExecute)
	c.labels = t.keepLabels(node.Labels)
	return c, nil
}

// taintString is key[=value]:effect, as kubectl taint writes it.
func taintString(t corev1.Taint) string {
	s := t.Key
	if t.Value != "" {
		s += "=" + t.Value
	}
	return s + ":" + string(t.Effect)
}

// intern returns the table's copy of s. Callers hold t.mu.
func (t *nodeTrimmer) intern(s string) string {
	if s == "" {
		return s
	}
	if shared, ok := t.strings[s]; ok {
		return shared
	}
	if len(t.strings) >= maxInterned {
		clear(t.strings)
	}
	s = string([]byte(s)) // the table's copy depends on no decoded buffer
	t.strings[s] = s
	return s
}
