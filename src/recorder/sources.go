package recorder

import (
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/client-go/kubernetes"

	"github.com/pod-ashiato/ashiato/src/filter"
	"github.com/pod-ashiato/ashiato/src/metrics"
	"github.com/pod-ashiato/ashiato/src/pipeline"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/source"
)

// newSource builds the source the flags ask for: one reader per namespace of
// the plan, run together, or one cluster-wide reader.
func newSource(cfg *Config, client kubernetes.Interface, plan filter.Plan, policy retry.Policy, log logrus.FieldLogger, m *metrics.Metrics) pipeline.Source {
	namespaces := plan.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{""} // every namespace
	}
	counter := newSyncCounter(len(namespaces), m)
	sources := make([]pipeline.Source, len(namespaces))
	for i, ns := range namespaces {
		sel := source.Selection{Namespace: ns, LabelSelector: plan.LabelSelector, FieldSelector: plan.FieldSelector}
		synced := func(n int) { counter.synced(i, n) }
		switch {
		case cfg.Oneshot:
			sources[i] = (&source.Stream{Client: client, Selection: sel, Retry: policy, Log: log, OnCycle: synced}).Run
		case cfg.Source == "list":
			sources[i] = (&source.List{Client: client, Selection: sel, PageSize: cfg.PageSize, Interval: cfg.Interval, Retry: policy, Log: log, OnCycle: synced}).Run
		default:
			w := &source.Watch{Client: client, Selection: sel, PageSize: cfg.PageSize, Interval: cfg.Interval,
				Snapshots: source.Snapshots(cfg.Snapshot), StoreSeen: cfg.Store != nil, Log: log, OnError: m.APIError, OnSnapshot: synced}
			counter.tracked[i] = w.Tracked
			counter.podsOn[i] = w.PodsOn
			sources[i] = w.Run
		}
	}
	if !cfg.Oneshot && cfg.Source != "list" {
		// Node lifecycle: only a watch sees a node change.
		sources = append(sources, (&source.Nodes{Client: client, Name: cfg.Filter.Node, Log: log, OnError: m.APIError, Labels: cfg.NodeLabels}).Run)
		m.SetPodsOnNodes(counter.podsOnNodes)
	}
	return pipeline.Merge(sources...)
}

// syncCounter turns the listings of several readers into the metrics of one:
// synced (ready, last sync) once every reader has a complete view, and the
// pods tracked summed over them.
type syncCounter struct {
	m       *metrics.Metrics
	mu      sync.Mutex
	pods    []int                                  // per reader, from its last complete listing; -1 before
	tracked []func() int                           // per reader, when it can tell between listings (watch)
	podsOn  []func(map[string]bool) map[string]int // per reader, likewise
}

func newSyncCounter(n int, m *metrics.Metrics) *syncCounter {
	c := &syncCounter{m: m, pods: make([]int, n), tracked: make([]func() int, n), podsOn: make([]func(map[string]bool) map[string]int, n)}
	for i := range c.pods {
		c.pods[i] = -1
	}
	m.SetTracked(c.total)
	return c
}

func (c *syncCounter) synced(reader, pods int) {
	c.mu.Lock()
	c.pods[reader] = pods
	all := true
	for _, n := range c.pods {
		all = all && n >= 0
	}
	c.mu.Unlock()
	if all {
		c.m.Synced(time.Now())
	}
}

func (c *syncCounter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	sum := 0
	for i, n := range c.pods {
		switch {
		case c.tracked[i] != nil:
			sum += c.tracked[i]()
		case n > 0:
			sum += n
		}
	}
	return sum
}

// podsOnNodes sums the readers' counts of the pods bound to nodes.
func (c *syncCounter) podsOnNodes(nodes map[string]bool) map[string]int {
	sum := map[string]int{}
	for _, f := range c.podsOn {
		if f == nil {
			continue
		}
		for node, n := range f(nodes) {
			sum[node] += n
		}
	}
	return sum
}
