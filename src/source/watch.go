package source

import (
	"context"
	"errors"
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
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/retry"
)

// DefaultMoveMemory is how long Watch remembers the node of a deleted pod, to
// tell a pod that comes back under the same name on another node (moved) from
// a new one (scheduled). A StatefulSet pod is usually back within seconds; an
// hour also covers one that waits for a volume to detach, for capacity or for
// the autoscaler to add a node, while the memory holds only the last hour's
// deletions.
const DefaultMoveMemory = time.Hour

// maxRemembered caps the deleted pods remembered for moves whatever their age,
// so that a deletion storm (a namespace of 150,000 pods deleted at once) costs
// at most about 15 MB. Past the cap, some moves are reported as scheduled.
const maxRemembered = 100_000

// Watch is the source of continuous mode: one informer that lists the selected
// pods once and then watches them, so the API server sends only changes.
//
// Everything it sends carries record.Event:
//   - snapshot: every pod of the initial listing, once, and every pod of the
//     cache again every Interval (read from memory, no API request). Pods not
//     yet bound to a node are included, as the original tool printed them all.
//   - scheduled: a pod seen bound to a node (created bound, or bound later).
//   - moved: the same, when the last pod of that namespace/name was on another
//     node (a StatefulSet pod recreated elsewhere); PreviousNode is set.
//   - updated: a bound pod's pod IP, host IP or phase changed.
//   - deleted: a bound pod left the API server, with its last placement.
//
// Pods without a node have no placement, so they produce no events.
//
// The namespace and label selector go to the API server. The initial state
// comes from a LIST that listAll makes in pages of PageSize pods, each trimmed to
// cachedPods as it arrives, so the full pods of a large cluster are never in
// memory together (left to client-go, that LIST would be one response: see
// listAll), then a WATCH from the list's resourceVersion. client-go's
// streaming alternative is turned off on purpose (see listThenWatch).
// Measured with 20,000 pods, the process peaks at about 1.65 KiB of RSS per
// pod during the initial sync and keeps about 600 bytes of heap per pod after.
//
// A permanent error (retry.Permanent: the server's certificate is not trusted)
// ends Run with that error at once; client-go would retry it forever.
//
// Nothing is lost silently when a watch breaks: client-go lists the whole
// state again, and the difference from the cache
// arrives as adds (scheduled), updates (a new UID under a known name: deleted,
// then scheduled or moved) and deletes of pods missing from the new state
// (tombstones: deleted).
//
// A Watch runs once.
type Watch struct {
	Client    kubernetes.Interface
	Selection Selection
	// Interval is the period of the full snapshot from the cache. Zero sends
	// only the initial one.
	Interval time.Duration
	// MoveMemory is how long a deleted pod's node is remembered to detect a
	// move; DefaultMoveMemory when zero.
	MoveMemory time.Duration
	// PageSize is how many pods one LIST request asks for; DefaultPageSize
	// when zero.
	PageSize int64
	Log      logrus.FieldLogger
	// Clock stamps records and paces the periodic snapshot; the real clock
	// when nil.
	Clock clock.WithTicker
	Now   func() time.Time // overrides Clock's Now for the records' time when set
	// OnSnapshot, when set, is told after the initial snapshot and after each
	// periodic one how many pods it sent (readiness and the last-sync metric),
	// as List.OnCycle is.
	OnSnapshot func(pods int)
	// OnError, when set, is told about every failed LIST or WATCH (the API
	// error metric); client-go retries them itself.
	OnError func(error)

	synced  atomic.Bool
	tracked atomic.Int64
}

// Synced reports whether the cache has synced and the initial snapshot has
// been sent (handed to out), for a readiness probe. It is false again once Run
// has returned.
func (w *Watch) Synced() bool { return w.synced.Load() }

// Tracked is the number of pods in the cache, as the event handler has seen
// them (it trails the cache by the events not yet handled).
func (w *Watch) Tracked() int { return int(w.tracked.Load()) }

// Run implements Source. It fails only when it cannot start; once the
// informer runs, API errors are logged and retried by client-go until ctx ends.
func (w *Watch) Run(ctx context.Context, out chan<- record.Placement) error {
	defer close(out)
	// With a watch, a selector the API server rejects would be retried forever.
	if _, err := labels.Parse(w.Selection.LabelSelector); err != nil {
		return fmt.Errorf("invalid label selector %q: %w", w.Selection.LabelSelector, err)
	}
	// A permanent error stops everything below with itself as the cause.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	informer, err := w.newInformer(newTrimmer(), stop)
	if err != nil {
		return err
	}
	if err := informer.SetWatchErrorHandlerWithContext(w.watchError); err != nil {
		return fmt.Errorf("setting the watch error handler: %w", err)
	}
	ttl := w.MoveMemory
	if ttl <= 0 {
		ttl = DefaultMoveMemory
	}
	h := &handler{ctx: ctx, out: out, now: w.now, tracked: &w.tracked, moves: newNodeMemory(ttl, maxRemembered)}
	reg, err := informer.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: h.onAdd, UpdateFunc: h.onUpdate, DeleteFunc: h.onDelete,
	})
	if err != nil {
		return fmt.Errorf("adding the pod event handler: %w", err)
	}

	// The informer's Run returns only after its handler goroutine has stopped,
	// so once both are done nothing can send on out any more and it can close.
	var wg sync.WaitGroup
	wg.Go(func() { informer.RunWithContext(ctx) })
	wg.Go(func() { w.snapshots(ctx, informer.GetStore(), reg.HasSyncedChecker(), h) })
	wg.Wait()
	w.synced.Store(false)
	if cause := context.Cause(ctx); retry.Permanent(cause) {
		return fmt.Errorf("listing and watching pods: %w", cause)
	}
	return nil
}

// newInformer builds the pod informer with the Selection applied to every
// LIST and WATCH request and tr applied to every pod. A permanent error is
// handed to fail.
func (w *Watch) newInformer(tr *trimmer, fail func(error)) (cache.SharedIndexInformer, error) {
	pods := w.Client.CoreV1().Pods(w.Selection.Namespace)
	pageSize := w.PageSize
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	health := &apiHealth{log: w.log(), onError: w.OnError, now: w.now, fail: fail}
	lw := &cache.ListWatch{
		// The initial state, and the whole state again whenever a watch
		// cannot be resumed.
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			w.Selection.apply(&opts)
			list, err := listAll(ctx, pods, opts, pageSize, tr)
			health.observe(err)
			return list, err
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			w.Selection.apply(&opts)
			wi, err := pods.Watch(ctx, opts)
			health.observe(err)
			return wi, err
		},
	}
	informer := cache.NewSharedIndexInformerWithOptions(listThenWatch{lw}, &corev1.Pod{},
		cache.SharedIndexInformerOptions{ObjectDescription: "pods"})
	if err := informer.SetTransform(tr.transform); err != nil {
		return nil, fmt.Errorf("setting the pod transform: %w", err)
	}
	return informer, nil
}

// listThenWatch makes the reflector LIST (through listAll, in trimmed pages)
// and then WATCH, instead of streaming the initial state in one WATCH
// (client-go's WatchListClient, on by default). Streaming looks cheaper but, in
// client-go v0.37, a failing stream is retried after a backoff that ignores the
// context (a stop could wait 30 s) and its errors are never reported, so an API
// server outage would be silent; the paged LIST also peaks lower (measured at
// 20,000 pods: about 1.65 KiB of RSS per pod against 2 KiB).
type listThenWatch struct{ *cache.ListWatch }

// IsWatchListSemanticsUnSupported tells the reflector not to stream.
func (listThenWatch) IsWatchListSemanticsUnSupported() bool { return true }

// listAll lists every selected pod in pages of pageSize pods, trims each
// page as it arrives, and returns all the pods as one list.
//
// Left to client-go, a LIST of 150,000 pods would be one response: its first
// LIST asks for pages but with resourceVersion=0, which the API server answers
// from its watch cache ignoring the limit; its later ones (after a broken
// watch) ask for no limit at all; and its pager would gather every page,
// untrimmed, before the transform runs anyway. Measured with 20,000 pods, that
// peaks at about 12 KiB of RSS per pod, against 2 KiB with this.
//
// client-go gets a list without a continue token, so its pager never pages on
// its own (nor falls back, on an expired token, to a full list that this
// would have cut to one page). In pages, resourceVersion=0 ("any") becomes a
// consistent read, as kubectl's; a given resourceVersion keeps its "not older
// than" meaning explicitly, since with a limit alone the API server reads it
// as "exactly", which fails with 410 Gone once compacted. An expired continue
// token fails the LIST with 410, and the reflector lists again from the start.
func listAll(ctx context.Context, pods corev1client.PodInterface, opts metav1.ListOptions, pageSize int64, tr *trimmer) (runtime.Object, error) {
	opts.Limit, opts.Continue = pageSize, ""
	switch {
	case opts.ResourceVersion == "0":
		opts.ResourceVersion = ""
	case opts.ResourceVersion != "" && opts.ResourceVersionMatch == "":
		opts.ResourceVersionMatch = metav1.ResourceVersionMatchNotOlderThan
	}
	all := &metainternalversion.List{}
	for n := 1; ; n++ {
		page, err := pods.List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", n, err)
		}
		if opts.Continue == "" {
			all.ResourceVersion = page.ResourceVersion // every page is of the first page's resourceVersion
		}
		for i := range page.Items {
			obj, err := tr.transform(&page.Items[i])
			if err != nil {
				return nil, fmt.Errorf("trimming pod %s/%s: %w", page.Items[i].Namespace, page.Items[i].Name, err)
			}
			all.Items = append(all.Items, obj.(runtime.Object))
		}
		if page.Continue == "" {
			return all, nil
		}
		opts.Continue, opts.ResourceVersion, opts.ResourceVersionMatch = page.Continue, "", ""
	}
}

// snapshots marks the source synced once the initial snapshot has been sent,
// then sends a snapshot of the cache every Interval.
func (w *Watch) snapshots(ctx context.Context, store cache.Store, synced cache.DoneChecker, h *handler) {
	select {
	case <-ctx.Done():
		return
	case <-synced.Done():
	}
	w.synced.Store(true)
	w.log().WithField("pods", w.Tracked()).Info("pod cache synced, initial snapshot sent")
	if w.OnSnapshot != nil {
		w.OnSnapshot(w.Tracked())
	}
	if w.Interval <= 0 {
		return
	}
	t := w.clock().NewTicker(w.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		n := h.snapshot(store)
		w.log().WithField("pods", n).Debug("snapshot sent")
		if w.OnSnapshot != nil {
			w.OnSnapshot(n)
		}
	}
}

// watchError hears what ends a list-and-watch round. Failed requests were
// already reported by apiHealth, where they happened.
func (w *Watch) watchError(_ context.Context, _ *cache.Reflector, err error) {
	switch {
	case errors.Is(err, io.EOF):
		// The watch closed normally.
	case apierrors.IsResourceExpired(err) || apierrors.IsGone(err):
		w.log().WithError(err).Info("pod watch expired, listing again")
	default:
		w.log().WithError(err).Debug("pod list-and-watch ended, retrying")
	}
}

// healthLogEvery spaces the warnings of a lasting outage.
const healthLogEvery = 30 * time.Second

// apiHealth reports the failures of the informer's own LIST and WATCH
// requests. client-go retries them with its own backoff but does not tell: a
// refused WATCH is retried inside the reflector and logged at V(4) only, so
// without this an outage would leave no trace. The first failure is a warning,
// then at most one every healthLogEvery while failures go on, and one line
// when requests succeed again; every failure reaches onError (the metric).
type apiHealth struct {
	log     logrus.FieldLogger
	onError func(error)
	now     func() time.Time
	fail    func(error) // told about a permanent error, which ends the watch

	mu       sync.Mutex
	failures int       // since the last success
	since    time.Time // first failure of this run
	logged   time.Time // last warning
}

func (h *apiHealth) observe(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	if err == nil {
		if h.failures > 0 {
			h.log.WithFields(logrus.Fields{"failures": h.failures, "after": now.Sub(h.since).Round(time.Second).String()}).
				Info("pod list and watch work again")
		}
		h.failures = 0
		return
	}
	if h.onError != nil {
		h.onError(err)
	}
	if retry.Permanent(err) && h.fail != nil {
		h.fail(err)
		return
	}
	h.failures++
	if h.failures == 1 {
		h.since = now
	}
	if h.failures == 1 || now.Sub(h.logged) >= healthLogEvery {
		h.logged = now
		h.log.WithError(err).WithFields(logrus.Fields{"failures": h.failures, "since": h.since.UTC().Format(time.RFC3339)}).
			Warn("listing or watching pods failed; client-go retries with backoff")
	}
}

func (w *Watch) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return w.clock().Now()
}

func (w *Watch) clock() clock.WithTicker {
	if w.Clock != nil {
		return w.Clock
	}
	return clock.RealClock{}
}

func (w *Watch) log() logrus.FieldLogger {
	if w.Log != nil {
		return w.Log
	}
	l := logrus.New()
	l.Out = io.Discard
	return l
}

// handler turns the informer's notifications into records. client-go calls
// it from one goroutine, so moves needs no lock; mu orders its sends with the
// snapshot's.
type handler struct {
	ctx     context.Context
	out     chan<- record.Placement
	now     func() time.Time
	tracked *atomic.Int64
	moves   *nodeMemory

	// mu is held from reading a pod to sending it. The cache is updated before
	// the handler hears of the change, so a snapshot that read a pod's previous
	// state has sent it before the handler can send the change: a snapshot
	// record never follows the record of a newer state (nor a pod's deletion).
	mu sync.Mutex
}

func (h *handler) onAdd(obj any, isInInitialList bool) {
	c, ok := obj.(*cachedPod)
	if !ok {
		return
	}
	h.tracked.Add(1)
	if isInInitialList {
		h.send(func(now time.Time) (record.Placement, bool) { return c.record(now, record.EventSnapshot), true })
		return
	}
	if c.node != "" {
		h.bound(c)
	}
}

func (h *handler) onUpdate(oldObj, newObj any) {
	old, ok1 := oldObj.(*cachedPod)
	c, ok2 := newObj.(*cachedPod)
	if !ok1 || !ok2 {
		return
	}
	switch {
	case old.uid != c.uid:
		// Only a new state after a broken watch does this: the pod was deleted
		// and another was created under its name while nobody was watching.
		h.gone(old)
		if c.node != "" {
			h.bound(c)
		}
	case c.node == "":
	case old.node == "":
		h.bound(c)
	case old.node != c.node || old.podIP != c.podIP || old.hostIP != c.hostIP || old.phase != c.phase:
		h.send(func(now time.Time) (record.Placement, bool) { return c.record(now, record.EventUpdated), true })
	}
	// Anything else (labels, conditions, an unchanged pod in a new listing) is
	// no event: the next snapshot carries it.
}

func (h *handler) onDelete(obj any) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		// Deleted while the watch was down: found missing by the new listing.
		obj = tombstone.Obj
	}
	c, ok := obj.(*cachedPod)
	if !ok {
		return
	}
	h.tracked.Add(-1)
	h.gone(c)
}

// bound sends a pod that now has a node: moved if the last pod of its name
// was elsewhere, else scheduled.
func (h *handler) bound(c *cachedPod) {
	h.send(func(now time.Time) (record.Placement, bool) {
		p := c.record(now, record.EventScheduled)
		if prev, ok := h.moves.take(c.key(), now); ok && prev != c.node {
			p.Event, p.PreviousNode = record.EventMoved, prev
		}
		return p, true
	})
}

// gone sends a deleted pod's last placement and remembers its node. A pod that
// never had a node is not sent, and leaves an earlier pod's node remembered.
func (h *handler) gone(c *cachedPod) {
	if c.node == "" {
		return
	}
	h.send(func(now time.Time) (record.Placement, bool) {
		h.moves.remember(c.key(), c.node, now)
		return c.record(now, record.EventDeleted), true
	})
}

// snapshot sends every pod of the cache and returns how many it sent.
func (h *handler) snapshot(store cache.Store) int {
	sent := 0
	for _, key := range store.ListKeys() {
		if h.ctx.Err() != nil {
			break
		}
		h.send(func(now time.Time) (record.Placement, bool) {
			obj, exists, err := store.GetByKey(key)
			c, ok := obj.(*cachedPod)
			if err != nil || !exists || !ok {
				return record.Placement{}, false // deleted since ListKeys
			}
			sent++
			return c.record(now, record.EventSnapshot), true
		})
	}
	return sent
}

// send builds a record under h.mu, with the time it is sent at, and sends it
// unless ctx has ended. It never blocks past ctx.
func (h *handler) send(build func(now time.Time) (record.Placement, bool)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := build(h.now())
	if !ok {
		return
	}
	select {
	case h.out <- p:
	case <-h.ctx.Done():
	}
}

// nodeMemory remembers the node of deleted pods by namespace/name for ttl, at
// most max of them. It is used from the handler's goroutine only.
type nodeMemory struct {
	ttl   time.Duration
	max   int
	nodes map[string]remembered
	swept time.Time
}

type remembered struct {
	node string
	at   time.Time
}

func newNodeMemory(ttl time.Duration, maxEntries int) *nodeMemory {
	return &nodeMemory{ttl: ttl, max: maxEntries, nodes: make(map[string]remembered)}
}

func (m *nodeMemory) remember(key, node string, now time.Time) {
	m.sweep(now)
	m.nodes[key] = remembered{node: node, at: now}
}

// take returns and forgets the node remembered for key, if it is younger than
// ttl: the pod of that name is placed again, so the cache knows its node now.
func (m *nodeMemory) take(key string, now time.Time) (string, bool) {
	r, ok := m.nodes[key]
	if !ok {
		return "", false
	}
	delete(m.nodes, key)
	return r.node, now.Sub(r.at) < m.ttl
}

// sweep forgets expired entries, at most once per ttl unless the memory is
// full; a memory still full of young entries drops arbitrary ones down to 90%,
// so that a storm of deletions does not sweep on every one.
func (m *nodeMemory) sweep(now time.Time) {
	if len(m.nodes) < m.max && now.Sub(m.swept) < m.ttl {
		return
	}
	m.swept = now
	for k, r := range m.nodes {
		if now.Sub(r.at) >= m.ttl {
			delete(m.nodes, k)
		}
	}
	for k := range m.nodes {
		if len(m.nodes) < m.max*9/10 {
			break
		}
		delete(m.nodes, k)
	}
}

func (m *nodeMemory) size() int { return len(m.nodes) }
