package access

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
)

// prefetchConcurrency bounds the reviews one page sends at once.
const prefetchConcurrency = 8

// Filter decides, for one page, which rows its viewer may see, and counts the
// rows it hides so the page can say so. It asks the cluster-wide question
// once, then each namespace at most once (the authorizer's cache spares the
// API server across pages). Safe for concurrent use.
type Filter struct {
	v Viewer

	mu         sync.Mutex
	everywhere bool            // may list pods in every namespace
	namespaces map[string]bool // the answer per namespace asked
	nodes      *bool           // may get nodes, once asked
	hiddenPods map[string]struct{}
	hiddenNS   map[string]struct{}
	hiddenNode int
}

// NewFilter asks once whether v may list pods in every namespace; when it
// may, no namespace is asked again.
func NewFilter(ctx context.Context, v Viewer) (*Filter, error) {
	all, err := v.MayListPods(ctx, "")
	if err != nil {
		return nil, err
	}
	return &Filter{v: v, everywhere: all, namespaces: map[string]bool{},
		hiddenPods: map[string]struct{}{}, hiddenNS: map[string]struct{}{}}, nil
}

// Viewer is the filter's viewer.
func (f *Filter) Viewer() Viewer { return f.v }

// Namespace says whether the viewer may list pods in namespace; it counts
// nothing (Pod does).
func (f *Filter) Namespace(ctx context.Context, namespace string) (bool, error) {
	f.mu.Lock()
	if f.everywhere {
		f.mu.Unlock()
		return true, nil
	}
	ok, known := f.namespaces[namespace]
	f.mu.Unlock()
	if known {
		return ok, nil
	}
	ok, err := f.v.MayListPods(ctx, namespace)
	if err != nil {
		return false, err
	}
	f.mu.Lock()
	f.namespaces[namespace] = ok
	f.mu.Unlock()
	return ok, nil
}

// Prefetch asks about every namespace not yet known, a few at a time, so a
// page that knows its namespaces up front waits for the slowest review
// rather than for their sum.
func (f *Filter) Prefetch(ctx context.Context, namespaces []string) error {
	f.mu.Lock()
	if f.everywhere {
		f.mu.Unlock()
		return nil
	}
	var ask []string
	seen := map[string]bool{}
	for _, ns := range namespaces {
		if _, known := f.namespaces[ns]; !known && !seen[ns] {
			seen[ns] = true
			ask = append(ask, ns)
		}
	}
	f.mu.Unlock()
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(prefetchConcurrency)
	for _, ns := range ask {
		g.Go(func() error {
			_, err := f.Namespace(ctx, ns)
			return err
		})
	}
	return g.Wait()
}

// Pod says whether the row of pod namespace/name may be shown; a hidden pod
// is counted once, however many rows it has.
func (f *Filter) Pod(ctx context.Context, namespace, name string) (bool, error) {
	ok, err := f.Namespace(ctx, namespace)
	if err != nil || ok {
		return ok, err
	}
	f.mu.Lock()
	f.hiddenPods[namespace+"/"+name] = struct{}{}
	f.hiddenNS[namespace] = struct{}{}
	f.mu.Unlock()
	return false, nil
}

// NodeEvent says whether a node lifecycle row may be shown (the viewer may
// get nodes); each hidden row is counted.
func (f *Filter) NodeEvent(ctx context.Context) (bool, error) {
	ok, err := f.MayGetNodes(ctx)
	if err != nil || ok {
		return ok, err
	}
	f.mu.Lock()
	f.hiddenNode++
	f.mu.Unlock()
	return false, nil
}

// MayGetNodes is the viewer's answer, asked once per filter; it counts
// nothing (NodeEvent does).
func (f *Filter) MayGetNodes(ctx context.Context) (bool, error) {
	f.mu.Lock()
	known := f.nodes
	f.mu.Unlock()
	if known != nil {
		return *known, nil
	}
	ok, err := f.v.MayGetNodes(ctx)
	if err != nil {
		return false, err
	}
	f.mu.Lock()
	f.nodes = &ok
	f.mu.Unlock()
	return ok, nil
}

// Hidden is what the filter has hidden so far.
func (f *Filter) Hidden() Hidden {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Hidden{Pods: len(f.hiddenPods), Namespaces: len(f.hiddenNS), NodeEvents: f.hiddenNode}
}

// Hidden counts what a page left out; its JSON goes into the page's JSON
// twin as it is, and String into the page.
type Hidden struct {
	Pods       int `json:"pods"`        // distinct pods left out
	Namespaces int `json:"namespaces"`  // the namespaces they are in
	NodeEvents int `json:"node_events"` // node lifecycle rows left out
}

// Any is true when something was left out.
func (h Hidden) Any() bool { return h.Pods > 0 || h.NodeEvents > 0 }

// String is the sentence a page shows, e.g. "12 pods in 3 namespaces you may
// not list are not shown"; "" when nothing was hidden.
func (h Hidden) String() string {
	var parts []string
	if h.Pods > 0 {
		parts = append(parts, fmt.Sprintf("%s in %s you may not list %s not shown",
			plural(h.Pods, "pod", "pods"), plural(h.Namespaces, "namespace", "namespaces"), isAre(h.Pods)))
	}
	if h.NodeEvents > 0 {
		parts = append(parts, fmt.Sprintf("%s %s not shown: you may not get nodes",
			plural(h.NodeEvents, "node lifecycle event", "node lifecycle events"), isAre(h.NodeEvents)))
	}
	return strings.Join(parts, "; ")
}

// PodHiddenText is what a pod's own page says instead of its history when
// the viewer may not list pods in its namespace.
func PodHiddenText(namespace, name string) string {
	return fmt.Sprintf("pod %s/%s is not shown: you may not list pods in namespace %s", namespace, name, namespace)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
