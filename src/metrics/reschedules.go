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
// first max namespaces that reschedule a pod keep their name, the rest share
// OtherNamespaces, so the series never exceed 2×(max+1) however many
// namespaces the cluster has.
type reschedules struct {
	counter *prometheus.CounterVec

	mu    sync.Mutex
	max   int
	named map[string]bool
}

func newReschedules(maxNamespaces int) *reschedules {
	return &reschedules{
		counter: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ashiato_reschedules_total",
			Help: "Pods that ran again on another node, by namespace (the first --metrics-namespaces namespaces; the rest as _other) and cause: " +
				"recreated (the replacement of a pod lost with its node, as ashiato_reschedules_after_node_loss_total counts) or moved (same name on another node, otherwise).",
		}, []string{"namespace", "cause"}),
		max:   maxNamespaces,
		named: map[string]bool{},
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
	r.counter.WithLabelValues(r.label(namespace), cause).Inc()
}

// label is the namespace's label value: its name while there is room.
func (r *reschedules) label(namespace string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.named[namespace] {
		return namespace
	}
	if len(r.named) >= r.max {
		return OtherNamespaces
	}
	r.named[namespace] = true
	return namespace
}
