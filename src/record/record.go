// Package record defines Placement, the value that flows between the stages of
// the Pod Ashiato pipeline. It is a leaf: it imports nothing of ours, so every
// stage can depend on it without depending on any other stage.
package record

import "time"

// Event says why a placement was recorded.
type Event string

const (
	// EventSnapshot is a pod seen in a full listing (every --interval, and --oneshot).
	EventSnapshot Event = "snapshot"
	// EventScheduled is a pod seen bound to a node for the first time.
	EventScheduled Event = "scheduled"
	// EventUpdated is a change of a bound pod's IPs or phase.
	EventUpdated Event = "updated"
	// EventMoved is a pod (same namespace and name) seen on another node than before.
	EventMoved Event = "moved"
	// EventDeleted is a pod that left the API server; its last placement is kept.
	EventDeleted Event = "deleted"
)

// Condition is one entry of the pod's status.conditions, in the original tool's form.
type Condition struct {
	Type               string    `json:"type"`
	Status             string    `json:"status"`
	LastTransitionTime time.Time `json:"last_transition_time"`
}

// Placement is where one pod was, as observed at Timestamp. It is a plain value:
// stages copy it freely and never share pointers into an informer cache.
type Placement struct {
	Namespace    string
	Pod          string
	UID          string
	Node         string
	PodIP        string
	HostIP       string
	Phase        string
	OwnerKind    string
	OwnerName    string
	StartTime    time.Time // zero when the kubelet has not started the pod
	Conditions   []Condition
	Timestamp    time.Time // when Pod Ashiato observed the pod, UTC
	Event        Event
	PreviousNode string // set on EventMoved
}

// Key is the pod's namespace/name, the identity history is kept under (a
// StatefulSet pod keeps its name across UIDs and nodes).
func (p Placement) Key() string { return p.Namespace + "/" + p.Pod }
