package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Causes of a reschedule, the values of ashiato_reschedules_total's cause label.
const (
	// CauseMoved is a pod seen under the same namespace/name on another node
	// (a moved record) that was not the replacement of a pod lost with its node.
	CauseMoved = "moved"
	// CauseRecreated is the replacement of a pod lost with its node: the next pod
	// of the same owner (for a StatefulSet or a bare pod, of the same name),
	// as the incident counters detect it.
	CauseRecreated = "recreated"
)

// OtherNamespaces is the namespace label value of every namespace past the
// limit. No namespace can be called that: a namespace is a DNS label, which
// has no underscore.
const OtherNamespaces = "_other"

// DefaultMaxNamespaces is how many namespaces get a label value of their own
// unless --metrics-namespaces says otherwise (docs/monitoring.md has the
// series counts).
const DefaultMaxNamespaces = 500

// reschedules is ashiato_reschedules_total with a bounded namespace label: the
// first max namespaces seen keep their name, the rest share OtherNamespaces,
// so the series never exceed 2×(max+1) however many namespaces the cluster
// has.
//
// A namespace's series are created at 0 when its first pod is seen, not at its
// first reschedule: Prometheus' increase() needs a sample before the storm, and
// a series born at 40 would hide the first 40.
type reschedules struct {
	counter *prometheus.CounterVec

	mu    sync.Mutex
	max   int
	named map[string]bool
}

func newReschedules(maxNamespaces int) *reschedules {
	r := &reschedules{
		counter: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ashiato_reschedules_total",
			Help: "Pods that ran again on another node, by namespace (the first --metrics-namespaces namespaces; the rest as _other) and cause: " +
				"recreated (the replacement of a pod lost with its node, as ashiato_reschedules_after_node_loss_total counts) or moved (same name on another node, otherwise).",
		}, []string{"namespace", "cause"}),
		max:   maxNamespaces,
		named: map[string]bool{},
	}
	r.create(OtherNamespaces)
	return r
}

// create makes the label's series exist, at 0.
func (r *reschedules) create(label string) {
	r.counter.WithLabelValues(label, CauseMoved)
	r.counter.WithLabelValues(label, CauseRecreated)
}

// see notes a namespace that has pods, creating its series while there is room.
func (r *reschedules) see(namespace string) {
	if label, isNew := r.label(namespace); isNew {
		r.create(label)
	}
}

// setMax changes the limit; namespaces already labelled keep their series.
func (r *reschedules) setMax(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.max = n
}

// inc counts one reschedule.
func (r *reschedules) inc(namespace, cause string) {
	label, isNew := r.label(namespace)
	if isNew {
		r.create(label)
	}
	r.counter.WithLabelValues(label, cause).Inc()
}

// label is the namespace's label value: its name while there is room. isNew
// says the namespace has just been given its own.
func (r *reschedules) label(namespace string) (label string, isNew bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.named[namespace] {
		return namespace, false
	}
	if len(r.named) >= r.max {
		return OtherNamespaces, false
	}
	r.named[namespace] = true
	return namespace, true
}
