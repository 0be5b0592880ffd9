// Command bench measures what Pod Ashiato costs at scale, against kubectl and
// against the floor, on a real local control plane (etcd and kube-apiserver
// from tools/controlplane/build.sh; no kubelets: pods are created placed and
// Running, as e2e/fixture does).
//
// For each size it grows the cluster to that many pods and measures, each as
// the median of --runs runs with min and max:
//
//   - the floor: one LIST of every pod without a limit, decoded as the original
//     tool does (JSON), discarded (this binary re-executed as `bench floor`, a
//     process of its own); and a paginated protobuf LIST, likewise;
//   - ashiato --oneshot, stdout to /dev/null: wall time and peak RSS;
//   - kubectl get pods -A -o json > /dev/null: the same;
//   - ashiato --oneshot --store-in-cm, into a new hour and into an existing one;
//   - continuous mode (--source=watch --interval 1h): RSS at start, at sync and
//     after a steady window; API requests per hour with no pod changes; and,
//     with --store-in-cm, ConfigMap writes and bytes.
//
// The history and s3 parts need no pods: they store hours of N pods with the
// product's codec (s3: in SeaweedFS, through the S3 store, $ASHIATO_SEAWEEDFS_BIN)
// and time `ashiato history` against them. The serve and serve-s3 parts store
// 24 such hours and run `ashiato serve` as k8s/components/serve deploys it,
// under 8 clients asking for pod and node pages (HTML and JSON) for a minute:
// its peak RSS, its latency, and every JSON answer against the CLI's.
//
// It prints a Markdown table per size and the targets, and writes
// --out (JSON) and --plot (PNG). docs/benchmarks.md holds the results.
//
//	cd tools && go run ./bench --pods 10000,50000,150000 --nodes 5000 --runs 3 \
//	    --out ../docs/benchmarks.json --plot ../docs/benchmarks.png
//	cd tools && go run ./bench --pods 150000 --nodes 5000 --parts serve,serve-s3   # issue 23
//	cd tools && go run ./bench --pods 15000 --nodes 500 --parts sql --sql-clusters 10 --sql-hours 720   # issue 26
//	cd tools && go run ./bench --smoke     # CI: 500 pods, one run, no plot
//	cd tools && go run ./bench --report a.json,b.json --out ../docs/x.json   # merge saved runs
//
// One file a concern: config.go (flags), setup.go (binaries, control plane,
// service account), seed.go (pods and nodes), size.go (one size, part by
// part), then one file a measurement: floor.go and oneshot.go (the one-shot
// readers), store.go (--store-in-cm), continuous.go and watch.go (continuous
// mode); measure.go (timing a process, RSS, CPU), promtext.go (metrics text),
// history.go and s3.go (the stored history, in ConfigMaps and in S3),
// serve.go (the web view under load), sql.go (docs/sql.md's questions by
// DuckDB over the tables and by ashiato history, many clusters);
// results.go, report.go, merge.go and plot.go (what is written).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const productModule = "github.com/pod-ashiato/ashiato"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == floorCommand:
		err = runFloor(ctx, os.Args[2:], os.Stdout)
	case len(os.Args) > 1 && os.Args[1] == compactCommand:
		err = runCompact(ctx, os.Args[2:], os.Stdout)
	default:
		err = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if len(cfg.report) > 0 {
		return reportOnly(cfg, stdout)
	}
	start := time.Now()
	b := &bench{cfg: cfg, stdout: stdout, log: func(format string, args ...any) {
		fmt.Fprintf(stderr, "%s bench: %s\n", time.Since(start).Truncate(time.Second), fmt.Sprintf(format, args...))
	}}
	b.res.Command = "go run ./bench " + strings.Join(args, " ")
	if b.tmp, err = os.MkdirTemp("", "ashiato-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(b.tmp)
	if err := b.prepare(ctx); err != nil {
		return err
	}
	if err := b.startControlPlane(ctx); err != nil {
		return err
	}
	defer func() {
		if cfg.keep {
			b.log("control plane left running in %s (next run: the same --dir)", b.cp.Dir())
			return
		}
		if err := b.cp.Stop(); err != nil {
			b.log("stopping the control plane: %v", err)
		}
	}()
	if err := b.setup(ctx); err != nil {
		return err
	}

	for _, n := range cfg.sizes {
		s, err := b.measureSize(ctx, n)
		if err != nil {
			return fmt.Errorf("at %d pods: %w", n, err)
		}
		b.res.Sizes = append(b.res.Sizes, s)
		fmt.Fprintln(stdout, sizeTables(s, cfg))
		if err := b.write(); err != nil {
			return err
		}
	}
	b.res.Targets = judge(b.res.Sizes)
	fmt.Fprintln(stdout, targetsTable(b.res.Targets))
	if err := b.write(); err != nil {
		return err
	}
	if cfg.plot != "" {
		if err := writePlot(cfg.plot, b.res.Sizes); err != nil {
			return err
		}
		b.log("plot written to %s", cfg.plot)
	}
	b.log("done in %s", time.Since(start).Round(time.Second))
	return nil
}

func (b *bench) write() error {
	if b.cfg.out == "" {
		return nil
	}
	data, err := json.MarshalIndent(b.res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(b.cfg.out, append(data, '\n'), 0o644)
}
