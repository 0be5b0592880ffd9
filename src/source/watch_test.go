package source

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/retry"
)

// watchWait bounds every wait on the informer; the reflector backs off about a
// second before listing again after a broken watch.
const watchWait = 10 * time.Second

// fakeClock is a settable Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// placedPod is a pod as a kubelet leaves it: bound, running, with IPs, an owner
// and the fields the trimmer drops (labels, annotations, containers, managed fields).
func placedPod(ns, name, uid, node, podIP string) *corev1.Pod {
	yes := true
	start := metav1.NewTime(time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC))
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name, UID: types.UID(uid),
			Labels:      map[string]string{"app": "web"},
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"big":"blob"}`},
			OwnerReferences: []metav1.OwnerReference{
				{Kind: "ConfigMap", Name: "not-the-controller"},
				{Kind: "StatefulSet", Name: "web", Controller: &yes},
			},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet", Operation: metav1.ManagedFieldsOperationUpdate}},
		},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
	}
	if node != "" {
		p.Status = corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: podIP, HostIP: "192.0.2." + node[len(node)-1:], StartTime: &start,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: start}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true, Image: "registry.k8s.io/pause:3.10"}},
		}
	} else {
		p.Status.Phase = corev1.PodPending
	}
	return p
}

// watchRun is a Watch running in the background, with its output collected.
type watchRun struct {
	t      *testing.T
	w      *Watch
	out    chan record.Placement
	cancel context.CancelFunc
	done   chan error

	stopOnce sync.Once
	stopErr  error
}

func startWatch(t *testing.T, w *Watch) *watchRun {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r := &watchRun{t: t, w: w, out: make(chan record.Placement, 1000), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- w.Run(ctx, r.out) }()
	t.Cleanup(func() { _ = r.stop() })
	return r
}

// next is the next record, or fails the test.
func (r *watchRun) next() record.Placement {
	r.t.Helper()
	select {
	case p, ok := <-r.out:
		if !ok {
			r.t.Fatal("out closed early")
		}
		return p
	case <-time.After(watchWait):
		r.t.Fatal("no record in time")
	}
	return record.Placement{}
}

// nextN is the next n records, sorted by pod name (the initial listing and a
// snapshot come in the cache's order).
func (r *watchRun) nextN(n int) []record.Placement {
	r.t.Helper()
	got := make([]record.Placement, n)
	for i := range got {
		got[i] = r.next()
	}
	sort.SliceStable(got, func(i, j int) bool { return got[i].Pod < got[j].Pod })
	return got
}

func (r *watchRun) waitSynced() {
	r.t.Helper()
	deadline := time.Now().Add(watchWait)
	for !r.w.Synced() {
		if time.Now().After(deadline) {
			r.t.Fatal("not synced in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitWatching waits until the informer's watch of the fake clientset is
// open: a change made between its listing and its watch would be missed, as
// the fake cannot replay deletions. The fake records an action under the lock
// it reacts under, so a recorded watch is an open one.
func waitWatching(t *testing.T, client *fake.Clientset, watches int) {
	t.Helper()
	deadline := time.Now().Add(watchWait)
	for {
		n := 0
		for _, a := range client.Actions() {
			if a.GetVerb() == "watch" {
				n++
			}
		}
		if n >= watches {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d watch requests, want %d", n, watches)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stop cancels Run, drains out until it is closed and returns Run's error.
func (r *watchRun) stop() error {
	r.stopOnce.Do(func() { r.stopErr = r.stopNow() })
	return r.stopErr
}

func (r *watchRun) stopNow() error {
	r.cancel()
	timeout := time.After(watchWait)
	for {
		select {
		case _, ok := <-r.out:
			if !ok {
				select {
				case err := <-r.done:
					return err
				case <-timeout:
					return fmt.Errorf("Run did not return after closing out")
				}
			}
		case <-timeout:
			return fmt.Errorf("out not closed in time")
		}
	}
}

// brief is the part of a record the event tests compare.
func brief(p record.Placement) string {
	s := fmt.Sprintf("%s %s/%s uid=%s node=%s ip=%s phase=%s", p.Event, p.Namespace, p.Pod, p.UID, p.Node, p.PodIP, p.Phase)
	if p.PreviousNode != "" {
		s += " previous=" + p.PreviousNode
	}
	return s
}

func briefs(ps []record.Placement) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = brief(p)
	}
	return out
}

func TestWatchInitialSnapshot(t *testing.T) {
	clk := newClock()
	seed := []*corev1.Pod{
		placedPod("shop", "a", "ua", "n1", "10.0.0.1"),
		placedPod("shop", "b", "ub", "n2", "10.0.0.2"),
		placedPod("shop", "c", "uc", "", ""), // not scheduled: no placement, still listed
	}
	objs := make([]k8sruntime.Object, len(seed))
	for i, p := range seed {
		objs[i] = p
	}
	w := &Watch{Client: fake.NewClientset(objs...), Now: clk.Now}
	if w.Synced() {
		t.Fatal("Synced before Run")
	}
	r := startWatch(t, w)
	got := r.nextN(len(seed))
	for i, p := range seed {
		// Through the trimmed cache, a record is exactly what FromPod makes of the full pod.
		if want := FromPod(p, clk.Now(), record.EventSnapshot); fmt.Sprintf("%+v", got[i]) != fmt.Sprintf("%+v", want) {
			t.Errorf("snapshot of %s\n got %+v\nwant %+v", p.Name, got[i], want)
		}
	}
	r.waitSynced()
	if n := w.Tracked(); n != len(seed) {
		t.Errorf("Tracked() = %d, want %d", n, len(seed))
	}
	if err := r.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if w.Synced() {
		t.Error("Synced after Run returned")
	}
}

// watchEnv is what a watchStep acts on: the fake cluster, the clock, the running watch
// and the records received so far.
type watchEnv struct {
	client *fake.Clientset
	clk    *fakeClock
	r      *watchRun
	got    []string
}

// receive takes the next record, checks it carries the clock's time, and
// keeps it.
func (e *watchEnv) receive(t *testing.T) {
	t.Helper()
	p := e.r.next()
	if !p.Timestamp.Equal(e.clk.Now()) {
		t.Errorf("%s: timestamp %v, want the clock's %v", brief(p), p.Timestamp, e.clk.Now())
	}
	e.got = append(e.got, brief(p))
}

// watchStep changes the cluster through the fake clientset while the watch runs.
type watchStep func(ctx context.Context, t *testing.T, e *watchEnv)

func createPod(p *corev1.Pod) watchStep {
	return func(ctx context.Context, t *testing.T, e *watchEnv) {
		t.Helper()
		if _, err := e.client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func updatePod(ns, name string, change func(*corev1.Pod)) watchStep {
	return func(ctx context.Context, t *testing.T, e *watchEnv) {
		t.Helper()
		p, err := e.client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		change(p)
		if _, err := e.client.CoreV1().Pods(ns).Update(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func deletePod(ns, name string) watchStep {
	return func(ctx context.Context, t *testing.T, e *watchEnv) {
		t.Helper()
		if err := e.client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// advanceClock moves the clock; a receiveRecord before it makes sure the handler is done
// with the earlier steps.
func advanceClock(d time.Duration) watchStep {
	return func(_ context.Context, _ *testing.T, e *watchEnv) { e.clk.Advance(d) }
}

func receiveRecord(_ context.Context, t *testing.T, e *watchEnv) { t.Helper(); e.receive(t) }

func TestWatchEvents(t *testing.T) {
	bind := func(node, ip string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			bound := placedPod(p.Namespace, p.Name, string(p.UID), node, ip)
			p.Spec.NodeName, p.Status = node, bound.Status
		}
	}
	// Steps that should send nothing are followed by a marker pod: the handler
	// is sequential, so if the marker's record comes first, nothing was sent.
	marker := createPod(placedPod("shop", "marker", "um", "n9", "10.9.9.9"))
	markerRecord := "scheduled shop/marker uid=um node=n9 ip=10.9.9.9 phase=Running"

	tests := []struct {
		name  string
		seed  []*corev1.Pod
		steps []watchStep
		want  []string
	}{
		{
			name:  "created unbound, then bound: scheduled",
			steps: []watchStep{createPod(placedPod("shop", "p", "u1", "", "")), updatePod("shop", "p", bind("n1", "10.0.0.1"))},
			want:  []string{"scheduled shop/p uid=u1 node=n1 ip=10.0.0.1 phase=Running"},
		},
		{
			name:  "created bound: scheduled",
			steps: []watchStep{createPod(placedPod("shop", "p", "u1", "n1", "10.0.0.1"))},
			want:  []string{"scheduled shop/p uid=u1 node=n1 ip=10.0.0.1 phase=Running"},
		},
		{
			name:  "pod IP changes: updated",
			seed:  []*corev1.Pod{placedPod("shop", "p", "u1", "n1", "10.0.0.1")},
			steps: []watchStep{updatePod("shop", "p", func(p *corev1.Pod) { p.Status.PodIP = "10.0.0.2" })},
			want:  []string{"updated shop/p uid=u1 node=n1 ip=10.0.0.2 phase=Running"},
		},
		{
			name:  "phase changes: updated",
			seed:  []*corev1.Pod{placedPod("shop", "p", "u1", "n1", "10.0.0.1")},
			steps: []watchStep{updatePod("shop", "p", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded })},
			want:  []string{"updated shop/p uid=u1 node=n1 ip=10.0.0.1 phase=Succeeded"},
		},
		{
			name: "labels or conditions change: nothing",
			seed: []*corev1.Pod{placedPod("shop", "p", "u1", "n1", "10.0.0.1")},
			steps: []watchStep{
				updatePod("shop", "p", func(p *corev1.Pod) { p.Labels["version"] = "2" }),
				updatePod("shop", "p", func(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }),
				marker,
			},
			want: []string{markerRecord},
		},
		{
			name:  "unbound pod updated: nothing",
			steps: []watchStep{createPod(placedPod("shop", "p", "u1", "", "")), updatePod("shop", "p", func(p *corev1.Pod) { p.Labels["x"] = "y" }), marker},
			want:  []string{markerRecord},
		},
		{
			name:  "bound pod deleted: deleted with its last placement",
			seed:  []*corev1.Pod{placedPod("shop", "p", "u1", "n1", "10.0.0.1")},
			steps: []watchStep{deletePod("shop", "p")},
			want:  []string{"deleted shop/p uid=u1 node=n1 ip=10.0.0.1 phase=Running"},
		},
		{
			name:  "unbound pod deleted: nothing",
			seed:  []*corev1.Pod{placedPod("shop", "p", "u1", "", "")},
			steps: []watchStep{deletePod("shop", "p"), marker},
			want:  []string{markerRecord},
		},
		{
			name:  "recreated under the same name on another node: moved",
			seed:  []*corev1.Pod{placedPod("shop", "web-0", "u1", "n1", "10.0.0.1")},
			steps: []watchStep{deletePod("shop", "web-0"), createPod(placedPod("shop", "web-0", "u2", "n2", "10.0.0.2"))},
			want: []string{
				"deleted shop/web-0 uid=u1 node=n1 ip=10.0.0.1 phase=Running",
				"moved shop/web-0 uid=u2 node=n2 ip=10.0.0.2 phase=Running previous=n1",
			},
		},
		{
			name: "recreated, pending, then bound elsewhere: moved",
			seed: []*corev1.Pod{placedPod("shop", "web-0", "u1", "n1", "10.0.0.1")},
			steps: []watchStep{
				deletePod("shop", "web-0"),
				createPod(placedPod("shop", "web-0", "u2", "", "")),
				updatePod("shop", "web-0", bind("n2", "10.0.0.2")),
			},
			want: []string{
				"deleted shop/web-0 uid=u1 node=n1 ip=10.0.0.1 phase=Running",
				"moved shop/web-0 uid=u2 node=n2 ip=10.0.0.2 phase=Running previous=n1",
			},
		},
		{
			name: "recreated, deleted before binding, recreated elsewhere: moved from the last node",
			seed: []*corev1.Pod{placedPod("shop", "web-0", "u1", "n1", "10.0.0.1")},
			steps: []watchStep{
				deletePod("shop", "web-0"),
				createPod(placedPod("shop", "web-0", "u2", "", "")),
				deletePod("shop", "web-0"),
				createPod(placedPod("shop", "web-0", "u3", "n3", "10.0.0.3")),
			},
			want: []string{
				"deleted shop/web-0 uid=u1 node=n1 ip=10.0.0.1 phase=Running",
				"moved shop/web-0 uid=u3 node=n3 ip=10.0.0.3 phase=Running previous=n1",
			},
		},
		{
			name:  "recreated on the same node: scheduled",
			seed:  []*corev1.Pod{placedPod("shop", "web-0", "u1", "n1", "10.0.0.1")},
			steps: []watchStep{deletePod("shop", "web-0"), createPod(placedPod("shop", "web-0", "u2", "n1", "10.0.0.2"))},
			want: []string{
				"deleted shop/web-0 uid=u1 node=n1 ip=10.0.0.1 phase=Running",
				"scheduled shop/web-0 uid=u2 node=n1 ip=10.0.0.2 phase=Running",
			},
		},
		{
			name: "recreated elsewhere after the move memory: scheduled",
			seed: []*corev1.Pod{placedPod("shop", "web-0", "u1", "n1", "10.0.0.1")},
			steps: []watchStep{
				deletePod("shop", "web-0"),
				receiveRecord,
				advanceClock(2 * time.Minute), // MoveMemory is one minute in this test
				createPod(placedPod("shop", "web-0", "u2", "n2", "10.0.0.2")),
			},
			want: []string{
				"deleted shop/web-0 uid=u1 node=n1 ip=10.0.0.1 phase=Running",
				"scheduled shop/web-0 uid=u2 node=n2 ip=10.0.0.2 phase=Running",
			},
		},
		{
			name:  "a different name on another node is not a move",
			seed:  []*corev1.Pod{placedPod("shop", "web-0", "u1", "n1", "10.0.0.1")},
			steps: []watchStep{deletePod("shop", "web-0"), createPod(placedPod("shop", "web-1", "u2", "n2", "10.0.0.2"))},
			want: []string{
				"deleted shop/web-0 uid=u1 node=n1 ip=10.0.0.1 phase=Running",
				"scheduled shop/web-1 uid=u2 node=n2 ip=10.0.0.2 phase=Running",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			objs := make([]k8sruntime.Object, len(tt.seed))
			for i, p := range tt.seed {
				objs[i] = p
			}
			client := fake.NewClientset(objs...)
			clk := newClock()
			w := &Watch{Client: client, Now: clk.Now, MoveMemory: time.Minute}
			r := startWatch(t, w)
			for _, p := range r.nextN(len(tt.seed)) {
				if p.Event != record.EventSnapshot {
					t.Errorf("initial record %s, want a snapshot", brief(p))
				}
			}
			r.waitSynced()
			waitWatching(t, client, 1)
			e := &watchEnv{client: client, clk: clk, r: r}
			for _, s := range tt.steps {
				s(t.Context(), t, e)
			}
			for len(e.got) < len(tt.want) {
				e.receive(t)
			}
			if !slices.Equal(e.got, tt.want) {
				t.Errorf("records\n got %q\nwant %q", e.got, tt.want)
			}
			if err := r.stop(); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
}

// TestWatchRelistAfterExpiredWatch breaks the first watch (it never delivers an
// event, then fails with 410 Gone) while the cluster changes: what happened in
// between must come out of client-go's new listing.
func TestWatchRelistAfterExpiredWatch(t *testing.T) {
	client := fake.NewClientset(
		placedPod("shop", "a", "ua", "n1", "10.0.0.1"),  // deleted during the outage
		placedPod("shop", "b", "ub1", "n2", "10.0.0.2"), // deleted and recreated elsewhere
		placedPod("shop", "d", "ud", "n4", "10.0.0.4"),  // unchanged
	)
	dead := watch.NewRaceFreeFake()
	var watches atomic.Int32
	client.PrependWatchReactor("pods", func(k8stesting.Action) (bool, watch.Interface, error) {
		if watches.Add(1) == 1 {
			return true, dead, nil
		}
		return false, nil, nil // the default reactor: a real watch of the tracker
	})
	w := &Watch{Client: client}
	r := startWatch(t, w)
	r.nextN(3)
	r.waitSynced()

	ctx, e := t.Context(), &watchEnv{client: client, clk: newClock(), r: r}
	for _, s := range []watchStep{
		deletePod("shop", "a"),
		deletePod("shop", "b"),
		createPod(placedPod("shop", "b", "ub2", "n3", "10.0.0.3")),
		createPod(placedPod("shop", "c", "uc", "n1", "10.0.0.5")),
	} {
		s(ctx, t, e)
	}
	dead.Error(&metav1.Status{Status: metav1.StatusFailure, Code: http.StatusGone, Reason: metav1.StatusReasonExpired, Message: "too old resource version"})

	got := briefs([]record.Placement{r.next(), r.next(), r.next(), r.next()})
	want := []string{
		"deleted shop/a uid=ua node=n1 ip=10.0.0.1 phase=Running",
		"deleted shop/b uid=ub1 node=n2 ip=10.0.0.2 phase=Running",
		"moved shop/b uid=ub2 node=n3 ip=10.0.0.3 phase=Running previous=n2",
		"scheduled shop/c uid=uc node=n1 ip=10.0.0.5 phase=Running",
	}
	// Tombstones come first; b's deletion before its move; otherwise the listing's order.
	if i, j := slices.Index(got, want[1]), slices.Index(got, want[2]); i < 0 || j < i {
		t.Errorf("b: want deleted before moved, got %q", got)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("records after relisting\n got %q\nwant %q", got, want)
	}
	// The new watch works: a later change arrives as an event.
	waitWatching(t, client, 2)
	updatePod("shop", "d", func(p *corev1.Pod) { p.Status.PodIP = "10.0.0.44" })(ctx, t, e)
	if got, want := brief(r.next()), "updated shop/d uid=ud node=n4 ip=10.0.0.44 phase=Running"; got != want {
		t.Errorf("after the new watch: got %q, want %q", got, want)
	}
	if n := w.Tracked(); n != 3 {
		t.Errorf("Tracked() = %d, want 3", n)
	}
}

// pagedPods makes the fake clientset serve LIST of n pods in pages as the API
// server does, and returns the options of every LIST it served. fail, when it
// returns an error, answers the request instead.
func pagedPods(client *fake.Clientset, n int, fail func(metav1.ListOptions) error) func() []metav1.ListOptions {
	all := make([]corev1.Pod, n)
	for i := range all {
		all[i] = *placedPod("shop", fmt.Sprintf("p%04d", i), fmt.Sprint(i), "n1", "10.0.0.1")
	}
	var (
		mu    sync.Mutex
		lists []metav1.ListOptions
	)
	client.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, k8sruntime.Object, error) {
		opts := a.(k8stesting.ListActionImpl).GetListOptions()
		mu.Lock()
		lists = append(lists, opts)
		mu.Unlock()
		if fail != nil {
			if err := fail(opts); err != nil {
				return true, nil, err
			}
		}
		from, _ := strconv.Atoi(opts.Continue)
		to := n
		if opts.Limit > 0 {
			to = min(from+int(opts.Limit), n)
		}
		page := &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "7"}, Items: slices.Clone(all[from:to])}
		if to < n {
			page.Continue = strconv.Itoa(to)
		}
		return true, page, nil
	})
	return func() []metav1.ListOptions {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(lists)
	}
}

// TestWatchListsInPages covers the LIST that client-go makes when the initial
// state cannot be streamed (always, with the fake clientset): N pods with
// --page-size P reach the API server as ceil(N/P) requests of at most P pods.
func TestWatchListsInPages(t *testing.T) {
	tests := []struct {
		pods      int
		pageSize  int64
		wantPages int
	}{
		{pods: 25, pageSize: 10, wantPages: 3},
		{pods: 20, pageSize: 10, wantPages: 2},
		{pods: 7, pageSize: 1, wantPages: 7},
		{pods: 3, pageSize: 500, wantPages: 1},
		{pods: 2*DefaultPageSize + 234, pageSize: 0, wantPages: 3}, // unset: the default
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d pods, page size %d", tt.pods, tt.pageSize), func(t *testing.T) {
			client := fake.NewClientset()
			lists := pagedPods(client, tt.pods, nil)
			w := &Watch{Client: client, PageSize: tt.pageSize}
			r := startWatch(t, w)
			for i, p := range r.nextN(tt.pods) {
				if want := fmt.Sprintf("p%04d", i); p.Event != record.EventSnapshot || p.Pod != want || p.Node != "n1" {
					t.Fatalf("record %d: %s, want a snapshot of %s", i, brief(p), want)
				}
			}
			r.waitSynced()
			if got := len(lists()); got != tt.wantPages {
				t.Errorf("%d LIST requests, want %d pages", got, tt.wantPages)
			}
		})
	}
}

func TestListAll(t *testing.T) {
	const pageSize = 7 // the page size asked for, as --page-size
	notOlder := metav1.ResourceVersionMatchNotOlderThan
	tests := []struct {
		name      string
		in        metav1.ListOptions // as client-go's reflector asks
		wantFirst metav1.ListOptions // the first page requested
	}{
		{
			name:      "first LIST: any version becomes a consistent read",
			in:        metav1.ListOptions{ResourceVersion: "0", Limit: 500},
			wantFirst: metav1.ListOptions{Limit: pageSize},
		},
		{
			name:      "LIST after a broken watch: not older than, in pages",
			in:        metav1.ListOptions{ResourceVersion: "42"},
			wantFirst: metav1.ListOptions{ResourceVersion: "42", ResourceVersionMatch: notOlder, Limit: pageSize},
		},
		{
			name:      "LIST after an expired version: latest, in pages",
			in:        metav1.ListOptions{},
			wantFirst: metav1.ListOptions{Limit: pageSize},
		},
		{
			name:      "an explicit match is kept",
			in:        metav1.ListOptions{ResourceVersion: "42", ResourceVersionMatch: metav1.ResourceVersionMatchExact, Limit: 10},
			wantFirst: metav1.ListOptions{ResourceVersion: "42", ResourceVersionMatch: metav1.ResourceVersionMatchExact, Limit: pageSize},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset()
			lists := pagedPods(client, 2*pageSize+1, nil)
			obj, err := listAll(t.Context(), client.CoreV1().Pods("shop"), tt.in, pageSize, newTrimmer())
			if err != nil {
				t.Fatal(err)
			}
			list := obj.(*metainternalversion.List)
			if len(list.Items) != 2*pageSize+1 || list.Continue != "" || list.ResourceVersion != "7" {
				t.Errorf("got %d items, continue %q, resourceVersion %q; want %d items of version 7, no continue", len(list.Items), list.Continue, list.ResourceVersion, 2*pageSize+1)
			}
			if _, ok := list.Items[2*pageSize].(*cachedPod); !ok {
				t.Errorf("items are %T, want trimmed", list.Items[2*pageSize])
			}
			got := lists()
			if len(got) != 3 {
				t.Fatalf("%d requests, want 3 pages", len(got))
			}
			if got[0] != tt.wantFirst {
				t.Errorf("first page asked with %+v, want %+v", got[0], tt.wantFirst)
			}
			for _, next := range got[1:] {
				if next.Continue == "" || next.ResourceVersion != "" || next.ResourceVersionMatch != "" || next.Limit != pageSize {
					t.Errorf("next page asked with %+v, want only a continue token and the limit", next)
				}
			}
		})
	}

	t.Run("expired continue token: 410 for the reflector to list again", func(t *testing.T) {
		client := fake.NewClientset()
		pagedPods(client, pageSize+1, func(opts metav1.ListOptions) error {
			if opts.Continue != "" {
				return apierrors.NewResourceExpired("continue token too old")
			}
			return nil
		})
		_, err := listAll(t.Context(), client.CoreV1().Pods("shop"), metav1.ListOptions{}, pageSize, newTrimmer())
		if !apierrors.IsResourceExpired(err) {
			t.Errorf("got %v, want a ResourceExpired error", err)
		}
	})
}

func TestWatchPeriodicSnapshotFromCache(t *testing.T) {
	client := fake.NewClientset(
		placedPod("shop", "a", "ua", "n1", "10.0.0.1"),
		placedPod("shop", "b", "ub", "", ""),
	)
	w := &Watch{Client: client, Interval: 20 * time.Millisecond}
	r := startWatch(t, w)
	for round := range 4 { // the initial snapshot, then three from the cache
		got := r.nextN(2)
		if got[0].Pod != "a" || got[1].Pod != "b" || got[0].Event != record.EventSnapshot || got[1].Event != record.EventSnapshot {
			t.Fatalf("round %d: got %q, want snapshots of a and b", round, briefs(got))
		}
	}
	lists := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "list" {
			lists++
		}
	}
	if lists != 1 {
		t.Errorf("%d LIST requests, want 1: snapshots must come from the cache", lists)
	}
}

func TestWatchSelection(t *testing.T) {
	web := placedPod("shop", "web", "u1", "n1", "10.0.0.1")
	db := placedPod("shop", "db", "u2", "n1", "10.0.0.2")
	db.Labels = map[string]string{"app": "db"}
	other := placedPod("other", "web", "u3", "n1", "10.0.0.3")
	client := fake.NewClientset(web, db, other)
	w := &Watch{Client: client, Selection: Selection{Namespace: "shop", LabelSelector: "app=web"}}
	r := startWatch(t, w)
	if got := brief(r.next()); got != "snapshot shop/web uid=u1 node=n1 ip=10.0.0.1 phase=Running" {
		t.Errorf("got %q, want only shop/web", got)
	}
	r.waitSynced()
	waitWatching(t, client, 1)
	for _, a := range client.Actions() {
		var selector string
		switch a := a.(type) {
		case k8stesting.ListActionImpl:
			selector = a.GetListRestrictions().Labels.String()
		case k8stesting.WatchActionImpl:
			selector = a.GetWatchRestrictions().Labels.String()
		default:
			continue
		}
		if a.GetNamespace() != "shop" || selector != "app=web" {
			t.Errorf("%s request: namespace %q, selector %q; want shop, app=web", a.GetVerb(), a.GetNamespace(), selector)
		}
	}
}

func TestWatchInvalidSelector(t *testing.T) {
	out := make(chan record.Placement)
	w := &Watch{Client: fake.NewClientset(), Selection: Selection{LabelSelector: "app in (web"}}
	if err := w.Run(t.Context(), out); err == nil {
		t.Error("Run accepted an invalid label selector")
	}
	if _, ok := <-out; ok {
		t.Error("out not closed")
	}
}

func TestWatchStopsOnCancel(t *testing.T) {
	tests := []struct {
		name string
		read bool // a consumer that never reads leaves the handler blocked on a send
	}{
		{name: "consumer reading", read: true},
		{name: "consumer stuck", read: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var objs []k8sruntime.Object
			for i := range 50 {
				objs = append(objs, placedPod("shop", fmt.Sprintf("p%02d", i), fmt.Sprint(i), "n1", "10.0.0.1"))
			}
			w := &Watch{Client: fake.NewClientset(objs...), Interval: time.Millisecond}
			out := make(chan record.Placement) // unbuffered: every send waits for the consumer
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx, out) }()
			if tt.read {
				for range 120 { // the initial snapshot and more from the cache
					<-out
				}
			} else {
				<-out
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v, want nil", err)
				}
			case <-time.After(watchWait):
				t.Fatal("Run did not return after cancel")
			}
			for range out { // closed, possibly after what was in flight
			}
		})
	}
}

func TestTrimmer(t *testing.T) {
	seen := time.Date(2026, 11, 26, 14, 2, 0, 0, time.FixedZone("X", 3600))
	nanos := placedPod("shop", "web-1", "u2", "n1", "10.0.0.2")
	nanos.Status.Conditions[0].LastTransitionTime = metav1.NewTime(time.Date(2026, 11, 26, 13, 0, 0, 123456789, time.UTC))
	nanos.Status.Conditions = append(nanos.Status.Conditions, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue})
	noController := placedPod("shop", "job-x", "u3", "n1", "10.0.0.3")
	noController.OwnerReferences = []metav1.OwnerReference{{Kind: "Job", Name: "x"}}
	tests := []struct {
		name string
		pod  *corev1.Pod
	}{
		{name: "placed pod with a controller", pod: placedPod("shop", "web-0", "u1", "n1", "10.0.0.1")},
		{name: "unscheduled pod", pod: placedPod("shop", "web-0", "u1", "", "")},
		{name: "nanoseconds and a zero transition time", pod: nanos},
		{name: "owner without the controller flag", pod: noController},
		{name: "bare pod", pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := newTrimmer().transform(tt.pod)
			if err != nil {
				t.Fatal(err)
			}
			c, ok := obj.(*cachedPod)
			if !ok {
				t.Fatalf("transform returned %T, want *cachedPod", obj)
			}
			// Through the cache, a pod comes out exactly as FromPod makes it.
			got, want := c.record(seen, record.EventUpdated), FromPod(tt.pod, seen, record.EventUpdated)
			if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
				t.Errorf("through the cache\n got %#v\nwant %#v", got, want)
			}
		})
	}
}

func TestCachedPod(t *testing.T) {
	tr := newTrimmer()
	full := placedPod("shop", "web-0", "u1", "n1", "10.0.0.1")
	full.ResourceVersion = "42"
	obj, _ := tr.transform(full)
	c := obj.(*cachedPod)

	key, err := cache.MetaNamespaceKeyFunc(c)
	if err != nil || key != "shop/web-0" || c.key() != key {
		t.Errorf("cache key %q (%v), key() %q; want shop/web-0", key, err, c.key())
	}
	if c.GetResourceVersion() != "42" || c.GetUID() != "u1" {
		t.Errorf("resourceVersion %q, uid %q; want 42, u1", c.GetResourceVersion(), c.GetUID())
	}
	if c.owner == nil || c.owner.kind != "StatefulSet" || c.owner.name != "web" {
		t.Errorf("owner %+v, want the controller StatefulSet/web", c.owner)
	}
	// Of the rest of the pod (labels, annotations, managed fields, other owners,
	// containers, container statuses) the cache keeps nothing at all.
	if c.GetLabels() != nil || c.GetAnnotations() != nil || c.GetManagedFields() != nil || c.GetOwnerReferences() != nil || c.GetFinalizers() != nil {
		t.Error("metadata beyond namespace, name, uid and resourceVersion kept")
	}
	if size := unsafe.Sizeof(cachedPod{}); size > 48 {
		t.Errorf("cachedPod is %d bytes, want at most 48", size)
	}

	if again, _ := tr.transform(c); again != any(c) {
		t.Error("transforming a cachedPod again changed it")
	}
	tomb := cache.DeletedFinalStateUnknown{Key: "shop/web-0", Obj: c}
	if again, _ := tr.transform(tomb); again != any(tomb) {
		t.Error("a tombstone did not pass unchanged")
	}

	// What pods share is one value, not a copy each.
	other, _ := tr.transform(placedPod("shop", "web-1", "u2", "n1", "10.0.0.2"))
	o := other.(*cachedPod)
	if c.place != o.place || c.owner != o.owner || c.state != o.state {
		t.Errorf("node, owner or status not shared between pods on one node of one owner: %p/%p %p/%p %p/%p",
			c.place, o.place, c.owner, o.owner, c.state, o.state)
	}
	elsewhere, _ := tr.transform(placedPod("shop", "web-2", "u3", "n2", "10.0.0.3"))
	if e := elsewhere.(*cachedPod); e.place == c.place || e.node() != "n2" {
		t.Errorf("a pod on n2 shares n1's place (%q)", e.node())
	}

	// The setters client-go's interface has change what they say and
	// nothing else.
	cp := c.DeepCopyObject().(*cachedPod)
	cp.SetResourceVersion("43")
	cp.SetUID("u9")
	cp.SetName("web-9")
	cp.SetNamespace("cart")
	if cp.key() != "cart/web-9" || cp.uid() != "u9" || cp.resourceVersion() != "43" || cp.podIP() != "10.0.0.1" ||
		!cp.time(1).Equal(c.time(1)) || c.key() != "shop/web-0" || c.resourceVersion() != "42" {
		t.Errorf("after the setters the copy is %s %s %s %s, the original %s %s", cp.key(), cp.uid(), cp.resourceVersion(), cp.podIP(), c.key(), c.resourceVersion())
	}
	rec := c.record(time.Now(), record.EventSnapshot)
	rec.Conditions[0].Status = "Unknown"
	if c.state.conditions[0].status != "True" {
		t.Error("a record shares conditions with the cache")
	}
}

func TestNodeMemory(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		after    time.Duration
		wantNode string
		wantOK   bool
	}{
		{name: "within ttl", after: 59 * time.Second, wantNode: "n1", wantOK: true},
		{name: "at ttl", after: time.Minute, wantNode: "n1", wantOK: false},
		{name: "past ttl", after: time.Hour, wantNode: "n1", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newNodeMemory(time.Minute, 10)
			m.remember("shop/web-0", "n1", t0)
			node, ok := m.take("shop/web-0", t0.Add(tt.after))
			if ok != tt.wantOK || (ok && node != tt.wantNode) {
				t.Errorf("take = %q, %v; want %q, %v", node, ok, tt.wantNode, tt.wantOK)
			}
			if _, ok := m.take("shop/web-0", t0); ok {
				t.Error("take did not forget")
			}
		})
	}

	t.Run("expired entries swept", func(t *testing.T) {
		m := newNodeMemory(time.Minute, 1000)
		for i := range 5 {
			m.remember(fmt.Sprint(i), "n", t0)
		}
		m.remember("late", "n", t0.Add(2*time.Minute))
		if m.size() != 1 {
			t.Errorf("%d remembered, want only the late one", m.size())
		}
	})
	t.Run("capped", func(t *testing.T) {
		m := newNodeMemory(time.Hour, 100)
		for i := range 1000 {
			m.remember(fmt.Sprint(i), "n", t0)
		}
		if m.size() > 100 {
			t.Errorf("%d remembered, want at most 100", m.size())
		}
		if _, ok := m.take("999", t0); !ok {
			t.Error("the newest entry was dropped")
		}
	})
}

// TestWatchFailsOnUntrustedServer: a server whose certificate is not trusted
// ends the watch with that error at once, where client-go alone would retry it
// forever.
func TestWatchFailsOnUntrustedServer(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer srv.Close()
	client, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL}) // no CA: the test server's is unknown
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	out := make(chan record.Placement, 10)
	err = (&Watch{Client: client}).Run(ctx, out)
	if ctx.Err() != nil {
		t.Fatalf("Run still retrying after 20 s (returned %v); want it to fail at once", err)
	}
	if !retry.Permanent(err) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Run = %v, want the certificate error", err)
	}
	if _, open := <-out; open {
		t.Error("out not closed")
	}
}
