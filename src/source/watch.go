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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/retry"
)

// Watch is the source of continuous mode: one informer that lists the selected
// pods once and then watches them, so the API server sends only changes.
//
// Everything it sends carries record.Event:
//   - snapshot: every pod of the initial listing, once, and every pod of the
//     cache again every Interval (read from memory, no API request): printed
//     every Interval, or once an hour (Snapshots). Pods not yet bound to a
//     node are included, as the original tool printed them all.
//   - seen (StoreSeen, between hourly snapshots): one StoreOnly record every
//     Interval saying that every pod sent and not reported deleted is still
//     where it was (record.EventSeen).
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
// docs/benchmarks.md has what this costs per pod, at the sync and after.
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
	// Snapshots is which periodic snapshots are printed;
	// SnapshotsEveryInterval when empty.
	Snapshots Snapshots
	// StoreSeen sends, every Interval that has no printed snapshot, one
	// record.EventSeen for a store that keeps when each pod was last seen
	// (--store-in-cm); without it nothing is sent then.
	StoreSeen bool
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

	synced   atomic.Bool
	tracked  atomic.Int64
	podCache atomic.Pointer[cache.Store] // while Run runs, for PodsOn
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
	podCache := informer.GetStore()
	w.podCache.Store(&podCache)
	defer w.podCache.Store(nil)
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
// server outage would be silent; the paged LIST also peaks lower
// (docs/benchmarks.md).
type listThenWatch struct{ *cache.ListWatch }

// IsWatchListSemanticsUnSupported tells the reflector not to stream.
func (listThenWatch) IsWatchListSemanticsUnSupported() bool { return true }

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
