package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// storeHealth is what the alerts need to know of the store. It is
// registered only once a sink starts, so that an instance without
// --store-in-cm or --store, or a replica that never led, exports none of it.
type storeHealth struct {
	lastFlush prometheus.Gauge
	pending   prometheus.Gauge
	shards    prometheus.Gauge
	flushes   *prometheus.CounterVec
	register  sync.Once
}

func newStoreHealth() *storeHealth {
	return &storeHealth{
		lastFlush: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ashiato_store_last_flush_timestamp_seconds",
			Help: "Unix time of the last successful flush of the store (the sink's start, before its first flush).",
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ashiato_store_pending_placements",
			Help: "Pods of the hours that hold placements not yet stored, as the last flush left them (0 when it succeeded).",
		}),
		shards: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ashiato_store_hour_shards",
			Help: "Objects (shards) of the newest hour the last flush wrote.",
		}),
		flushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ashiato_store_flushes_total", Help: "Flushes of the store, by result (ok, error).",
		}, []string{"result"}),
	}
}

// StoreStarted registers the store's metrics, the first time, and counts the
// sink's start as a flush: nothing is pending yet.
func (m *Metrics) StoreStarted(at time.Time) {
	s := m.store
	s.register.Do(func() {
		m.Registry.MustRegister(s.lastFlush, s.pending, s.shards, s.flushes)
		// Both results exist from the start, so that increase() sees the first error.
		s.flushes.WithLabelValues("ok")
		s.flushes.WithLabelValues("error")
	})
	s.lastFlush.Set(unixSeconds(at))
	s.pending.Set(0)
}

// StoreFlushed records one flush: when, its error, the pods still pending after
// it, and the shards of the newest hour it wrote (0: it wrote none).
func (m *Metrics) StoreFlushed(at time.Time, err error, pending, shards int) {
	s := m.store
	s.pending.Set(float64(pending))
	if shards > 0 {
		s.shards.Set(float64(shards))
	}
	if err != nil {
		s.flushes.WithLabelValues("error").Inc()
		return
	}
	s.flushes.WithLabelValues("ok").Inc()
	s.lastFlush.Set(unixSeconds(at))
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
