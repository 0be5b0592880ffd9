package source

import (
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pod-ashiato/ashiato/src/record"
)

// cachedPod is what Watch's informer cache holds for one pod: what FromPod
// reads of it, and its resourceVersion. Nothing else of the pod is kept.
//
// It is not a trimmed *corev1.Pod because the corev1.Pod struct is large
// however many of its fields are empty, and so is each PodCondition; nor a
// record.Placement, whose own fields and time.Time values cost more than this
// layout, which keeps times as int64 (docs/benchmarks.md has the bytes per
// pod of each).
//
// When FromPod reads a new field, add it here: TestTrimmer checks that a pod
// comes out of the cache exactly as FromPod makes it.
//
// It implements runtime.Object and metav1.Object only so that client-go's cache
// can key it (namespace/name) and copy it. Metadata it does not keep reads as
// empty and ignores writes, as apimachinery's meta accessors do for objects
// that lack a field.
type cachedPod struct {
	unkeptMeta // zero size, first so that it adds no padding

	namespace, name, uid, resourceVersion string
	node, podIP, hostIP, phase            string
	ownerKind, ownerName                  string
	startTime                             unixNano
	conditions                            []cachedCondition
}

type cachedCondition struct {
	typ, status    string
	lastTransition unixNano
}

// unixNano is a time in 8 bytes instead of time.Time's 24; the zero time is 0.
// Kubernetes timestamps lie well within its range (years 1678 to 2262).
type unixNano int64

func toUnixNano(t time.Time) unixNano {
	if t.IsZero() {
		return 0
	}
	return unixNano(t.UnixNano())
}

// time is the UTC time, as FromPod gives it.
func (n unixNano) time() time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n)).UTC()
}

func (c *cachedPod) key() string { return c.namespace + "/" + c.name }

// record is the placement to send; it shares nothing mutable with the cache.
func (c *cachedPod) record(seen time.Time, event record.Event) record.Placement {
	p := record.Placement{
		Namespace: c.namespace, Pod: c.name, UID: c.uid,
		Node: c.node, PodIP: c.podIP, HostIP: c.hostIP, Phase: c.phase,
		OwnerKind: c.ownerKind, OwnerName: c.ownerName,
		StartTime: c.startTime.time(),
		Timestamp: seen.UTC(), Event: event,
	}
	if len(c.conditions) > 0 {
		p.Conditions = make([]record.Condition, len(c.conditions))
		for i, cond := range c.conditions {
			p.Conditions[i] = record.Condition{Type: cond.typ, Status: cond.status, LastTransitionTime: cond.lastTransition.time()}
		}
	}
	return p
}

// GetObjectKind implements runtime.Object. The cache never needs the kind.
func (c *cachedPod) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject implements runtime.Object.
func (c *cachedPod) DeepCopyObject() runtime.Object {
	cp := *c
	cp.conditions = slices.Clone(c.conditions)
	return &cp
}

func (c *cachedPod) GetNamespace() string              { return c.namespace }
func (c *cachedPod) SetNamespace(namespace string)     { c.namespace = namespace }
func (c *cachedPod) GetName() string                   { return c.name }
func (c *cachedPod) SetName(name string)               { c.name = name }
func (c *cachedPod) GetUID() types.UID                 { return types.UID(c.uid) }
func (c *cachedPod) SetUID(uid types.UID)              { c.uid = string(uid) }
func (c *cachedPod) GetResourceVersion() string        { return c.resourceVersion }
func (c *cachedPod) SetResourceVersion(version string) { c.resourceVersion = version }

var (
	_ runtime.Object = (*cachedPod)(nil)
	_ metav1.Object  = (*cachedPod)(nil)
)

// unkeptMeta is the part of metav1.Object that a cachedPod does not keep.
type unkeptMeta struct{}

func (unkeptMeta) GetGenerateName() string                       { return "" }
func (unkeptMeta) SetGenerateName(string)                        {}
func (unkeptMeta) GetGeneration() int64                          { return 0 }
func (unkeptMeta) SetGeneration(int64)                           {}
func (unkeptMeta) GetSelfLink() string                           { return "" }
func (unkeptMeta) SetSelfLink(string)                            {}
func (unkeptMeta) GetCreationTimestamp() metav1.Time             { return metav1.Time{} }
func (unkeptMeta) SetCreationTimestamp(metav1.Time)              {}
func (unkeptMeta) GetDeletionTimestamp() *metav1.Time            { return nil }
func (unkeptMeta) SetDeletionTimestamp(*metav1.Time)             {}
func (unkeptMeta) GetDeletionGracePeriodSeconds() *int64         { return nil }
func (unkeptMeta) SetDeletionGracePeriodSeconds(*int64)          {}
func (unkeptMeta) GetLabels() map[string]string                  { return nil }
func (unkeptMeta) SetLabels(map[string]string)                   {}
func (unkeptMeta) GetAnnotations() map[string]string             { return nil }
func (unkeptMeta) SetAnnotations(map[string]string)              {}
func (unkeptMeta) GetFinalizers() []string                       { return nil }
func (unkeptMeta) SetFinalizers([]string)                        {}
func (unkeptMeta) GetOwnerReferences() []metav1.OwnerReference   { return nil }
func (unkeptMeta) SetOwnerReferences([]metav1.OwnerReference)    {}
func (unkeptMeta) GetManagedFields() []metav1.ManagedFieldsEntry { return nil }
func (unkeptMeta) SetManagedFields([]metav1.ManagedFieldsEntry)  {}

// maxInterned bounds the trimmer's table of shared strings. Node names come and
// go with autoscaling and owner names with every rollout; when the table is
// full it starts over, which costs sharing, never correctness.
const maxInterned = 1 << 16

// trimmer is the informer's transform: it turns each *corev1.Pod into a
// cachedPod before the pod enters the cache, so the full pod (spec, labels,
// annotations, managedFields, container statuses) is garbage as soon as it is
// decoded.
//
// It also interns the strings that many pods share (namespace, node, host IP,
// phase, owner, condition types and statuses): the decoder allocates every
// string of every pod anew, and one copy per distinct value saves about 200
// bytes a pod.
type trimmer struct {
	mu      sync.Mutex
	strings map[string]string
}

func newTrimmer() *trimmer { return &trimmer{strings: make(map[string]string)} }

// transform implements cache.TransformFunc. Anything but a *corev1.Pod passes
// unchanged: with the streaming initial list client-go transforms each object
// twice (into its temporary store, then again into the cache), so the second
// call sees a cachedPod.
func (t *trimmer) transform(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	p := FromPod(pod, time.Time{}, "") // the owner and conditions as the records have them

	t.mu.Lock()
	defer t.mu.Unlock()
	c := &cachedPod{
		namespace: t.intern(p.Namespace), name: p.Pod, uid: p.UID, resourceVersion: pod.ResourceVersion,
		node: t.intern(p.Node), podIP: p.PodIP, hostIP: t.intern(p.HostIP), phase: t.intern(p.Phase),
		ownerKind: t.intern(p.OwnerKind), ownerName: t.intern(p.OwnerName),
		startTime: toUnixNano(p.StartTime),
	}
	if len(p.Conditions) > 0 {
		c.conditions = make([]cachedCondition, len(p.Conditions))
		for i, cond := range p.Conditions {
			c.conditions[i] = cachedCondition{typ: t.intern(cond.Type), status: t.intern(cond.Status), lastTransition: toUnixNano(cond.LastTransitionTime)}
		}
	}
	return c, nil
}

// intern returns the table's copy of s. Callers hold t.mu.
func (t *trimmer) intern(s string) string {
	if s == "" {
		return s
	}
	if shared, ok := t.strings[s]; ok {
		return shared
	}
	if len(t.strings) >= maxInterned {
		clear(t.strings)
	}
	s = strings.Clone(s) // the table's copy depends on no decoded buffer
	t.strings[s] = s
	return s
}
