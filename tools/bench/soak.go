package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// The soak runs ashiato as k8s/base deploys it, over one long window with no
// pod changing, and samples what it costs as it goes. deployedArgs are the
// Deployment's arguments (the rest are the flags' defaults: watch, --interval
// 30s, --cm-flush-interval 30s); deployedMemoryLimit is its memory limit,
// which the Deployment passes on as GOMEMLIMIT. TestSoakMatchesTheDeployment
// keeps both in step with k8s/base/deployment.yaml.
var deployedArgs = []string{"--store-in-cm"}

// s3DeployedArgs are the arguments k8s/components/s3 gives instead of the
// base's first (its deployment-patch.yaml; TestSoakS3MatchesTheComponent),
// for the bucket x.
func s3DeployedArgs(x *s3Bucket) []string {
	return []string{"--store=s3", "--s3-bucket=" + x.srv.Bucket, "--s3-region=" + x.srv.Region,
		"--s3-prefix=pod-ashiato", "--s3-endpoint=" + x.proxy.URL(), "--cluster-name=" + s3Cluster}
}

const deployedMemoryLimit = "512Mi"

// soakSample is the state of the run at one moment; counters are cumulative
// since the process started.
type soakSample struct {
	T        float64 `json:"t_seconds"` // since the process started
	RSSMiB   float64 `json:"rss_mib"`   // VmRSS
	HWMMiB   float64 `json:"hwm_mib"`   // VmHWM, the peak so far
	Lines    int     `json:"stdout_lines"`
	Bytes    int64   `json:"stdout_bytes"`
	Requests float64 `json:"api_requests"` // ashiato's own (its service account's flow schema)
	CMReads  float64 `json:"cm_reads"`     // LIST and GET of configmaps at the API server
	CMWrites float64 `json:"cm_writes"`    // ashiato_store_writes_total
	CMBytes  float64 `json:"cm_bytes_written"`
	// Tables is the Parquet files the recorder's compaction wrote
	// (ashiato_compactions_total{result="written"}; --soak-store s3).
	Tables float64 `json:"tables_written,omitempty"`
	// ashiato's Go heap, from its own /metrics: the spans in use (live data
	// and garbage not yet collected) and the next collection's target.
	HeapInuseMiB float64 `json:"heap_inuse_mib"`
	NextGCMiB    float64 `json:"next_gc_mib"`
	// The machine's 1-minute load average: the soak shares the cores.
	Load1 float64 `json:"load1"`
}

// soakResult is one soak: the samples, and the figures derived from them.
type soakResult struct {
	Command         string       `json:"command"`
	Store           string       `json:"store,omitempty"` // configmap (empty in older files) or s3
	SeededHours     int          `json:"seeded_closed_hours,omitempty"`
	Pods            int          `json:"pods"`
	DurationSeconds float64      `json:"duration_seconds"`
	SampleSeconds   float64      `json:"sample_seconds"`
	Started         string       `json:"started"` // UTC
	SyncSeconds     float64      `json:"sync_seconds"`
	Samples         []soakSample `json:"samples"`

	// The rollover: what a new hour costs, measured on the initial sync (the
	// full snapshot printed, the whole hour written by the first flush).
	Rollover soakSample `json:"rollover"`
	// The steady window runs from the end of the first flush to the end.
	SteadyFrom float64 `json:"steady_from_seconds"`
	// HourTurns is how many UTC hours began inside the steady window (each
	// prints a snapshot and starts a new hour of ConfigMaps).
	HourTurns int `json:"hour_turns"`
	// Per hour of the steady window.
	LinesPerHour    float64 `json:"steady_stdout_lines_per_hour"`
	BytesPerHour    float64 `json:"steady_stdout_bytes_per_hour"`
	RequestsPerHour float64 `json:"steady_api_requests_per_hour"`
	CMReadsPerHour  float64 `json:"steady_cm_reads_per_hour"`
	CMWritesPerHour float64 `json:"steady_cm_writes_per_hour"`
	CMBytesPerHour  float64 `json:"steady_cm_bytes_per_hour"`
	// At the end.
	SteadyRSSMiB float64 `json:"steady_rss_mib"`
	PeakRSSMiB   float64 `json:"peak_rss_mib"` // VmHWM
	// VmHWM is reset (/proc/PID/clear_refs) once the start-up has settled
	// (hwmReset after the first flush), so that the peak of what comes after
	// (hour turns, compactions) is known apart from the sync's.
	HWMResetSeconds   float64 `json:"hwm_reset_seconds,omitempty"`
	PeakAfterResetMiB float64 `json:"peak_rss_after_reset_mib,omitempty"`
	// Over the steady window's samples.
	SteadyRSSMedianMiB float64 `json:"steady_rss_median_mib"`
	SteadyRSSMaxMiB    float64 `json:"steady_rss_max_mib"`
	HeapInuseMedianMiB float64 `json:"steady_heap_inuse_median_mib"`
	Load1Median        float64 `json:"load1_median"`
	Load1Max           float64 `json:"load1_max"`
	// The hour ashiato stored, read back at the end.
	Shards      int `json:"stored_shards"`
	StoredBytes int `json:"stored_bytes"`
}

// measureSoak runs the soak at s.Pods pods.
func (b *bench) measureSoak(ctx context.Context, s *sizeResult) error {
	ns, err := b.newCMNamespace(ctx, "soak", s.Pods)
	if err != nil {
		return err
	}
	storeArgs, shown := deployedArgs, strings.Join(deployedArgs, " ")+" --cm-namespace NS"
	var bucket *s3Bucket
	if b.cfg.soakStore == "s3" {
		if bucket, err = b.startS3(ctx, "soak-s3"); err != nil {
			return err
		}
		defer bucket.close(b)
		// Closed hours of every pod, as an earlier recorder left them: the
		// first compaction pass catches up on them.
		now := store.HourOf(time.Now())
		if b.cfg.soakS3Hours > 0 {
			objects, _, _, err := bucket.seedUntil(ctx, s, now.Add(-time.Hour), b.cfg.soakS3Hours)
			if err != nil {
				return err
			}
			b.log("  soak: %d closed hours of %d pods stored in the bucket (%d objects)", b.cfg.soakS3Hours, s.Pods, objects)
		}
		storeArgs = s3DeployedArgs(bucket)
		shown = "--store=s3 --s3-bucket=B --s3-region=R --s3-prefix=pod-ashiato --s3-endpoint=E --cluster-name=C --cm-namespace NS"
	}
	args := append(append(slices.Clone(storeArgs), "--cm-namespace", ns), b.cfg.soakArgs...)
	deployment := "k8s/base"
	if bucket != nil {
		deployment = "k8s/base with k8s/components/s3"
	}
	if len(b.cfg.soakArgs) > 0 {
		shown += " " + strings.Join(b.cfg.soakArgs, " ")
		deployment += ", plus --soak-args"
	}
	res := &soakResult{
		Command: "GOMEMLIMIT=" + deployedMemoryLimit + " ashiato " + shown +
			" --metrics-addr 127.0.0.1:PORT (" + deployment + "; watch, --interval 30s, --cm-flush-interval 30s by default)",
		Store: b.cfg.soakStore, Pods: s.Pods, SampleSeconds: b.cfg.soakSample.Seconds(),
	}
	if bucket != nil {
		res.SeededHours = b.cfg.soakS3Hours
	}
	b.log("  soak: %s for %s", res.Command, b.cfg.soakDuration)
	if err := b.soak(ctx, args, res); err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	if bucket != nil {
		err = readStoredHourS3(ctx, bucket, res)
	} else {
		err = b.readStoredHour(ctx, ns, res)
	}
	if err != nil {
		return err
	}
	res.derive()
	s.Soak = res
	b.log("  soak: steady %.1f MiB, peak %.1f MiB; per hour %.0f lines, %.0f requests, %.0f CM reads, %.0f CM writes, %.2f MiB written",
		res.SteadyRSSMiB, res.PeakRSSMiB, res.LinesPerHour, res.RequestsPerHour, res.CMReadsPerHour, res.CMWritesPerHour, res.CMBytesPerHour/mib)
	if b.cfg.soakPlot != "" {
		if err := writeSoakPlot(b.cfg.soakPlot, res); err != nil {
			return err
		}
		b.log("  soak plot written to %s", b.cfg.soakPlot)
	}
	return nil
}

// hwmReset is how long after the first flush the soak resets VmHWM: by
// then the recorder has returned the start-up's leftover heap (heap's
// release looks every 30 s).
const hwmReset = 2 * time.Minute

// memoryBytes turns a Kubernetes quantity in Mi into bytes, for GOMEMLIMIT.
func memoryBytes(q string) (int64, error) {
	var n int64
	if _, err := fmt.Sscanf(q, "%dMi", &n); err != nil || n <= 0 {
		return 0, fmt.Errorf("memory quantity %q: want <n>Mi", q)
	}
	return n << 20, nil
}

// soak runs the process for the soak's duration, sampling it.
func (b *bench) soak(ctx context.Context, args []string, res *soakResult) (err error) {
	port, err := freePort()
	if err != nil {
		return err
	}
	limit, err := memoryBytes(deployedMemoryLimit)
	if err != nil {
		return err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	argv := append([]string{b.ashiato, "--kubeconfig", b.sa, "--metrics-addr", fmt.Sprintf("127.0.0.1:%d", port)}, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("GOMEMLIMIT=%d", limit))
	out := &lineCounter{}
	cmd.Stdout = out
	stderr := &tailBuffer{max: 32 << 10}
	cmd.Stderr = stderr
	start := time.Now()
	res.Started = start.UTC().Format(time.RFC3339)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(2 * time.Minute):
			_ = cmd.Process.Kill()
			<-exited
		}
		if err != nil {
			err = fmt.Errorf("%w; ashiato stderr: %s", err, stderr.String())
		}
	}()
	apiMetrics := func() ([]series, error) {
		raw, err := b.client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
		if err != nil {
			return nil, fmt.Errorf("API server metrics: %w", err)
		}
		return parseMetrics(strings.NewReader(string(raw)))
	}
	api0, err := apiMetrics()
	if err != nil {
		return err
	}
	take := func() (soakSample, error) {
		x := soakSample{T: time.Since(start).Seconds(), Lines: out.Lines(), Bytes: out.Bytes()}
		rss, hwm, err := procStatus(cmd.Process.Pid)
		if err != nil {
			return x, err
		}
		x.RSSMiB, x.HWMMiB = float64(rss)/mib, float64(hwm)/mib
		api, err := apiMetrics()
		if err != nil {
			return x, err
		}
		own, err := scrape(ctx, base+"/metrics")
		if err != nil {
			return x, err
		}
		delta := func(name string, labels map[string]string) float64 {
			return sum(api, name, labels) - sum(api0, name, labels)
		}
		schema := map[string]string{"flow_schema": ashiatoFlowSchema}
		x.Requests = delta("apiserver_flowcontrol_dispatched_requests_total", schema)
		for _, verb := range []string{"LIST", "GET"} {
			x.CMReads += delta("apiserver_request_total", map[string]string{"resource": "configmaps", "verb": verb})
		}
		x.CMWrites = sum(own, "ashiato_store_writes_total", nil)
		x.CMBytes = sum(own, "ashiato_store_written_bytes_total", nil)
		x.Tables = sum(own, "ashiato_compactions_total", map[string]string{"result": "written"})
		x.HeapInuseMiB = sum(own, "go_memstats_heap_inuse_bytes", nil) / mib
		x.NextGCMiB = sum(own, "go_memstats_next_gc_bytes", nil) / mib
		x.Load1, err = loadAverage()
		return x, err
	}

	// Sync: /readyz answers, the initial snapshot is printed, and the first
	// flush has written the hour (its write count holds still for a sample).
	deadline := start.Add(15 * time.Minute)
	for ok := false; !ok; ok, _ = httpOK(ctx, base+"/readyz") {
		if err := b.soakWait(ctx, exited, deadline, 100*time.Millisecond); err != nil {
			return fmt.Errorf("waiting for /readyz: %w", err)
		}
	}
	res.SyncSeconds = time.Since(start).Seconds()
	var last soakSample
	for {
		if err := b.soakWait(ctx, exited, deadline, 2*time.Second); err != nil {
			return fmt.Errorf("waiting for the first flush: %w", err)
		}
		x, err := take()
		if err != nil {
			return err
		}
		res.Samples = append(res.Samples, x)
		if x.Lines >= res.Pods && x.CMWrites > 0 && x.CMWrites == last.CMWrites {
			res.Rollover, res.SteadyFrom = x, x.T
			break
		}
		last = x
	}
	b.log("  soak: synced in %.1fs; the first flush wrote %.0f ConfigMaps (%.2f MiB) by %.0fs",
		res.SyncSeconds, res.Rollover.CMWrites, res.Rollover.CMBytes/mib, res.SteadyFrom)

	end := start.Add(b.cfg.soakDuration)
	if !end.After(time.Now()) {
		return errors.New("--soak-duration ended before the first flush did: make it longer")
	}
	resetAt := time.Now().Add(hwmReset)
	for time.Now().Before(end) {
		next := min(time.Until(end), b.cfg.soakSample)
		if err := b.soakWait(ctx, exited, end.Add(time.Minute), next); err != nil {
			return err
		}
		if res.HWMResetSeconds == 0 && !time.Now().Before(resetAt) {
			if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", cmd.Process.Pid), []byte("5"), 0); err != nil {
				return fmt.Errorf("resetting VmHWM: %w", err)
			}
			res.HWMResetSeconds = time.Since(start).Seconds()
		}
		x, err := take()
		if err != nil {
			return err
		}
		res.Samples = append(res.Samples, x)
	}
	res.DurationSeconds = time.Since(start).Seconds()
	res.HourTurns = hourTurns(start.Add(time.Duration(res.SteadyFrom*float64(time.Second))), time.Now())
	return nil
}

// soakWait sleeps d, failing if the process exits or the deadline passes.
func (b *bench) soakWait(ctx context.Context, exited chan error, deadline time.Time, d time.Duration) error {
	select {
	case err := <-exited:
		exited <- err
		return fmt.Errorf("ashiato exited: %v", err)
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
	}
	if time.Now().After(deadline) {
		return errors.New("timed out")
	}
	return nil
}

// hourTurns counts the UTC hours that begin in (from, to].
func hourTurns(from, to time.Time) int {
	return int(to.UTC().Truncate(time.Hour).Sub(from.UTC().Truncate(time.Hour)) / time.Hour)
}

// readStoredHour counts the shards and bytes of the newest stored hour.
func (b *bench) readStoredHour(ctx context.Context, ns string, res *soakResult) error {
	list, err := b.client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: store.AllSelector()})
	if err != nil {
		return err
	}
	var newest time.Time
	for _, cm := range list.Items {
		if hour, _, ok := store.ParseName(cm.Name); ok && hour.After(newest) {
			newest = hour
		}
	}
	for _, cm := range list.Items {
		if hour, _, ok := store.ParseName(cm.Name); ok && hour.Equal(newest) {
			res.Shards++
			res.StoredBytes += valueBytes(&cm)
		}
	}
	return nil
}

// readStoredHourS3 is readStoredHour for the bucket: the newest hour's
// objects and bytes.
func readStoredHourS3(ctx context.Context, x *s3Bucket, res *soakResult) error {
	var newest time.Time
	err := x.store.ListRefs(ctx, time.Time{}, store.HourOf(time.Now()), retry.Policy{Backoff: retry.DefaultBackoff()}, "listing the soak's hours", func(r storeio.Ref) {
		if hour, _, ok := store.ParseName(r.Name); ok && hour.After(newest) {
			newest = hour
		}
	})
	if err != nil {
		return err
	}
	objs, err := x.store.ListHour(ctx, newest)
	if err != nil {
		return err
	}
	for _, o := range objs {
		res.Shards++
		res.StoredBytes += o.Size()
	}
	return nil
}

// valueBytes is what a ConfigMap's values weigh (what the 1 MiB limit counts).
func valueBytes(cm *corev1.ConfigMap) int {
	n := 0
	for _, v := range cm.Data {
		n += len(v)
	}
	for _, v := range cm.BinaryData {
		n += len(v)
	}
	return n
}

// loadAverage is the machine's 1-minute load average.
func loadAverage() (float64, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, err
	}
	var load float64
	if _, err := fmt.Sscan(string(b), &load); err != nil {
		return 0, fmt.Errorf("/proc/loadavg: %w", err)
	}
	return load, nil
}

// derive computes the per-hour figures of the steady window.
func (r *soakResult) derive() {
	if len(r.Samples) == 0 {
		return
	}
	last := r.Samples[len(r.Samples)-1]
	r.SteadyRSSMiB, r.PeakRSSMiB = last.RSSMiB, last.HWMMiB
	if r.HWMResetSeconds > 0 {
		r.PeakAfterResetMiB = last.HWMMiB
		r.PeakRSSMiB = 0
		for _, x := range r.Samples {
			r.PeakRSSMiB = max(r.PeakRSSMiB, x.HWMMiB)
		}
	}
	var rss, heap, load []float64
	for _, x := range r.Samples {
		load = append(load, x.Load1)
		if x.T > r.SteadyFrom { // after the sample that ends the first flush
			rss, heap = append(rss, x.RSSMiB), append(heap, x.HeapInuseMiB)
		}
	}
	r.SteadyRSSMedianMiB, r.HeapInuseMedianMiB, r.Load1Median = newStat(rss).Median, newStat(heap).Median, newStat(load).Median
	r.SteadyRSSMaxMiB, r.Load1Max = newStat(rss).Max, newStat(load).Max
	hours := (last.T - r.SteadyFrom) / 3600
	if hours <= 0 {
		return
	}
	from := r.Rollover
	r.LinesPerHour = float64(last.Lines-from.Lines) / hours
	r.BytesPerHour = float64(last.Bytes-from.Bytes) / hours
	r.RequestsPerHour = (last.Requests - from.Requests) / hours
	r.CMReadsPerHour = (last.CMReads - from.CMReads) / hours
	r.CMWritesPerHour = (last.CMWrites - from.CMWrites) / hours
	r.CMBytesPerHour = (last.CMBytes - from.CMBytes) / hours
}
