package sink

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logrustest "github.com/sirupsen/logrus/hooks/test"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

const ns = "ashiato"

var (
	hour14 = time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	hour15 = hour14.Add(time.Hour)
	cmRes  = schema.GroupResource{Resource: "configmaps"}
)

func placement(pod, node string, at time.Time) record.Placement {
	return record.Placement{Namespace: "shop", Pod: pod, Node: node, Timestamp: at, Event: record.EventSnapshot}
}

// legacy is a ConfigMap as the original tool wrote it: no hour label, no annotations.
func legacy(hour time.Time, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: store.NameFor(hour), Namespace: ns, Labels: map[string]string{"app": "pod-ashiato", "type": "pod-node-mapping"}},
		Data:       data,
	}
}

func newSink(client *fake.Clientset) *Writer {
	return &Writer{
		Store: configmapstore.New(client.CoreV1(), ns), FlushInterval: time.Hour, FinalTimeout: 5 * time.Second,
		Retry: retry.Policy{Backoff: wait.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 50, Cap: 10 * time.Millisecond}},
	}
}

// run feeds the placements through a sink and returns its error.
func run(t *testing.T, s *Writer, in ...record.Placement) error {
	t.Helper()
	ch := make(chan record.Placement, len(in))
	for _, p := range in {
		ch <- p
	}
	close(ch)
	return s.Run(t.Context(), ch)
}

// hourOf reads back what the store holds for the hour.
func hourOf(t *testing.T, client *fake.Clientset, hour time.Time) map[string]string {
	t.Helper()
	list, err := client.CoreV1().ConfigMaps(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var objs []storeio.Shard
	for _, cm := range list.Items {
		if h, _, ok := store.ParseName(cm.Name); ok && h.Equal(hour) {
			objs = append(objs, configmapstore.Shard(&cm))
		}
	}
	h, _, warnings := store.Decode(t.Context(), hour, objs)
	if len(warnings) > 0 {
		t.Fatalf("store holds damaged values: %v", warnings)
	}
	got := map[string]string{}
	for ref, seen := range h.Pods {
		var nodes []string
		for _, s := range seen {
			nodes = append(nodes, s.Node)
		}
		got[ref.Namespace+"_"+ref.Name] = strings.Join(nodes, ",")
	}
	return got
}

// stored is the hour's ConfigMaps as a sink writes them after receiving in.
func stored(t *testing.T, in ...record.Placement) []runtime.Object {
	t.Helper()
	h := store.NewHour(store.HourOf(in[0].Timestamp))
	for _, p := range in {
		h.Add(store.PodRef{Namespace: p.Namespace, Name: p.Pod}, p.Node, p.Timestamp)
	}
	cms, err := store.Encode(h, 0)
	if err != nil {
		t.Fatal(err)
	}
	objs := make([]runtime.Object, len(cms))
	for i, cm := range cms {
		objs[i] = configMap(cm)
	}
	return objs
}

// configMap is a shard as the ConfigMap store writes it in ns.
func configMap(s *storeio.Shard) *corev1.ConfigMap { return configmapstore.New(nil, ns).ConfigMap(s) }

func writes(client *fake.Clientset) (n int) {
	for _, a := range client.Actions() {
		if a.GetResource().Resource == "configmaps" && (a.GetVerb() == "create" || a.GetVerb() == "update") {
			n++
		}
	}
	return n
}

func TestRun(t *testing.T) {
	at := hour14.Add(2 * time.Minute)
	tests := []struct {
		name       string
		existing   []runtime.Object
		in         []record.Placement
		want       map[time.Time]map[string]string
		wantWrites int
	}{
		{
			name:       "one write for many pods",
			in:         []record.Placement{placement("a", "n1", at), placement("b", "n1", at), placement("c", "n2", at)},
			want:       map[time.Time]map[string]string{hour14: {"shop_a": "n1", "shop_b": "n1", "shop_c": "n2"}},
			wantWrites: 1,
		},
		{
			name:       "unscheduled pods are not stored",
			in:         []record.Placement{placement("a", "n1", at), placement("pending", "", at)},
			want:       map[time.Time]map[string]string{hour14: {"shop_a": "n1"}},
			wantWrites: 1,
		},
		{
			name:       "each hour its own ConfigMap",
			in:         []record.Placement{placement("a", "n1", at), placement("b", "n2", hour15.Add(time.Second))},
			want:       map[time.Time]map[string]string{hour14: {"shop_a": "n1"}, hour15: {"shop_b": "n2"}},
			wantWrites: 2,
		},
		{
			name:       "merges into the original tool's ConfigMap",
			existing:   []runtime.Object{legacy(hour14, map[string]string{"kube-system_dns": "n9"})},
			in:         []record.Placement{placement("a", "n1", at)},
			want:       map[time.Time]map[string]string{hour14: {"kube-system_dns": "n9", "shop_a": "n1"}},
			wantWrites: 1,
		},
		{
			name:       "a pod on two nodes keeps both",
			in:         []record.Placement{placement("web-0", "n1", at), placement("web-0", "n2", at.Add(time.Minute))},
			want:       map[time.Time]map[string]string{hour14: {"shop_web-0": "n1,n2"}},
			wantWrites: 1,
		},
		{
			// The same placements again: the content would not change, so
			// nothing is written (and nothing read to know it but at start).
			name:       "nothing new, no write",
			existing:   stored(t, placement("a", "n1", at), placement("b", "n2", at)),
			in:         []record.Placement{placement("b", "n2", at), placement("a", "n1", at)},
			want:       map[time.Time]map[string]string{hour14: {"shop_a": "n1", "shop_b": "n2"}},
			wantWrites: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.existing...)
			if err := run(t, newSink(client), tt.in...); err != nil {
				t.Fatal(err)
			}
			for hour, want := range tt.want {
				if got := hourOf(t, client, hour); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s holds %v, want %v", store.NameFor(hour), got, want)
				}
			}
			if got := writes(client); got != tt.wantWrites {
				t.Errorf("%d writes, want %d", got, tt.wantWrites)
			}
		})
	}
}

func TestSecondRunInTheHourKeepsTheFirst(t *testing.T) {
	client := fake.NewClientset()
	at := hour14.Add(10 * time.Minute)
	if err := run(t, newSink(client), placement("a", "n1", at)); err != nil {
		t.Fatal(err)
	}
	// A restart: a new sink with nothing in memory.
	if err := run(t, newSink(client), placement("b", "n2", at.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"shop_a": "n1", "shop_b": "n2"}
	if got := hourOf(t, client, hour14); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("store holds %v, want %v", got, want)
	}
}

// TestConflictRereadsAndMerges races a concurrent writer: it adds a key of its
// own just before our update lands. The sink must read again and keep both.
func TestConflictRereadsAndMerges(t *testing.T) {
	client := fake.NewClientset(legacy(hour14, map[string]string{"shop_a": "n1"}))
	raced := false
	client.PrependReactor("update", "configmaps", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if raced {
			return false, nil, nil
		}
		raced = true
		theirs := legacy(hour14, map[string]string{"shop_a": "n1", "other_x": "n7"})
		if err := client.Tracker().Update(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, theirs, ns); err != nil {
			t.Errorf("concurrent write: %v", err)
		}
		return true, nil, apierrors.NewConflict(cmRes, theirs.Name, errors.New("the object has been modified"))
	})
	if err := run(t, newSink(client), placement("b", "n2", hour14.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if !raced {
		t.Fatal("the race was not exercised")
	}
	want := map[string]string{"other_x": "n7", "shop_a": "n1", "shop_b": "n2"}
	if got := hourOf(t, client, hour14); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("store holds %v, want %v", got, want)
	}
}

func TestUpdateCarriesTheReadResourceVersion(t *testing.T) {
	old := legacy(hour14, map[string]string{"shop_a": "n1"})
	old.ResourceVersion = "42"
	client := fake.NewClientset(old)
	var sent string
	client.PrependReactor("update", "configmaps", func(action k8stesting.Action) (bool, runtime.Object, error) {
		sent = action.(k8stesting.UpdateAction).GetObject().(*corev1.ConfigMap).ResourceVersion
		return false, nil, nil
	})
	if err := run(t, newSink(client), placement("b", "n2", hour14.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if sent != "42" {
		t.Fatalf("update sent resourceVersion %q, want the one read (42)", sent)
	}
}

func TestRetriesTransientErrors(t *testing.T) {
	client := fake.NewClientset()
	failures := 3
	client.PrependReactor("create", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		if failures > 0 {
			failures--
			return true, nil, apierrors.NewServiceUnavailable("etcd leader election")
		}
		return false, nil, nil
	})
	if err := run(t, newSink(client), placement("a", "n1", hour14)); err != nil {
		t.Fatal(err)
	}
	if got := hourOf(t, client, hour14); got["shop_a"] != "n1" {
		t.Fatalf("store holds %v after transient errors", got)
	}
}

func TestPermanentErrorFails(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("create", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(cmRes, "x", errors.New("RBAC"))
	})
	err := run(t, newSink(client), placement("a", "n1", hour14))
	if !apierrors.IsForbidden(err) {
		t.Fatalf("Run = %v, want the Forbidden error", err)
	}
}

// handClock is a fake clock whose ticker the test drives tick by tick. A
// FakeClock ticker drops a tick the sink has not taken yet, so a test that
// steps it cannot know which ticks the sink saw; tick returns only once the
// sink has taken its tick.
type handClock struct {
	*clocktesting.FakeClock
	ticks chan time.Time
}

func newHandClock(now time.Time) *handClock {
	return &handClock{FakeClock: clocktesting.NewFakeClock(now), ticks: make(chan time.Time)}
}

func (c *handClock) NewTicker(time.Duration) clock.Ticker { return handTicker(c.ticks) }

type handTicker chan time.Time

func (t handTicker) C() <-chan time.Time { return t }
func (handTicker) Stop()                 {}

// running is a sink reading from an open input on a handClock.
type running struct {
	t     *testing.T
	clock *handClock
	in    chan record.Placement
	done  chan error
	idle  chan chan struct{}
}

func start(t *testing.T, s *Writer, now time.Time) *running {
	t.Helper()
	r := &running{t: t, clock: newHandClock(now), in: make(chan record.Placement), done: make(chan error, 1)}
	s.Clock = r.clock
	s.idle = make(chan chan struct{})
	r.idle = s.idle
	go func() { r.done <- s.Run(t.Context(), r.in) }()
	return r
}

func (r *running) send(ps ...record.Placement) {
	for _, p := range ps {
		r.in <- p
	}
}

// tick moves the clock by d, hands the sink a tick and returns once the sink
// has finished with it.
func (r *running) tick(d time.Duration) {
	r.clock.Step(d)
	r.clock.ticks <- r.clock.Now()
	r.settle()
}

// settle returns once the sink has finished with everything it took before,
// the flush it started included. An unscheduled pod is never stored; the
// sink takes it only after the tick before it.
func (r *running) settle() {
	r.in <- record.Placement{Namespace: "shop", Pod: "settle", Timestamp: r.clock.Now()}
	w := make(chan struct{})
	r.idle <- w
	<-w
}

func (r *running) stop() {
	r.t.Helper()
	close(r.in)
	if err := <-r.done; err != nil {
		r.t.Fatal(err)
	}
}

// TestFlushesOnTicker checks that a long-running sink writes while its input
// stays open, once per flush, not once per pod.
func TestFlushesOnTicker(t *testing.T) {
	client := fake.NewClientset()
	s := newSink(client)
	s.FlushInterval = 30 * time.Second
	now := hour14.Add(5 * time.Minute)
	r := start(t, s, now)
	for i := range 50 {
		r.send(placement(fmt.Sprintf("p%d", i), "n1", now))
	}
	if w := writes(client); w != 0 {
		t.Fatalf("%d writes before the first tick, want none", w)
	}
	r.tick(s.FlushInterval)
	r.settle()
	if n := len(hourOf(t, client, hour14)); n != 50 {
		t.Fatalf("after a tick, with the input still open, the store holds %d pods, want 50", n)
	}
	if w := writes(client); w != 1 {
		t.Errorf("%d writes for 50 pods in one flush, want 1", w)
	}
	r.tick(s.FlushInterval)
	if w := writes(client); w != 1 {
		t.Errorf("%d writes after the second tick, want 1: nothing new arrived after the first flush", w)
	}
	r.stop()
	if w := writes(client); w != 2 {
		t.Errorf("%d writes in all, want 2: the last flush writes the pods' true last seen", w)
	}
}

// TestDeletedHourIsRecreatedWhole: an operator deletes the hour's ConfigMap in
// the middle of the hour; the next flush writes back everything this sink
// stored of the hour, not only what arrived since.
func TestDeletedHourIsRecreatedWhole(t *testing.T) {
	client := fake.NewClientset()
	s := newSink(client)
	now := hour14.Add(5 * time.Minute)
	r := start(t, s, now)

	r.send(placement("a", "n1", now))
	r.tick(s.flushInterval())
	r.settle()
	if got := hourOf(t, client, hour14); len(got) != 1 {
		t.Fatalf("after the first flush the store holds %v, want shop_a", got)
	}
	if err := client.CoreV1().ConfigMaps(ns).Delete(t.Context(), store.NameFor(hour14), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r.send(placement("b", "n2", now))
	r.tick(s.flushInterval())
	r.settle()
	want := map[string]string{"shop_a": "n1", "shop_b": "n2"}
	if got := hourOf(t, client, hour14); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the hand delete the store holds %v, want %v", got, want)
	}
	r.stop()
}

// TestOutageBacksOffAcrossFlushes: while the API server is unreachable the
// sink spaces its flushes out with one backoff for the whole stage, logging one
// line per failed flush, and stores everything once it answers again.
func TestOutageBacksOffAcrossFlushes(t *testing.T) {
	client := fake.NewClientset()
	var down atomic.Bool
	down.Store(true)
	client.PrependReactor("*", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		if down.Load() {
			return true, nil, apierrors.NewServiceUnavailable("apiserver down")
		}
		return false, nil, nil
	})
	log, hook := logrustest.NewNullLogger()
	s := newSink(client)
	s.Log = log
	s.FlushInterval = 5 * time.Millisecond
	// One try per request within a flush (MaxElapsed is over at once), so only
	// the stage's backoff spaces the flushes: 40 ms doubling, no jitter.
	s.Retry = retry.Policy{Backoff: wait.Backoff{Duration: 40 * time.Millisecond, Factor: 2, Steps: 100, Cap: time.Second}, MaxElapsed: time.Nanosecond, Log: log}
	now := hour14.Add(5 * time.Minute)
	r := start(t, s, now)
	r.send(placement("a", "n1", now))

	warnings := func() (n int) {
		for _, e := range hook.AllEntries() {
			if e.Level == logrus.WarnLevel {
				n++
			}
		}
		return n
	}
	// 140 ticks, 700 ms: flushes at 5 ms, then after 40, 80, 160 and 320 ms of
	// backoff (45, 125, 285, 605 ms); every other tick is skipped.
	for range 140 {
		r.tick(s.FlushInterval)
	}
	r.settle()
	if got := warnings(); got != 5 {
		t.Errorf("%d warning lines in 700 ms of outage at a 5 ms flush interval, want 5 (one per backed-off flush)", got)
	}

	down.Store(false)
	// The next flush is due at 605 + 640 ms.
	for r.clock.Now().Before(now.Add(1245 * time.Millisecond)) {
		r.tick(s.FlushInterval)
	}
	r.settle()
	if got := hourOf(t, client, hour14); got["shop_a"] != "n1" {
		t.Fatalf("after the outage the store holds %v, want shop_a on n1", got)
	}
	if got := warnings(); got != 5 {
		t.Errorf("%d warning lines, want still 5: no flush before the backoff is over", got)
	}
	again := false
	for _, e := range hook.AllEntries() {
		again = again || e.Message == "storing placements again"
	}
	if !again {
		t.Error("no 'storing placements again' line after recovery")
	}
	r.stop()
}
