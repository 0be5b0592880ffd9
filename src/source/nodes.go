package source

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/retry"
)

// nodePageSize is how many nodes one LIST request returns: a Node with its
// image list can be 30 KiB, so a page stays near 15 MiB.
const nodePageSize = 500

// Nodes is the source of node lifecycle records: one informer over every Node
// (a LIST in pages, then a WATCH), whose cache holds only a cachedNode per
// node. It runs next to the pod source in continuous watch mode.
//
// It sends a record for every change of a node's lifecycle: the Ready
// condition turning True, False or Unknown (node_ready, node_not_ready,
// node_unknown, with the condition's reason), spec.unschedulable set or
// cleared (node_cordoned, node_uncordoned), a NoExecute taint added or removed
// (node_tainted, node_untainted, the taint as reason), and the node created or
// deleted (node_added, node_deleted). A node of the initial listing is
// reported only where it differs from a healthy one (Ready, schedulable, no
// NoExecute taint), so that a restart in the middle of an incident still
// records the state it finds; a node created later is reported as added,
// followed by its state. A change while the watch was down arrives when
// client-go lists again, as the difference from the cache.
//
// Reading nodes needs get, list and watch on nodes cluster-wide. Forbidden is
// permanent: Run fails at once rather than retry forever.
type Nodes struct {
	Client kubernetes.Interface
	Log    logrus.FieldLogger
	Clock  clock.PassiveClock // the records' timestamps; the real clock when nil
	// Name, when set, is the one node to follow (--node): its pods are all
	// the recorder keeps, so other nodes' changes are not its business.
	Name string
	// OnError, when set, is told about every failed LIST or WATCH.
	OnError func(error)
	// Labels is the allow-list of node labels each node record carries
	// (DefaultNodeLabels unless the recorder says otherwise; none when empty).
	Labels []string

	tracked atomic.Int64
	mu      sync.Mutex
	logged  time.Time // the last warning
}

func (n *Nodes) selectName(opts *metav1.ListOptions) {
	if n.Name != "" {
		opts.FieldSelector = "metadata.name=" + n.Name
	}
}

// Tracked is the number of nodes in the cache, as the handler has seen them.
func (n *Nodes) Tracked() int { return int(n.tracked.Load()) }

// Run implements Source: it sends node records until ctx ends, then closes
// out. It fails when it cannot start or on a permanent API error.
func (n *Nodes) Run(ctx context.Context, out chan<- record.Placement) error {
	defer close(out)
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	nodes := n.Client.CoreV1().Nodes()
	tr := newNodeTrimmer()
	tr.labels = n.Labels
	informer, err := newNodeInformer(tr, &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			n.selectName(&opts)
			list, err := listNodes(ctx, nodes.List, opts, tr)
			n.observe(err, stop)
			return list, err
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			n.selectName(&opts)
			wi, err := nodes.Watch(ctx, opts)
			n.observe(err, stop)
			return wi, err
		},
	})
	if err != nil {
		return err
	}
	h := &nodeHandler{ctx: ctx, out: out, now: n.now, tracked: &n.tracked}
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: h.onAdd, UpdateFunc: h.onUpdate, DeleteFunc: h.onDelete,
	}); err != nil {
		return fmt.Errorf("adding the node event handler: %w", err)
	}
	informer.RunWithContext(ctx) // returns once its handler has stopped
	if cause := context.Cause(ctx); permanentForNodes(cause) {
		return fmt.Errorf("listing and watching nodes (the ClusterRole needs get, list and watch on nodes): %w", cause)
	}
	return nil
}

// newNodeInformer builds the node informer over lw, with the trimming
// transform tr on every node a WATCH delivers (listNodes trims the LIST itself).
func newNodeInformer(tr *nodeTrimmer, lw *cache.ListWatch) (cache.SharedIndexInformer, error) {
	informer := cache.NewSharedIndexInformerWithOptions(listThenWatch{lw}, &corev1.Node{},
		cache.SharedIndexInformerOptions{ObjectDescription: "nodes"})
	if err := informer.SetTransform(tr.transform); err != nil {
		return nil, fmt.Errorf("setting the node transform: %w", err)
	}
	return informer, nil
}

// listNodes lists every node in pages, trimming each page as it arrives, so
// the full Nodes of a large cluster are never in memory together (see listAll
// for the resourceVersion rules, which are the same).
func listNodes(ctx context.Context, list func(context.Context, metav1.ListOptions) (*corev1.NodeList, error), opts metav1.ListOptions, tr *nodeTrimmer) (runtime.Object, error) {
	opts.Limit, opts.Continue = nodePageSize, ""
	switch {
	case opts.ResourceVersion == "0":
		opts.ResourceVersion = ""
	case opts.ResourceVersion != "" && opts.ResourceVersionMatch == "":
		opts.ResourceVersionMatch = metav1.ResourceVersionMatchNotOlderThan
	}
	all := &metainternalversion.List{}
	for page := 1; ; page++ {
		nodes, err := list(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("nodes page %d: %w", page, err)
		}
		if opts.Continue == "" {
			all.ResourceVersion = nodes.ResourceVersion
		}
		for i := range nodes.Items {
			obj, _ := tr.transform(&nodes.Items[i]) // never fails on a *corev1.Node
			all.Items = append(all.Items, obj.(runtime.Object))
		}
		if nodes.Continue == "" {
			return all, nil
		}
		opts.Continue, opts.ResourceVersion, opts.ResourceVersionMatch = nodes.Continue, "", ""
	}
}

// nodeErrorsLogEvery spaces the warnings of a lasting outage.
const nodeErrorsLogEvery = 30 * time.Second

// observe reports a failed request: to OnError, to fail when it is permanent,
// and as a warning at most every nodeErrorsLogEvery (client-go retries the
// rest itself, and the pod source already reports an outage of the server).
func (n *Nodes) observe(err error, fail func(error)) {
	if err == nil {
		return
	}
	if n.OnError != nil {
		n.OnError(err)
	}
	if permanentForNodes(err) {
		fail(err)
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if now := n.now(); n.logged.IsZero() || now.Sub(n.logged) >= nodeErrorsLogEvery {
		n.logged = now
		n.log().WithError(err).Warn("listing or watching nodes failed; client-go retries with backoff")
	}
}

// permanentForNodes: a broken path to the server, or a ClusterRole without
// the node permissions, which no retry mends.
func permanentForNodes(err error) bool {
	return retry.Permanent(err) || apierrors.IsForbidden(err)
}

func (n *Nodes) now() time.Time {
	if n.Clock != nil {
		return n.Clock.Now()
	}
	return time.Now()
}

func (n *Nodes) log() logrus.FieldLogger {
	if n.Log != nil {
		return n.Log
	}
	l := logrus.New()
	l.Out = io.Discard
	return l
}

// nodeHandler turns the informer's notifications into node records. client-go
// calls it from one goroutine.
type nodeHandler struct {
	ctx     context.Context
	out     chan<- record.Placement
	now     func() time.Time
	tracked *atomic.Int64
}

func (h *nodeHandler) onAdd(obj any, isInInitialList bool) {
	c, ok := obj.(*cachedNode)
	if !ok {
		return
	}
	h.tracked.Add(1)
	if isInInitialList {
		h.send(c.changes(normalNode))
		return
	}
	h.send(append([]record.Placement{{Node: c.name, Event: record.EventNodeAdded}}, c.changes(&cachedNode{})...))
}

func (h *nodeHandler) onUpdate(oldObj, newObj any) {
	old, ok1 := oldObj.(*cachedNode)
	c, ok2 := newObj.(*cachedNode)
	if !ok1 || !ok2 {
		return
	}
	if old.uid != c.uid {
		// Deleted and created again while the watch was down.
		h.send([]record.Placement{{Node: old.name, Event: record.EventNodeDeleted}, {Node: c.name, Event: record.EventNodeAdded}})
		h.send(c.changes(&cachedNode{}))
		return
	}
	h.send(c.changes(old))
}

func (h *nodeHandler) onDelete(obj any) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	c, ok := obj.(*cachedNode)
	if !ok {
		return
	}
	h.tracked.Add(-1)
	h.send([]record.Placement{{Node: c.name, Event: record.EventNodeDeleted}})
}

// send stamps the records with the time and sends them unless ctx has ended.
func (h *nodeHandler) send(records []record.Placement) {
	now := h.now().UTC()
	for _, r := range records {
		r.Timestamp = now
		select {
		case h.out <- r:
		case <-h.ctx.Done():
			return
		}
	}
}
