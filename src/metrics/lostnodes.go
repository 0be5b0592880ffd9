package metrics

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pod-ashiato/ashiato/src/record"
)

// maxLostNodeSeries bounds ashiato_node_lost_pods: a zone outage can take
// thousands of nodes down at once, and past a few dozen series an alert per
// node tells no more than the totals, which count every node.
const maxLostNodeSeries = 50

// lostNodes reports the nodes that are NotReady, Unknown or deleted while
// pods are still bound to them. It knows the nodes' state from the node
// records and asks the pod source how many pods each has, at scrape time and
// only while some node is lost, so a healthy cluster costs nothing.
type lostNodes struct {
	podsOn atomic.Pointer[func(nodes map[string]bool) map[string]int]

	mu    sync.Mutex
	nodes map[string]time.Time // lost node -> when it was deleted (zero while it exists)

	perNode, withPods, pods *prometheus.Desc
}

func newLostNodes() *lostNodes {
	return &lostNodes{
		nodes: map[string]time.Time{},
		perNode: prometheus.NewDesc("ashiato_node_lost_pods",
			"Pods bound to a node that is NotReady, Unknown or deleted, for each such node that has pods (at most 50 nodes, those with the most pods).",
			[]string{"node"}, nil),
		withPods: prometheus.NewDesc("ashiato_lost_nodes_with_pods",
			"Nodes NotReady, Unknown or deleted that still have pods bound to them (all of them).", nil, nil),
		pods: prometheus.NewDesc("ashiato_pods_on_lost_nodes",
			"Pods bound to nodes that are NotReady, Unknown or deleted (all of them).", nil, nil),
	}
}

// observe follows the nodes' state from the node records.
func (l *lostNodes) observe(r record.Placement) {
	if !r.Event.IsNode() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch r.Event {
	case record.EventNodeNotReady, record.EventNodeUnknown:
		l.nodes[r.Node] = time.Time{}
	case record.EventNodeDeleted:
		l.nodes[r.Node] = r.Timestamp
		// The pod garbage collector removes a deleted node's pods; one that
		// never does is forgotten after lossMemory, so that node churn does not
		// grow the map when nobody scrapes.
		for node, deleted := range l.nodes {
			if !deleted.IsZero() && r.Timestamp.Sub(deleted) >= lossMemory {
				delete(l.nodes, node)
			}
		}
	case record.EventNodeReady, record.EventNodeAdded:
		delete(l.nodes, r.Node)
	}
}

// Describe sends nothing: the collector is unchecked, since without a pod
// source that can count (list mode, --oneshot) it has no series at all.
func (l *lostNodes) Describe(chan<- *prometheus.Desc) {}

// Collect counts the pods of the lost nodes.
func (l *lostNodes) Collect(ch chan<- prometheus.Metric) {
	f := l.podsOn.Load()
	if f == nil {
		return
	}
	l.mu.Lock()
	lost := make(map[string]bool, len(l.nodes))
	for node := range l.nodes {
		lost[node] = true
	}
	l.mu.Unlock()

	var with []nodePods
	total := 0
	if len(lost) > 0 {
		for node, n := range (*f)(lost) {
			if n > 0 && lost[node] {
				with = append(with, nodePods{node, n})
				total += n
			}
		}
	}
	l.forgetEmptyDeleted(lost, with)
	sort.Slice(with, func(i, j int) bool {
		if with[i].pods != with[j].pods {
			return with[i].pods > with[j].pods
		}
		return with[i].node < with[j].node
	})
	ch <- prometheus.MustNewConstMetric(l.withPods, prometheus.GaugeValue, float64(len(with)))
	ch <- prometheus.MustNewConstMetric(l.pods, prometheus.GaugeValue, float64(total))
	for _, np := range with[:min(len(with), maxLostNodeSeries)] {
		ch <- prometheus.MustNewConstMetric(l.perNode, prometheus.GaugeValue, float64(np.pods), np.node)
	}
}

// forgetEmptyDeleted drops the deleted nodes of counted that no pod is bound
// to any more: nothing will bring their pods back.
func (l *lostNodes) forgetEmptyDeleted(counted map[string]bool, with []nodePods) {
	has := make(map[string]bool, len(with))
	for _, np := range with {
		has[np.node] = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for node, deleted := range l.nodes {
		if !deleted.IsZero() && counted[node] && !has[node] {
			delete(l.nodes, node)
		}
	}
}

type nodePods struct {
	node string
	pods int
}
