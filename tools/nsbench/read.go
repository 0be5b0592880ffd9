package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pod-ashiato/ashiato/e2e/controlplane"
	"github.com/pod-ashiato/ashiato/src/filter"
	"github.com/pod-ashiato/ashiato/src/pipeline"
	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/source"
)

// readCommand is the hidden subcommand nsbench re-executes itself with, so
// each reading starts from an empty process.
const readCommand = "read"

const (
	modePerNamespace = "per-namespace"
	modeCluster      = "cluster-wide"
)

// result is one reading.
type result struct {
	Mode         string  `json:"mode"`
	Select       int     `json:"namespaces_read"`
	ClusterPods  int     `json:"cluster_pods"`
	Lists        int64   `json:"lists"`
	Watches      int64   `json:"watches"`
	PodsReceived int64   `json:"pods_received"`
	SyncSeconds  float64 `json:"sync_seconds"`
	// WatchSeconds is when the last reader's WATCH was sent: a reader
	// watches only after its LIST is handled, and the rate limit delays it.
	WatchSeconds float64 `json:"all_watching_seconds"`
	PeakRSSMiB   float64 `json:"peak_rss_mib"`
	HeapMiB      float64 `json:"heap_after_sync_mib"`
}

func kubernetesClient(cp *controlplane.ControlPlane) (kubernetes.Interface, error) {
	cfg := cp.RESTConfig()
	cfg.QPS, cfg.Burst = 500, 1000 // seeding only
	return kubernetes.NewForConfig(cfg)
}

// runRead reads the first k namespaces nsb-0000 ... one way, as ashiato's
// watch source does, until every selected pod has reached the end of the
// pipeline and every reader has sent its initial snapshot; then it prints
// the result as JSON.
func runRead(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet(readCommand, flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the cluster")
	mode := fs.String("mode", modePerNamespace, "per-namespace or cluster-wide")
	k := fs.Int("select", 1, "namespaces to read")
	want := fs.Int64("want", 0, "pods expected")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	// What src/cmd/kube.go sets, with ashiato's default rate limit.
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.QPS, cfg.Burst = 50, 100
	var lists, watches atomic.Int64
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if strings.HasSuffix(r.URL.Path, "/pods") {
				if w := r.URL.Query().Get("watch"); w == "true" || w == "1" {
					watches.Add(1)
				} else {
					lists.Add(1)
				}
			}
			return rt.RoundTrip(r)
		})
	})
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}

	names := make([]string, *k)
	for i := range names {
		names[i] = fmt.Sprintf("nsb-%04d", i)
	}
	readers := names
	var stages []pipeline.Stage
	if *mode == modeCluster {
		readers = []string{""}
		stages = append(stages, filter.Chain{filter.Namespaces(setOf(names))}.Run)
	} else if *mode != modePerNamespace {
		return fmt.Errorf("unknown --mode %q", *mode)
	}

	start := time.Now()
	var (
		mu       sync.Mutex
		pending  = len(readers)
		received atomic.Int64
		done     = make(chan struct{})
	)
	check := func() {
		mu.Lock()
		defer mu.Unlock()
		if pending == 0 && received.Load() >= *want {
			select {
			case <-done:
			default:
				close(done)
			}
		}
	}
	sources := make([]pipeline.Source, len(readers))
	for i, ns := range readers {
		w := &source.Watch{Client: client, Selection: source.Selection{Namespace: ns}, OnSnapshot: func(int) {
			mu.Lock()
			pending--
			mu.Unlock()
			check()
		}}
		sources[i] = w.Run
	}
	sink := func(_ context.Context, in <-chan record.Placement) error {
		for range in {
			received.Add(1)
			check()
		}
		return nil
	}

	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- pipeline.Run(stop, pipeline.Merge(sources...), stages, sink) }()
	select {
	case <-done:
	case err := <-errc:
		return fmt.Errorf("pipeline ended before sync: %w", err)
	case <-time.After(10 * time.Minute):
		return fmt.Errorf("not synced after 10m: %d of %d readers, %d of %d pods", len(readers)-pending, len(readers), received.Load(), *want)
	}
	synced := time.Since(start)
	for watches.Load() < int64(len(readers)) && time.Since(start) < 10*time.Minute {
		time.Sleep(10 * time.Millisecond)
	}
	r := result{Mode: *mode, Select: *k, Lists: lists.Load(), Watches: watches.Load(), PodsReceived: received.Load(),
		SyncSeconds: synced.Seconds(), WatchSeconds: time.Since(start).Seconds()}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.HeapMiB = float64(ms.HeapInuse) / (1 << 20)
	r.PeakRSSMiB = float64(vmHWM()) / (1 << 20)
	cancel()
	if err := <-errc; err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(r)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func setOf(names []string) map[string]bool {
	s := make(map[string]bool, len(names))
	for _, n := range names {
		s[n] = true
	}
	return s
}

// vmHWM is this process's peak resident set, in bytes.
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
