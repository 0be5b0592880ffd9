package serve

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pod-ashiato/ashiato/src/access"
	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/store"
)

// benchStore is hours × pods as the sink stores them: pods of ReplicaSets
// of ten, 100 to a node, every pod in every hour.
func benchStore(b *testing.B, hours, pods int) (*fakeStore, time.Time) {
	b.Helper()
	now := time.Date(2026, 11, 26, 14, 30, 0, 0, time.UTC)
	st := &fakeStore{}
	for i := range hours {
		h := store.NewHour(now.Add(-time.Duration(hours-1-i) * time.Hour))
		for p := range pods {
			ref := store.PodRef{Namespace: fmt.Sprintf("ns-%d", p%50), Name: fmt.Sprintf("web-%d-5d8f7c9b4-%05d", p/10, p)}
			node := fmt.Sprintf("ip-10-0-%d-%d.eu-west-1.compute.internal", p/100/250, p/100%250)
			h.Add(ref, node, h.Start.Add(time.Minute))
			h.Add(ref, node, h.Start.Add(59*time.Minute))
			h.SetOwner(ref, store.Owner{Kind: "ReplicaSet", Name: fmt.Sprintf("web-%d-5d8f7c9b4", p/10)})
		}
		st.hours = append(st.hours, h)
	}
	if err := st.begin(nil); err != nil { // encode now, outside the measure
		b.Fatal(err)
	}
	st.hours = nil
	return st, now
}

// peakHeap samples the live heap objects every millisecond until stop,
// and returns the highest reading above the heap at the start.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	go func() {
		var peak uint64
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > base && v-base > peak {
				peak = v - base
			}
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// BenchmarkPagesPeakHeap serves the default pod page and a 24-hour node page
// from 24 stored hours of 20,000 pods, by 1 and by 8 clients at once, and
// reports the peak heap above the start (MiB) and the time of a round; "whole
// hours" is the same pages built as before, from history.Reader.Read.
//
//	go test -run '^$' -bench PagesPeakHeap -benchtime 3x ./src/serve/
func BenchmarkPagesPeakHeap(b *testing.B) {
	st, now := benchStore(b, 24, 20_000)
	node := "ip-10-0-0-17.eu-west-1.compute.internal"
	pages := []string{"/pod?pod=ns-7/web-7-5d8f7c9b4-00007", "/node?node=" + node + "&since=24h", "/pod?pod=ns-7/web-7-5d8f7c9b4-00007&format=json", "/node?node=" + node + "&since=24h&format=json"}
	for _, clients := range []int{1, 8} {
		b.Run(fmt.Sprintf("streamed/clients=%d", clients), func(b *testing.B) {
			s := &Server{Store: st, MaxReads: clients, Budget: -1, Clock: clocktesting.NewFakePassiveClock(now), Auth: access.Open().Wrap}
			srv := httptest.NewServer(s.Handler())
			defer srv.Close()
			measure(b, clients, func() error {
				for _, p := range pages {
					resp, err := srv.Client().Get(srv.URL + p)
					if err != nil {
						return err
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						return fmt.Errorf("%s: %d", p, resp.StatusCode)
					}
				}
				return nil
			})
		})
		b.Run(fmt.Sprintf("whole hours/clients=%d", clients), func(b *testing.B) {
			r := &history.Reader{Store: st}
			measure(b, clients, func() error {
				for _, w := range []history.Window{{Since: now.Add(-24 * time.Hour), Until: now}} {
					hours, _, err := r.Read(context.Background(), w)
					if err != nil {
						return err
					}
					_ = history.Node(hours, node, w)
					runtime.KeepAlive(hours)
				}
				return nil
			})
		})
	}
}

// measure runs round by clients at once, b.N times each, and reports the
// peak heap.
func measure(b *testing.B, clients int, round func() error) {
	stop := make(chan struct{})
	peak := peakHeap(stop)
	var failed atomic.Value
	b.ResetTimer()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range b.N {
				if err := round(); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(stop)
	b.ReportMetric(float64(<-peak)/(1<<20), "peak-heap-MiB")
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
}
