package oracle

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/emit"
	"github.com/pod-ashiato/ashiato/src/filter"
	"github.com/pod-ashiato/ashiato/src/leader"
	"github.com/pod-ashiato/ashiato/src/pipeline"
	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/sink"
	"github.com/pod-ashiato/ashiato/src/source"
)

// recorder is one Pod Ashiato process, in-process: the real source, filter,
// emitter and sink, on the runner's fake clock, behind a transport that a kill
// cuts (a killed process makes no request again).
type recorder struct {
	name   string
	client kubernetes.Interface
	dead   atomic.Bool
	stop   context.CancelFunc // SIGTERM
	done   chan error         // the process's end
	tap    *tap

	mu       sync.Mutex
	watch    *source.Watch // of the pipeline running now; nil while standing by
	start    time.Time     // fake time its pipeline started
	nextSnap time.Time
	nextTick time.Time
	goodTick time.Time // last flush that stored everything, or start
	flushes  chan flushed
}

type flushed struct {
	at  time.Time
	err error
}

// killedStatus is what a killed recorder's requests get: a 403, which
// nothing retries, so the dead process's last flush fails at once.
const killedStatus = `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,"message":"process killed"}`

type killable struct {
	next http.RoundTripper
	dead *atomic.Bool
}

func (k killable) RoundTrip(req *http.Request) (*http.Response, error) {
	if k.dead.Load() {
		return &http.Response{StatusCode: http.StatusForbidden, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(killedStatus)), Request: req}, nil
	}
	return k.next.RoundTrip(req)
}

// startRecorder starts a process; with elect, it stands for election on the
// Lease first (package leader) and runs its pipeline only while leading.
func (r *runner) startRecorder(name string, elect bool) (*recorder, error) {
	rec := &recorder{name: name, done: make(chan error, 1), tap: newTap(), flushes: make(chan flushed, 64)}
	cfg := rest.CopyConfig(r.cfg.Rest)
	cfg.QPS, cfg.Burst = 500, 1000
	cfg.WarningHandler = rest.NoWarnings{} // 253-character pod names draw one per request
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return killable{next: rt, dead: &rec.dead} })
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", name, err)
	}
	rec.client = client
	ctx, stop := context.WithCancel(context.Background())
	rec.stop = stop
	work := func(ctx context.Context) error { return r.pipeline(ctx, rec) }
	go func() {
		if elect {
			e := &leader.Elector{Client: client, Namespace: r.storeNS, Name: "oracle", Identity: name, Log: r.log,
				// Generous: a renewal missed on a busy machine would hand over
				// unplanned. A release is seen within RetryPeriod.
				LeaseDuration: 30 * time.Second, RenewDeadline: 20 * time.Second, RetryPeriod: 200 * time.Millisecond}
			rec.done <- e.Run(ctx, work)
			return
		}
		rec.done <- work(ctx)
	}()
	return rec, nil
}

// pipeline is runPipeline of src/cmd with the oracle's clock and tap.
func (r *runner) pipeline(ctx context.Context, rec *recorder) error {
	now := r.clk.Now()
	// As deployed: the snapshot printed once an hour, EventSeen between.
	w := &source.Watch{Client: rec.client, Selection: source.Selection{Namespace: r.podNS}, Interval: snapInterval,
		Snapshots: source.SnapshotsHourly, StoreSeen: true, Clock: r.clk, Log: r.log, PageSize: 200}
	s := &sink.Writer{Store: configmapstore.New(rec.client.CoreV1(), r.storeNS), FlushInterval: flushInterval, FinalTimeout: time.Minute,
		Clock: r.clk, Log: r.log,
		Retry:   retry.Policy{Backoff: wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 1 << 20, Cap: 2 * time.Second}, MaxElapsed: 2 * time.Second},
		OnFlush: func(at time.Time, err error) { rec.flushes <- flushed{at, err} },
	}
	if r.objects != nil {
		s.Store = r.objects
	}
	rec.mu.Lock()
	rec.watch, rec.start, rec.goodTick = w, now, now
	rec.nextSnap, rec.nextTick = now.Add(snapInterval), now.Add(flushInterval)
	rec.mu.Unlock()
	defer func() {
		rec.mu.Lock()
		rec.watch = nil
		rec.mu.Unlock()
	}()
	stages := []pipeline.Stage{
		filter.Chain{filter.NotNamePrefixes{skipPrefix}}.Run,
		(&emit.Emitter{Log: emit.NewLogger(io.Discard)}).Run,
	}
	return pipeline.Run(ctx, w.Run, stages, rec.tap.wrap(s.Run))
}

// leading reports whether the recorder's pipeline runs and has sent its
// initial snapshot.
func (rec *recorder) leading() bool {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.watch != nil && rec.watch.Synced()
}

// tap stands between the last stage and the sink, on an unbuffered channel: a
// record it has counted is in the sink's hands, so the next flush tick
// stores it.
type tap struct {
	mu      sync.Mutex
	counts  map[tapKey]int
	changed chan struct{}
}

type tapKey struct {
	pod, node string
	kind      string // "bound", "deleted", "snapshot"
	at        int64  // UnixNano
}

func newTap() *tap { return &tap{counts: map[tapKey]int{}, changed: make(chan struct{})} }

func kindOf(e record.Event) string {
	switch e {
	case record.EventScheduled, record.EventMoved:
		return "bound"
	case record.EventDeleted:
		return "deleted"
	case record.EventSnapshot:
		return "snapshot"
	case record.EventSeen:
		return "seen"
	}
	return string(e)
}

func (t *tap) add(p record.Placement) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := tapKey{pod: p.Pod, node: p.Node, kind: kindOf(p.Event), at: p.Timestamp.UnixNano()}
	t.counts[k]++
	if k.kind == "snapshot" {
		t.counts[tapKey{kind: "snapshot", at: k.at}]++
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *tap) count(k tapKey) (int, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.counts[k], t.changed
}

func (t *tap) wrap(run pipeline.Sink) pipeline.Sink {
	return func(ctx context.Context, in <-chan record.Placement) error {
		ch := make(chan record.Placement)
		errc := make(chan error, 1)
		go func() { errc <- run(ctx, ch) }()
		// A sink that fails ends the pipeline (errgroup) at once; what is
		// still in flight is drained meanwhile.
		failed := func(err error) error {
			go func() {
				for range in {
				}
			}()
			return err
		}
		for {
			select {
			case p, ok := <-in:
				if !ok {
					close(ch)
					return <-errc
				}
				select {
				case ch <- p:
					t.add(p)
				case err := <-errc:
					return failed(err)
				}
			case err := <-errc:
				return failed(err)
			}
		}
	}
}

// wait blocks until the tap has counted want records of k.
func (t *tap) wait(k tapKey, want int, timeout time.Duration) error {
	return t.waitEither(k, want, tapKey{}, 0, timeout)
}

// waitEither waits until the tap has counted want records of k, or want2 of
// k2 (never, when want2 is 0).
func (t *tap) waitEither(k tapKey, want int, k2 tapKey, want2 int, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		n, changed := t.count(k)
		if n >= want {
			return nil
		}
		if n2, _ := t.count(k2); want2 > 0 && n2 >= want2 {
			return nil
		}
		select {
		case <-changed:
		case <-deadline:
			return fmt.Errorf("waited %s for %d %s record(s) of %q on %q at %s, got %d", timeout, want, k.kind, k.pod, k.node, time.Unix(0, k.at).UTC().Format(time.RFC3339Nano), n)
		}
	}
}
