// Package record defines Placement, the value that flows between the stages of
// the Pod Ashiato pipeline: a pod's placement, or a node's lifecycle change. It is a leaf: it imports nothing of ours, so every
// stage can depend on it without depending on any other stage.
package record

import (
	"strings"
	"time"
)

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
	// EventSeen is not about one pod: it says that every pod of Namespace
	// (every namespace when empty) that the source sent and has not reported
	// gone is still where it was at Timestamp. Only a watch can say so, as it
	// hears of every pod that leaves; it replaces re-sending each unchanged
	// pod for the store. It is always StoreOnly and carries nothing else.
	EventSeen Event = "seen"
)

// Node lifecycle events. A record with one of these is about a node, not a
// pod: Node, Event, Timestamp and Reason are set and the pod fields are empty.
const (
	// EventNodeReady, EventNodeNotReady and EventNodeUnknown are the node's
	// Ready condition turning True, False or Unknown (Unknown is what the node
	// lifecycle controller sets when the kubelet's heartbeats stop).
	EventNodeReady    Event = "node_ready"
	EventNodeNotReady Event = "node_not_ready"
	EventNodeUnknown  Event = "node_unknown"
	// EventNodeCordoned and EventNodeUncordoned are spec.unschedulable set and cleared.
	EventNodeCordoned   Event = "node_cordoned"
	EventNodeUncordoned Event = "node_uncordoned"
	// EventNodeTainted and EventNodeUntainted are a NoExecute taint added and
	// removed; Reason is the taint, key[=value]:NoExecute.
	EventNodeTainted   Event = "node_tainted"
	EventNodeUntainted Event = "node_untainted"
	// EventNodeAdded and EventNodeDeleted are the Node object created and deleted.
	EventNodeAdded   Event = "node_added"
	EventNodeDeleted Event = "node_deleted"
)

// IsNode reports whether e is a node lifecycle event.
func (e Event) IsNode() bool { return strings.HasPrefix(string(e), "node_") }

// IsPod reports whether e is about one pod: neither a node event nor
// EventSeen.
func (e Event) IsPod() bool { return e != EventSeen && !e.IsNode() }

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
	Reason       string // node events: why, as the cluster says it (a condition's reason, a taint)
	// NodeLabels are a node record's node labels of the recorder's
	// allow-list (zone, region, pool...); nil for a pod. Never modified
	// once sent: stages share the map.
	NodeLabels map[string]string
	// StoreOnly marks a pod re-seen unchanged between the printed snapshots:
	// the store takes it (its last-seen time advances), the emitter does not
	// print it, so stdout grows with change and not with pods × time.
	StoreOnly bool
}

// Key is the pod's namespace/name, the identity history is kept under (a
// StatefulSet pod keeps its name across UIDs and nodes).
func (p Placement) Key() string { return p.Namespace + "/" + p.Pod }
