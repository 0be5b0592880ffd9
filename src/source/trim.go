package source

import (
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// maxInterned bounds each of the trimmer's tables of shared values. Node names
// come and go with autoscaling and owner names with every rollout; when a
// table is full it starts over, which costs sharing, never correctness.
const maxInterned = 1 << 16

// trimmer is the informer's transform: it turns each *corev1.Pod into a
// cachedPod before the pod enters the cache, so the full pod (spec, labels,
// annotations, managedFields, container statuses) is garbage as soon as it is
// decoded.
//
// It also interns what many pods share (node and host IP, owner, phase with
// the conditions' types and statuses): the decoder allocates every string of
// every pod anew, and each pod then holds one pointer per shared value
// instead of its own copies.
type trimmer struct {
	mu       sync.Mutex
	places   map[podPlace]*podPlace
	owners   map[podOwner]*podOwner
	statuses map[string]*podState // by statusKey
	keyBuf   []byte               // statusKey's buffer, so a lookup allocates nothing
}

func newTrimmer() *trimmer {
	return &trimmer{places: map[podPlace]*podPlace{}, owners: map[podOwner]*podOwner{}, statuses: map[string]*podState{}}
}

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
	times := make([]unixNano, 1+len(p.Conditions))
	times[0] = toUnixNano(p.StartTime)
	kinds := make([]conditionKind, len(p.Conditions))
	for i, cond := range p.Conditions {
		times[1+i] = toUnixNano(cond.LastTransitionTime)
		kinds[i] = conditionKind{typ: cond.Type, status: cond.Status}
	}
	data, ends, ok := packPod(p.Namespace+"/"+p.Pod, p.UID, pod.ResourceVersion, p.PodIP, times)
	if !ok {
		return nil, fmt.Errorf("pod %s/%s: name, uid and resourceVersion longer than the API server allows", p.Namespace, p.Pod)
	}
	c := &cachedPod{data: data, ends: ends}

	t.mu.Lock()
	defer t.mu.Unlock()
	if p.Node != "" || p.HostIP != "" {
		c.place = intern(t.places, podPlace{node: p.Node, hostIP: p.HostIP})
	}
	if p.OwnerKind != "" || p.OwnerName != "" {
		c.owner = intern(t.owners, podOwner{kind: p.OwnerKind, name: p.OwnerName})
	}
	t.keyBuf = statusKey(t.keyBuf[:0], p.Phase, kinds)
	if c.state = t.statuses[string(t.keyBuf)]; c.state == nil {
		if len(t.statuses) >= maxInterned {
			clear(t.statuses)
		}
		c.state = &podState{phase: strings.Clone(p.Phase), conditions: kinds}
		for i := range kinds {
			kinds[i] = conditionKind{typ: strings.Clone(kinds[i].typ), status: strings.Clone(kinds[i].status)}
		}
		t.statuses[string(t.keyBuf)] = c.state
	}
	return c, nil
}

// intern returns the table's copy of v, adding it (with strings that depend
// on no decoded buffer) when new. Callers hold t.mu.
func intern[T podPlace | podOwner](table map[T]*T, v T) *T {
	if shared, ok := table[v]; ok {
		return shared
	}
	if len(table) >= maxInterned {
		clear(table)
	}
	switch x := any(&v).(type) {
	case *podPlace:
		x.node, x.hostIP = strings.Clone(x.node), strings.Clone(x.hostIP)
	case *podOwner:
		x.kind, x.name = strings.Clone(x.kind), strings.Clone(x.name)
	}
	table[v] = &v
	return &v
}

// statusKey appends what identifies a phase and its conditions' types and
// statuses to b; the separators cannot occur in them.
func statusKey(b []byte, phase string, kinds []conditionKind) []byte {
	b = append(b, phase...)
	for _, k := range kinds {
		b = append(b, 0)
		b = append(b, k.typ...)
		b = append(b, 1)
		b = append(b, k.status...)
	}
	return b
}
