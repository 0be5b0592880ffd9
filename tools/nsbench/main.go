// Command nsbench measures the two ways to read several namespaces with a
// watch, on a real local control plane (etcd and kube-apiserver from
// tools/controlplane/build.sh):
//
//   - per-namespace: one LIST+WATCH per namespace (one source.Watch each, run
//     together by pipeline.Merge), which is what ashiato does for a short
//     --namespace list;
//   - cluster-wide: one LIST+WATCH of every pod, kept to the namespaces by the
//     filter chain (filter.Namespaces), what it does for a long one.
//
// The cluster holds --namespaces namespaces of --pods pods each, plus
// --background pods in namespaces never selected. For each count k of
// --select it reads the first k namespaces both ways, each run a fresh
// process (this binary re-executed as `nsbench read`), with ashiato's
// client settings (protobuf, 50 QPS, burst 100), and reports: API requests
// until synced, time until every initial snapshot has been handed on, peak
// RSS, and heap in use once synced. docs/filters.md holds the results.
//
//	cd tools && go run ./nsbench --namespaces 1000 --pods 10 --background 10000 --select 1,10,100,1000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pod-ashiato/ashiato/e2e/controlplane"
	"github.com/pod-ashiato/ashiato/e2e/fixture"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == readCommand {
		err = runRead(ctx, os.Args[2:], os.Stdout)
	} else {
		err = run(ctx, os.Args[1:], os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "nsbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("nsbench", flag.ContinueOnError)
	namespaces := fs.Int("namespaces", 1000, "namespaces that can be selected")
	pods := fs.Int("pods", 10, "pods in each of them")
	background := fs.Int("background", 10000, "pods in 10 namespaces never selected (the rest of the cluster)")
	selects := fs.String("select", "1,10,100,1000", "how many namespaces to read, comma-separated")
	runs := fs.Int("runs", 1, "runs of each reading (the median is reported)")
	out := fs.String("out", "", "write the results here as JSON too")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var ks []int
	for _, s := range strings.Split(*selects, ",") {
		k, err := strconv.Atoi(s)
		if err != nil || k < 1 || k > *namespaces {
			return fmt.Errorf("invalid --select %q: want counts from 1 to --namespaces", s)
		}
		ks = append(ks, k)
	}

	dir, err := os.MkdirTemp("", "nsbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cp, err := controlplane.Start(ctx, controlplane.Options{Dir: filepath.Join(dir, "cluster")})
	if err != nil {
		return err
	}
	defer cp.Stop()
	client, err := kubernetesClient(cp)
	if err != nil {
		return err
	}

	start := time.Now()
	var names []string
	var specs []fixture.PodSpec
	nodes := []string{"nsb-node-0", "nsb-node-1", "nsb-node-2"}
	for i := range *namespaces {
		ns := fmt.Sprintf("nsb-%04d", i)
		names = append(names, ns)
		specs = append(specs, fixture.PlacedPods(ns, *pods, nodes)...)
	}
	for i := range 10 {
		ns := fmt.Sprintf("nsb-background-%d", i)
		names = append(names, ns)
		specs = append(specs, fixture.PlacedPods(ns, *background/10, nodes)...)
	}
	if err := fixture.CreateNodes(ctx, client, nodes); err != nil {
		return err
	}
	if err := fixture.CreateNamespaces(ctx, client, names...); err != nil {
		return err
	}
	if err := fixture.CreatePlacedPods(ctx, client, specs, 32); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "nsbench: %d pods in %d namespaces seeded in %s\n", len(specs), len(names), time.Since(start).Round(time.Second))

	self, err := os.Executable()
	if err != nil {
		return err
	}
	var results []result
	for _, k := range ks {
		for _, mode := range []string{modePerNamespace, modeCluster} {
			var samples []result
			for range *runs {
				r, err := readOnce(ctx, self, cp.KubeconfigPath(), mode, k, k**pods)
				if err != nil {
					return fmt.Errorf("k=%d %s: %w", k, mode, err)
				}
				samples = append(samples, r)
			}
			r := median(samples)
			r.ClusterPods = len(specs)
			results = append(results, r)
			fmt.Fprintf(os.Stderr, "nsbench: k=%d %s: %+v\n", k, mode, r)
		}
	}
	report(stdout, results)
	if *out != "" {
		b, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(*out, append(b, '\n'), 0o644)
	}
	return nil
}

// readOnce runs `nsbench read` in a process of its own and decodes its result.
func readOnce(ctx context.Context, self, kubeconfig, mode string, k, want int) (result, error) {
	cmd := exec.CommandContext(ctx, self, readCommand, "--kubeconfig", kubeconfig, "--mode", mode,
		"--select", strconv.Itoa(k), "--want", strconv.Itoa(want))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("%w: %s", err, tail(stderr.String()))
	}
	var r result
	if err := json.Unmarshal(b, &r); err != nil {
		return result{}, fmt.Errorf("decoding %q: %w", b, err)
	}
	return r, nil
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}

// median is the run with the median sync time.
func median(rs []result) result {
	if len(rs) == 0 {
		return result{}
	}
	sorted := append([]result(nil), rs...)
	for i := range sorted {
		for j := i + 1; j < len(sorted); j++ {
			if sorted[j].SyncSeconds < sorted[i].SyncSeconds {
				sorted[i], sorted[j] = sorted[j], sorted[i]
			}
		}
	}
	return sorted[len(sorted)/2]
}

func report(w io.Writer, rs []result) {
	fmt.Fprintln(w, "| namespaces read | way | requests (LIST + WATCH) | pods selected | time to sync (s) | all watching (s) | peak RSS (MiB) | heap after sync (MiB) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %d | %s | %d (%d + %d) | %d | %.2f | %.2f | %.1f | %.1f |\n", r.Select, r.Mode, r.Lists+r.Watches, r.Lists, r.Watches,
			r.PodsReceived, r.SyncSeconds, r.WatchSeconds, r.PeakRSSMiB, r.HeapMiB)
	}
}
