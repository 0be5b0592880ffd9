package source

import (
	"encoding/binary"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pod-ashiato/ashiato/src/record"
)

// cachedPod is what Watch's informer cache holds for one pod: what FromPod
// reads of it, and its resourceVersion. Nothing else of the pod is kept.
//
// It is laid out for the bytes it costs, since a large cluster keeps one per
// pod for as long as the process runs (docs/benchmarks.md has the bytes per
// pod of this and of the layouts before it):
//   - the pod's own strings and times share one allocation, data, instead of
//     one allocation each (the allocator rounds every one up);
//   - what many pods share (node and host IP, owner, phase with the
//     conditions' types and statuses) is one interned value that each pod
//     points to, instead of a string header per field;
//   - the cache's key, namespace/name, is the start of data, so the cache
//     builds no key string of its own (see GetName).
//
// When FromPod reads a new field, add it here: TestTrimmer checks that a pod
// comes out of the cache exactly as FromPod makes it.
//
// It implements runtime.Object and metav1.Object only so that client-go's cache
// can key it and copy it. Metadata it does not keep reads as empty and ignores
// writes, as apimachinery's meta accessors do for objects that lack a field.
type cachedPod struct {
	unkeptMeta // zero size, first so that it adds no padding

	// data is namespace/name, uid, resourceVersion and pod IP end to end
	// (they end at ends[0..3]), then the start time and each condition's
	// last transition time, 8 bytes each (unixNano, little endian).
	data  string
	ends  [4]uint16
	place *podPlace // nil: not bound to a node
	owner *podOwner // nil: no owner
	state *podState // never nil once trimmed
}

// podPlace, podOwner and podState are shared by every pod with the same
// values (trimmer interns them); they are never changed once made.
type podPlace struct{ node, hostIP string }

type podOwner struct{ kind, name string }

type podState struct {
	phase      string
	conditions []conditionKind // the times are the pod's own, in data
}

type conditionKind struct{ typ, status string }

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

func (c *cachedPod) key() string             { return c.data[:c.ends[0]] }
func (c *cachedPod) namespace() string       { k := c.key(); return k[:strings.IndexByte(k, '/')] }
func (c *cachedPod) name() string            { k := c.key(); return k[strings.IndexByte(k, '/')+1:] }
func (c *cachedPod) uid() string             { return c.data[c.ends[0]:c.ends[1]] }
func (c *cachedPod) resourceVersion() string { return c.data[c.ends[1]:c.ends[2]] }
func (c *cachedPod) podIP() string           { return c.data[c.ends[2]:c.ends[3]] }

func (c *cachedPod) node() string {
	if c.place == nil {
		return ""
	}
	return c.place.node
}

func (c *cachedPod) hostIP() string {
	if c.place == nil {
		return ""
	}
	return c.place.hostIP
}

func (c *cachedPod) phase() string { return c.state.phase }

// time is the i-th time of data: 0 the start time, 1+k condition k's.
func (c *cachedPod) time(i int) time.Time {
	at := int(c.ends[3]) + 8*i
	return unixNano(binary.LittleEndian.Uint64([]byte(c.data[at : at+8]))).time()
}

// record is the placement to send; it shares nothing mutable with the cache.
func (c *cachedPod) record(seen time.Time, event record.Event) record.Placement {
	p := record.Placement{
		Namespace: c.namespace(), Pod: c.name(), UID: c.uid(),
		Node: c.node(), PodIP: c.podIP(), HostIP: c.hostIP(), Phase: c.phase(),
		StartTime: c.time(0),
		Timestamp: seen.UTC(), Event: event,
	}
	if c.owner != nil {
		p.OwnerKind, p.OwnerName = c.owner.kind, c.owner.name
	}
	if conds := c.state.conditions; len(conds) > 0 {
		p.Conditions = make([]record.Condition, len(conds))
		for i, k := range conds {
			p.Conditions[i] = record.Condition{Type: k.typ, Status: k.status, LastTransitionTime: c.time(1 + i)}
		}
	}
	return p
}

// packPod lays out a cachedPod's data. ok is false when the strings are too
// long for ends, which the API server's validation of names and its own
// uids and resourceVersions never allows.
func packPod(key, uid, resourceVersion, podIP string, times []unixNano) (data string, ends [4]uint16, ok bool) {
	n := len(key) + len(uid) + len(resourceVersion) + len(podIP)
	if n > 1<<16-1 {
		return "", ends, false
	}
	b := make([]byte, 0, n+8*len(times))
	for i, s := range []string{key, uid, resourceVersion, podIP} {
		b = append(b, s...)
		ends[i] = uint16(len(b))
	}
	for _, t := range times {
		b = binary.LittleEndian.AppendUint64(b, uint64(t))
	}
	return string(b), ends, true
}

// repack replaces one of the strings of data, for the setters.
func (c *cachedPod) repack(key, uid, resourceVersion, podIP string) {
	times := make([]unixNano, 1+len(c.state.conditions))
	for i := range times {
		times[i] = toUnixNano(c.time(i))
	}
	if data, ends, ok := packPod(key, uid, resourceVersion, podIP, times); ok {
		c.data, c.ends = data, ends
	}
}

// GetObjectKind implements runtime.Object. The cache never needs the kind.
func (c *cachedPod) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject implements runtime.Object. Nothing a cachedPod holds is ever
// changed in place, so the copy shares it.
func (c *cachedPod) DeepCopyObject() runtime.Object {
	cp := *c
	return &cp
}

// GetNamespace and GetName present the pod to client-go's cache as an object
// without a namespace whose name is namespace/name. The cache's key function
// (cache.MetaNamespaceKeyFunc) then returns the same key as for the pod, but
// as the name itself, a part of data, instead of a new string joined for every
// pod. Nothing in the informer reads the namespace for anything else (no
// namespace index is set); our code reads namespace() and name().
func (c *cachedPod) GetNamespace() string { return "" }
func (c *cachedPod) GetName() string      { return c.key() }

// SetNamespace and SetName change the pod's namespace and name.
func (c *cachedPod) SetNamespace(namespace string) {
	c.repack(namespace+"/"+c.name(), c.uid(), c.resourceVersion(), c.podIP())
}
func (c *cachedPod) SetName(name string) {
	c.repack(c.namespace()+"/"+name, c.uid(), c.resourceVersion(), c.podIP())
}
func (c *cachedPod) GetUID() types.UID { return types.UID(c.uid()) }
func (c *cachedPod) SetUID(uid types.UID) {
	c.repack(c.key(), string(uid), c.resourceVersion(), c.podIP())
}
func (c *cachedPod) GetResourceVersion() string { return c.resourceVersion() }
func (c *cachedPod) SetResourceVersion(version string) {
	c.repack(c.key(), c.uid(), version, c.podIP())
}

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
