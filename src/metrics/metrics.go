// Package metrics exposes what Pod Ashiato does as Prometheus metrics, plus the
// /healthz and /readyz endpoints a Deployment probes, on one HTTP address.
//
// The counters are fed from the outside of the stages: a pass-through stage
// counts records by event, and the sink and the retry policy report writes and
// API errors through hooks. No stage imports this package.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// Metrics holds every ashiato_ metric in its own registry (never the global
// one, so tests and several instances do not collide).
type Metrics struct {
	Registry *prometheus.Registry

	records     *prometheus.CounterVec
	moves       prometheus.Counter
	storeWrites *prometheus.CounterVec
	storeBytes  *prometheus.CounterVec
	apiErrors   *prometheus.CounterVec
	compactions *prometheus.CounterVec
	lastSync    prometheus.Gauge
	leader      prometheus.Gauge
	ready       atomic.Bool
	trackedFunc atomic.Pointer[func() int]
	incidents   *incidents
	reschedules *reschedules
	lostNodes   *lostNodes
	store       *storeHealth
}

// New registers the metrics. tracked, when set later with SetTracked, reports
// the pods the source currently tracks.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ashiato_records_emitted_total", Help: "Placement records printed, by event.",
		}, []string{"event"}),
		moves: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ashiato_pod_moves_total", Help: "Pods seen on another node than before (records with event moved).",
		}),
		storeWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ashiato_store_writes_total", Help: "Creates and updates of the store's objects, by backend (configmap, s3) and result.",
		}, []string{"backend", "result"}),
		storeBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ashiato_store_written_bytes_total", Help: "Bytes of object values written successfully to the store, by backend (in the ConfigMap store, what the API server's 1 MiB limit counts).",
		}, []string{"backend"}),
		apiErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ashiato_api_errors_total", Help: "Failed API requests (each try of a retried request counts), by reason.",
		}, []string{"reason"}),
		compactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ashiato_compactions_total", Help: "Table files (Parquet) of closed hours the recorder wrote beside the S3 store's hours, by table (placements, node_events) and result (written, exists: already there, error).",
		}, []string{"table", "result"}),
		lastSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ashiato_last_sync_timestamp_seconds", Help: "Unix time of the last complete view of the selected pods (a full listing, or a snapshot of the synced watch cache).",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ashiato_leader", Help: "1 while this instance emits and writes (always, without --leader-elect), 0 while it stands by.",
		}),
	}
	tracked := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ashiato_pods_tracked", Help: "Pods the source currently tracks (the watch cache, or the last listing).",
	}, func() float64 {
		if f := m.trackedFunc.Load(); f != nil {
			return float64((*f)())
		}
		return 0
	})
	m.Registry.MustRegister(m.records, m.moves, m.storeWrites, m.storeBytes, m.apiErrors, m.compactions, m.lastSync, m.leader, tracked,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.incidents = newIncidents()
	m.Registry.MustRegister(m.incidents.collectors()...)
	m.reschedules = newReschedules(DefaultMaxNamespaces)
	m.lostNodes = newLostNodes()
	m.store = newStoreHealth()
	m.Registry.MustRegister(m.reschedules.counter, m.lostNodes)
	return m
}

// SetMaxNamespaces sets how many namespaces get a label value of their own on
// ashiato_reschedules_total (--metrics-namespaces); the others count as
// OtherNamespaces.
func (m *Metrics) SetMaxNamespaces(n int) { m.reschedules.setMax(n) }

// SetPodsOnNodes sets the function that counts, for each of the given nodes,
// the pods bound to it: the pod source's cache. Until it is set the lost-node
// gauges are not exported.
func (m *Metrics) SetPodsOnNodes(f func(nodes map[string]bool) map[string]int) {
	m.lostNodes.podsOn.Store(&f)
}

// SetTracked sets the function ashiato_pods_tracked reads.
func (m *Metrics) SetTracked(f func() int) { m.trackedFunc.Store(&f) }

// Synced marks a complete view of the pods: it sets the last-sync time and,
// the first time, makes /readyz answer ready.
func (m *Metrics) Synced(at time.Time) {
	m.lastSync.Set(unixSeconds(at))
	m.ready.Store(true)
}

// Ready reports what /readyz answers.
func (m *Metrics) Ready() bool { return m.ready.Load() }

// SetReady sets /readyz directly (a standby replica is ready: it has nothing to sync).
func (m *Metrics) SetReady(ready bool) { m.ready.Store(ready) }

// SetLeader records whether this instance leads.
func (m *Metrics) SetLeader(leading bool) {
	if leading {
		m.leader.Set(1)
	} else {
		m.leader.Set(0)
	}
}

// StoreWrite counts one write of an object of the store, whose backend
// (--store: configmap, s3) labels it.
func (m *Metrics) StoreWrite(backend string, bytes int, err error) {
	if err != nil {
		m.storeWrites.WithLabelValues(backend, "error").Inc()
		return
	}
	m.storeWrites.WithLabelValues(backend, "ok").Inc()
	m.storeBytes.WithLabelValues(backend).Add(float64(bytes))
}

// Compaction counts one table file of a closed hour (compact.Options.Observe):
// its table and the result, written, exists or error.
func (m *Metrics) Compaction(table, result string) {
	m.compactions.WithLabelValues(table, result).Inc()
}

// APIError counts one failed API request by its reason (Conflict,
// TooManyRequests, ...), or "network" when the server was not reached.
func (m *Metrics) APIError(err error) {
	m.apiErrors.WithLabelValues(reasonOf(err)).Inc()
}

// storeReasons name the store's answers that carry no API status (the S3
// store's) by the API server's reasons for the same answers, so that one
// label value means one thing whatever the backend.
var storeReasons = []struct {
	err    error
	reason metav1.StatusReason
}{
	{storeio.ErrConflict, metav1.StatusReasonConflict},
	{storeio.ErrAlreadyExists, metav1.StatusReasonAlreadyExists},
	{storeio.ErrNotFound, metav1.StatusReasonNotFound},
	{storeio.ErrForbidden, metav1.StatusReasonForbidden},
	{storeio.ErrTooLarge, metav1.StatusReasonRequestEntityTooLarge},
	{retry.ErrTransient, metav1.StatusReasonServiceUnavailable},
}

func reasonOf(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		if reason := apierrors.ReasonForError(err); reason != "" {
			return string(reason)
		}
		return string(metav1.StatusReasonUnknown)
	}
	for _, r := range storeReasons {
		if errors.Is(err, r.err) {
			return string(r.reason)
		}
	}
	return "network"
}

// Count is a pipeline stage that counts the records to be printed by event
// (StoreOnly ones are not) and passes every record on.
func (m *Metrics) Count(ctx context.Context, in <-chan record.Placement, out chan<- record.Placement) error {
	defer close(out)
	for r := range in {
		if !r.StoreOnly { // not printed
			m.records.WithLabelValues(string(r.Event)).Inc()
		}
		if r.Event == record.EventMoved {
			m.moves.Inc()
		}
		// A pod lost with its node and back under its name is recreated, not moved:
		// the causes do not overlap, so their sum is every reschedule.
		switch replaced := m.incidents.observe(r); {
		case replaced:
			m.reschedules.inc(r.Namespace, CauseRecreated)
		case r.Event == record.EventMoved:
			m.reschedules.inc(r.Namespace, CauseMoved)
		}
		if r.Event.IsPod() {
			m.reschedules.see(r.Namespace)
		}
		m.lostNodes.observe(r)
		select {
		case out <- r:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Handler serves /metrics, /healthz (the process is alive and serving) and
// /readyz (the first sync is done).
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !m.ready.Load() {
			http.Error(w, "not ready: first sync not done", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// newServer is the metrics http.Server with the web view's timeouts
// (serve.NewHTTPServer's): a slow or idle client cannot hold a connection,
// however many it opens, and a scrape that takes too long to write is cut.
func newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      45 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
	}
}

// Listen binds addr at once, so a port already in use is a start-up error,
// and returns a function that serves until ctx ends.
func (m *Metrics) Listen(addr string) (serve func(ctx context.Context) error, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics address %s: %w", addr, err)
	}
	srv := newServer(m.Handler())
	return func(ctx context.Context) error {
		go func() {
			<-ctx.Done()
			shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(shutdown)
		}()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving metrics: %w", err)
		}
		return nil
	}, nil
}
