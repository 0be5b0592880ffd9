// Package source is the first stage of the pipeline: it reads pods from the API
// server and sends one record.Placement per pod downstream.
//
// Every source has the same contract, so that the list-based source and the
// watch-based one are interchangeable without touching the stages after them.
package source

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pod-ashiato/ashiato/src/record"
)

// Source produces placements until it is done or ctx ends, then closes out.
// It returns nil when ctx ends: stopping is not a failure, and what was already
// sent is still drained by the stages downstream.
type Source interface {
	Run(ctx context.Context, out chan<- record.Placement) error
}

// Selection is the part of the user's filter the API server applies, so that
// pods that are not wanted never cross the network.
type Selection struct {
	Namespace     string // "" is every namespace
	LabelSelector string
	FieldSelector string // e.g. spec.nodeName=n1,metadata.namespace!=kube-system
}

// apply puts the selectors on one LIST or WATCH request.
func (s Selection) apply(opts *metav1.ListOptions) {
	opts.LabelSelector, opts.FieldSelector = s.LabelSelector, s.FieldSelector
}

// FromPod turns a pod into the placement record. It copies what it needs, so the
// record never shares memory with the pod (which may belong to a cache).
func FromPod(pod *corev1.Pod, seen time.Time, event record.Event) record.Placement {
	p := record.Placement{
		Namespace: pod.Namespace,
		Pod:       pod.Name,
		UID:       string(pod.UID),
		Node:      pod.Spec.NodeName,
		PodIP:     pod.Status.PodIP,
		HostIP:    pod.Status.HostIP,
		Phase:     string(pod.Status.Phase),
		Timestamp: seen.UTC(),
		Event:     event,
	}
	if owner := ownerOf(pod); owner != nil {
		p.OwnerKind, p.OwnerName = owner.Kind, owner.Name
	}
	if pod.Status.StartTime != nil {
		p.StartTime = pod.Status.StartTime.UTC()
	}
	if n := len(pod.Status.Conditions); n > 0 {
		p.Conditions = make([]record.Condition, n)
		for i, c := range pod.Status.Conditions {
			p.Conditions[i] = record.Condition{Type: string(c.Type), Status: string(c.Status), LastTransitionTime: c.LastTransitionTime.UTC()}
		}
	}
	return p
}

// ownerOf is the controlling owner, else the first owner, else nil.
func ownerOf(pod *corev1.Pod) *metav1.OwnerReference {
	if c := metav1.GetControllerOf(pod); c != nil {
		return c
	}
	if len(pod.OwnerReferences) > 0 {
		return &pod.OwnerReferences[0]
	}
	return nil
}
