package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/reschedule"
)

const (
	// lossMemory is how long a pod deleted from a lost node waits for its
	// replacement to be counted: the history query's answer looks no further
	// than its window, and an hour covers the slow cases (a volume to detach,
	// a node to be added).
	lossMemory = time.Hour
	// maxPendingLosses bounds that memory whatever happens (a whole zone lost):
	// past it the oldest losses are forgotten, never counted twice.
	maxPendingLosses = 100_000
)

// incidents counts node transitions and reschedules after node loss from the
// record stream. It sees what the stages see: a pod's deletion from a node
// that is NotReady, Unknown or deleted is a loss; the next pod of the same
// owner (for a StatefulSet or a bare pod: of the same name) to be scheduled is
// its reschedule, timed from when the node was lost; or the first one
// scheduled since the node was lost and before the deletion (a controller
// replaces a terminating pod before it is gone). A node-bound pod (a
// DaemonSet's, a mirror pod) is no loss: it comes back with its node (see
// package reschedule, whose rule history's incident applies too). It is used
// from the Count stage's goroutine only.
type incidents struct {
	transitions *prometheus.CounterVec
	lostPods    prometheus.Counter
	nodeBound   prometheus.Counter
	reschedules prometheus.Counter
	delay       *prometheus.HistogramVec

	lost    map[string]time.Time   // node -> since when it is lost
	pending map[string][]time.Time // workload key -> losses not yet replaced, oldest first
	npend   int
	// arrivals are pods scheduled while a node is lost that replaced no
	// loss yet, oldest first: a controller replaces a pod as soon as it is
	// terminating, so its replacement can be seen before its deletion.
	arrivals map[string][]time.Time
	narr     int
	swept    time.Time
}

func newIncidents() *incidents {
	c := &incidents{
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ashiato_node_transitions_total", Help: "Node lifecycle changes recorded (node records), by event.",
		}, []string{"event"}),
		lostPods: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ashiato_pods_lost_with_node_total", Help: "Pods deleted while their node was NotReady, Unknown or deleted.",
		}),
		nodeBound: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ashiato_node_bound_pods_deleted_with_node_total", Help: "Node-bound pods (DaemonSet, mirror) deleted while their node was NotReady, Unknown or deleted: no loss, they come back with the node.",
		}),
		reschedules: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ashiato_reschedules_after_node_loss_total", Help: "Pods lost with their node whose workload (same owner; for StatefulSet and bare pods, same name) was scheduled again within an hour.",
		}),
		delay: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ashiato_reschedule_after_node_loss_seconds", Help: "Time from a node's loss to the scheduling of each replacement of a pod lost with it, by the lost pod's owner kind (ReplicaSet, StatefulSet, Job, None for a bare pod, Other).",
			Buckets: []float64{5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600},
		}, []string{"owner_kind"}),
		lost:     map[string]time.Time{},
		pending:  map[string][]time.Time{},
		arrivals: map[string][]time.Time{},
	}
	for _, kind := range reschedule.OwnerKinds { // every series from the start, for rate()
		c.delay.WithLabelValues(kind)
	}
	return c
}

func (c *incidents) collectors() []prometheus.Collector {
	return []prometheus.Collector{c.transitions, c.lostPods, c.nodeBound, c.reschedules, c.delay}
}

// observe updates the counters with one record. It reports whether the record
// is the replacement of a pod lost with its node.
func (c *incidents) observe(r record.Placement) (replaced bool) {
	switch r.Event {
	case record.EventNodeNotReady, record.EventNodeUnknown, record.EventNodeDeleted:
		if _, ok := c.lost[r.Node]; !ok {
			c.lost[r.Node] = r.Timestamp
		}
	case record.EventNodeReady, record.EventNodeAdded:
		delete(c.lost, r.Node)
	case record.EventDeleted:
		since, ok := c.lost[r.Node]
		if !ok {
			return false
		}
		if reschedule.NodeBound(r.OwnerKind) {
			c.nodeBound.Inc()
			return false
		}
		c.lostPods.Inc()
		c.sweep(r.Timestamp)
		key := workload(r)
		if at, ok := c.takeArrival(key, since); ok {
			c.reschedules.Inc()
			c.delay.WithLabelValues(reschedule.KindLabel(r.OwnerKind)).Observe(at.Sub(since).Seconds())
			return true
		}
		c.pending[key] = append(c.pending[key], since)
		c.npend++
	case record.EventScheduled, record.EventMoved:
		if reschedule.NodeBound(r.OwnerKind) {
			break
		}
		key := workload(r)
		losses := c.pending[key]
		for len(losses) > 0 && r.Timestamp.Sub(losses[0]) >= lossMemory {
			losses, c.npend = losses[1:], c.npend-1
		}
		if len(losses) == 0 {
			delete(c.pending, key)
			if len(c.lost) > 0 && c.narr < maxPendingLosses {
				c.arrivals[key] = append(c.arrivals[key], r.Timestamp)
				c.narr++
			}
			return false
		}
		c.reschedules.Inc()
		replaced = true
		c.delay.WithLabelValues(reschedule.KindLabel(r.OwnerKind)).Observe(r.Timestamp.Sub(losses[0]).Seconds())
		c.npend--
		if losses = losses[1:]; len(losses) == 0 {
			delete(c.pending, key)
		} else {
			c.pending[key] = losses
		}
	}
	if r.Event.IsNode() {
		c.transitions.WithLabelValues(string(r.Event)).Inc()
	}
	return replaced
}

// takeArrival returns and forgets the oldest arrival of key at or after
// since, the loss of the node: the replacement of a pod deleted only now.
func (c *incidents) takeArrival(key string, since time.Time) (time.Time, bool) {
	arr := c.arrivals[key]
	for i, at := range arr {
		if !at.Before(since) {
			c.narr--
			if arr = append(arr[:i:i], arr[i+1:]...); len(arr) == 0 {
				delete(c.arrivals, key)
			} else {
				c.arrivals[key] = arr
			}
			return at, true
		}
	}
	return time.Time{}, false
}

// sweep forgets losses older than lossMemory, at most once a minute unless
// the memory is full; a memory still full drops whole workloads until it has
// room.
func (c *incidents) sweep(now time.Time) {
	if c.npend < maxPendingLosses && now.Sub(c.swept) < time.Minute {
		return
	}
	c.swept = now
	for key, losses := range c.pending {
		kept := losses[:0]
		for _, t := range losses {
			if now.Sub(t) < lossMemory {
				kept = append(kept, t)
			}
		}
		c.npend -= len(losses) - len(kept)
		if len(kept) == 0 {
			delete(c.pending, key)
		} else {
			c.pending[key] = kept
		}
	}
	for key, losses := range c.pending {
		if c.npend < maxPendingLosses {
			break
		}
		c.npend -= len(losses)
		delete(c.pending, key)
	}
	for key, arr := range c.arrivals {
		kept := arr[:0]
		for _, t := range arr {
			if now.Sub(t) < lossMemory {
				kept = append(kept, t)
			}
		}
		c.narr -= len(arr) - len(kept)
		if len(kept) == 0 {
			delete(c.arrivals, key)
		} else {
			c.arrivals[key] = kept
		}
	}
	for node, since := range c.lost {
		if now.Sub(since) >= lossMemory {
			delete(c.lost, node) // a deleted node that never came back
		}
	}
}

// workload is what a replacement shares with the pod it replaces (package
// reschedule's rule): the owner, or for a StatefulSet or a bare pod the name
// (a StatefulSet's pods all have one owner but each its own identity).
func workload(r record.Placement) string {
	return reschedule.Key(r.Namespace, r.Pod, r.OwnerKind, r.OwnerName)
}
