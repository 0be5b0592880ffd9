package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// ashiatoFlowSchema is the API server's priority-and-fairness flow schema that
// every service account outside kube-system falls into. The benchmark runs
// continuous mode as a service account of its own and is the only one, so the
// schema's counters are ashiato's own requests.
const ashiatoFlowSchema = "service-accounts"

// watchMarker is what src/source/watch.go logs once the informer has synced:
// its presence on stderr proves that the watch source ran.
const watchMarker = "pod cache synced"

// watchRun measures one continuous-mode process.
type watchRun struct {
	ashiato    string
	kubeconfig string // the service account's
	args       []string
	pods       int
	window     time.Duration
	storeInCM  bool
	// flush is the --cm-flush-interval, to know how long to wait for the
	// first write.
	flush      time.Duration
	apiMetrics func(context.Context) ([]series, error)
	log        func(format string, args ...any)
}

type watchSample struct {
	mode                         string
	startRSS, syncRSS, steadyRSS int64
	peakRSS, heap                int64
	sync                         time.Duration
	window                       time.Duration
	requests, requestsTotal      float64 // in the window; NaN when unknown
	openWatches                  float64
	syncWrites, syncBytes        float64
	steadyWrites, steadyBytes    float64
	records                      int
}

func (w *watchRun) argv(addr string) []string {
	return append([]string{w.ashiato, "--kubeconfig", w.kubeconfig, "--metrics-addr", addr}, w.args...)
}

// markerWriter remembers whether a string went through it (stderr lines).
type markerWriter struct {
	marker string
	seen   atomic.Bool
	tail   *tailBuffer
	carry  []byte
}

func (m *markerWriter) Write(p []byte) (int, error) {
	m.tail.Write(p)
	if !m.seen.Load() {
		buf := append(m.carry, p...)
		if strings.Contains(string(buf), m.marker) {
			m.seen.Store(true)
		}
		if k := len(m.marker); len(buf) > k {
			buf = buf[len(buf)-k:]
		}
		m.carry = append(m.carry[:0], buf...)
	}
	return len(p), nil
}

func (w *watchRun) run(ctx context.Context) (s watchSample, err error) {
	port, err := freePort()
	if err != nil {
		return s, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	base := "http://" + addr
	argv := w.argv(addr)
	cmd := exec.Command(argv[0], argv[1:]...)
	out := &lineCounter{}
	cmd.Stdout = out
	stderr := &markerWriter{marker: watchMarker, tail: &tailBuffer{max: 32 << 10}}
	cmd.Stderr = stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return s, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		// SIGTERM drains (a --store-in-cm run flushes); then SIGKILL.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if err != nil {
			err = fmt.Errorf("%w; ashiato stderr: %s", err, stderr.tail.String())
		}
	}()
	pid := cmd.Process.Pid
	var peak int64
	sampleRSS := func() (int64, error) {
		rss, hwm, err := procStatus(pid)
		peak = max(peak, hwm)
		return rss, err
	}
	poll := func(path string, every, timeout time.Duration) error {
		deadline := time.Now().Add(timeout)
		for {
			if ok, _ := httpOK(ctx, base+path); ok {
				return nil
			}
			select {
			case err := <-exited:
				exited <- err
				return fmt.Errorf("ashiato exited before %s answered: %v", path, err)
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(every):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s did not answer 200 within %s", path, timeout)
			}
			if _, err := sampleRSS(); err != nil {
				return err
			}
		}
	}

	if err := poll("/healthz", 5*time.Millisecond, time.Minute); err != nil {
		return s, err
	}
	if s.startRSS, err = sampleRSS(); err != nil {
		return s, err
	}
	if err := poll("/readyz", 20*time.Millisecond, 15*time.Minute); err != nil {
		return s, err
	}
	s.sync = time.Since(start)
	if s.syncRSS, err = sampleRSS(); err != nil {
		return s, err
	}
	w.log("  synced in %.1fs, RSS %.1f MiB", s.sync.Seconds(), float64(s.syncRSS)/mib)

	// The initial snapshot is sent by the time /readyz answers; wait until it
	// is printed.
	for deadline := time.Now().Add(5 * time.Minute); out.Lines() < w.pods; {
		if time.Now().After(deadline) {
			return s, fmt.Errorf("printed %d records, want %d", out.Lines(), w.pods)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return s, err
		}
	}

	own := func() ([]series, error) { return scrape(ctx, base+"/metrics") }
	if w.storeInCM {
		// The first flush after sync writes the whole hour; wait for it to end
		// (the count holds still for two seconds) before the steady window.
		deadline := time.Now().Add(w.flush + 5*time.Minute)
		last, stableSince := -1.0, time.Now()
		for {
			m, err := own()
			if err != nil {
				return s, err
			}
			n := sum(m, "ashiato_store_writes_total", nil)
			if n != last {
				last, stableSince = n, time.Now()
			}
			if n > 0 && time.Since(stableSince) >= 2*time.Second {
				s.syncWrites = n
				s.syncBytes = sum(m, "ashiato_store_written_bytes_total", nil)
				if errs := sum(m, "ashiato_store_writes_total", map[string]string{"result": "error"}); errs > 0 {
					return s, fmt.Errorf("%v ConfigMap writes failed", errs)
				}
				break
			}
			if time.Now().After(deadline) {
				return s, errors.New("no ConfigMap write after the sync")
			}
			if err := sleep(ctx, 200*time.Millisecond); err != nil {
				return s, err
			}
		}
	}
	if err := sleep(ctx, 2*time.Second); err != nil {
		return s, err
	}

	apiA, err := w.apiMetrics(ctx)
	if err != nil {
		return s, err
	}
	ownA, err := own()
	if err != nil {
		return s, err
	}
	tA := time.Now()
	if err := sleep(ctx, w.window); err != nil {
		return s, err
	}
	apiB, err := w.apiMetrics(ctx)
	if err != nil {
		return s, err
	}
	ownB, err := own()
	if err != nil {
		return s, err
	}
	s.window = time.Since(tA)
	if s.steadyRSS, err = sampleRSS(); err != nil {
		return s, err
	}
	s.peakRSS = peak
	s.heap = int64(sum(ownB, "go_memstats_heap_inuse_bytes", nil))
	s.records = out.Lines()

	dispatched := "apiserver_flowcontrol_dispatched_requests_total"
	schema := map[string]string{"flow_schema": ashiatoFlowSchema}
	s.requests = nan
	if sum(apiB, dispatched, schema) > 0 {
		s.requests = sum(apiB, dispatched, schema) - sum(apiA, dispatched, schema)
	}
	s.requestsTotal = sum(apiB, "apiserver_request_total", nil) - sum(apiA, "apiserver_request_total", nil)
	s.openWatches = sum(apiB, "apiserver_longrunning_requests", podWatches)
	s.steadyWrites = sum(ownB, "ashiato_store_writes_total", nil) - sum(ownA, "ashiato_store_writes_total", nil)
	s.steadyBytes = sum(ownB, "ashiato_store_written_bytes_total", nil) - sum(ownA, "ashiato_store_written_bytes_total", nil)

	s.mode = "watch"
	if !stderr.seen.Load() {
		s.mode = "not watch: ashiato never logged \"" + watchMarker + "\" (--source=watch is not wired in this build)"
	}
	return s, nil
}

// baseline counts the API server's requests over window with no ashiato
// running (what the control plane does on its own), and the pod watches open
// without ashiato (the Node authorizer's own).
func baseline(ctx context.Context, apiMetrics func(context.Context) ([]series, error), window time.Duration) (perHour, watches float64, err error) {
	a, err := apiMetrics(ctx)
	if err != nil {
		return 0, 0, err
	}
	t := time.Now()
	if err := sleep(ctx, window); err != nil {
		return 0, 0, err
	}
	b, err := apiMetrics(ctx)
	if err != nil {
		return 0, 0, err
	}
	d := sum(b, "apiserver_request_total", nil) - sum(a, "apiserver_request_total", nil)
	return d / time.Since(t).Hours(), sum(b, "apiserver_longrunning_requests", podWatches), nil
}

var podWatches = map[string]string{"verb": "WATCH", "resource": "pods"}

func httpOK(ctx context.Context, url string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

func scrape(ctx context.Context, url string) ([]series, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	return parseMetrics(resp.Body)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
