package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pod-ashiato/ashiato/e2e/controlplane"
)

// The parts of a run, in the order they are measured.
var allParts = []string{"floor", "oneshot", "kubectl", "store", "watch", "soak", "history", "s3", "serve", "serve-s3", "sql"}

// defaultParts leave out the soak, which takes its own --soak-duration.
var defaultParts = []string{"floor", "oneshot", "kubectl", "store", "watch"}

type config struct {
	sizes         []int
	nodes         int
	namespaces    int
	runs          int
	concurrency   int
	out           string
	plot          string
	smoke         bool
	ashiato       string
	binDir        string
	dir           string
	keep          bool
	kubectl       string
	parts         map[string]bool
	watchWindow   time.Duration
	watchInterval time.Duration
	watchFlush    time.Duration
	quietWait     time.Duration
	soakDuration  time.Duration
	soakSample    time.Duration
	soakPlot      string
	soakStore     string
	soakS3Hours   int
	soakArgs      []string
	s3Hours       int
	serveDuration time.Duration
	sqlClusters   int
	sqlHours      int
	// report lists saved --out files to merge instead of measuring.
	report []string
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pods := fs.String("pods", "2000", "pod counts to measure, comma-separated, ascending; the cluster grows from one to the next")
	fs.IntVar(&c.nodes, "nodes", 1000, "nodes the pods are spread over")
	fs.IntVar(&c.namespaces, "namespaces", 50, "namespaces the pods are spread over")
	fs.IntVar(&c.runs, "runs", 3, "runs of each measurement (median, min and max are reported)")
	fs.IntVar(&c.concurrency, "concurrency", 32, "concurrent requests when creating pods and nodes")
	fs.StringVar(&c.out, "out", "", "write the results as JSON to this file")
	fs.StringVar(&c.plot, "plot", "", "write a PNG of wall time and peak RSS against pods to this file")
	fs.BoolVar(&c.smoke, "smoke", false, "CI mode: 500 pods on 20 nodes, one run, 5 s windows, a 45 s soak, an S3 hour on SeaweedFS, 3 s of serve over ConfigMaps (not serve-s3), no plot (other flags ignored but --ashiato, --bin-dir, --out)")
	fs.StringVar(&c.ashiato, "ashiato", "", "ashiato binary to measure (default: built from the repository's ./src/cmd into a temporary folder)")
	fs.StringVar(&c.binDir, "bin-dir", "", "control-plane binaries (default: $"+controlplane.EnvBinDir+", else what tools/controlplane/build.sh builds)")
	fs.StringVar(&c.dir, "dir", "", "control-plane work dir, kept (default: a temporary one); a control plane still running there (see --keep) is reused with its pods")
	fs.BoolVar(&c.keep, "keep", false, "leave the control plane running in --dir for the next run")
	fs.StringVar(&c.kubectl, "kubectl", "kubectl", "kubectl binary")
	parts := fs.String("parts", strings.Join(defaultParts, ","), "what to measure: any of "+strings.Join(allParts, ","))
	fs.DurationVar(&c.soakDuration, "soak-duration", 25*time.Minute, "soak: how long ashiato runs as k8s/base deploys it")
	fs.DurationVar(&c.soakSample, "soak-sample", 10*time.Second, "soak: time between two samples")
	fs.StringVar(&c.soakPlot, "soak-plot", "", "soak: write a PNG of RSS, requests and bytes over time to this file")
	fs.StringVar(&c.soakStore, "soak-store", "configmap", "soak: the store, configmap (k8s/base) or s3 (k8s/components/s3, on SeaweedFS, with closed hours already in the bucket: --soak-s3-hours)")
	fs.IntVar(&c.soakS3Hours, "soak-s3-hours", 2, "soak with --soak-store s3: closed hours of every pod stored in the bucket before ashiato starts (what its first compaction pass catches up on)")
	soakArgs := fs.String("soak-args", "", "soak: more arguments for ashiato, space-separated (e.g. --compact-tables=false); the figures then are not the deployment's")
	fs.IntVar(&c.s3Hours, "s3-hours", 1, "s3: hours of every pod written to SeaweedFS and read back")
	fs.IntVar(&c.sqlClusters, "sql-clusters", 10, "sql: clusters of --pods pods each, in one bucket")
	fs.IntVar(&c.sqlHours, "sql-hours", 720, "sql: hours of every cluster (a node failure a cluster a day, from the day's 12th hour)")
	fs.DurationVar(&c.serveDuration, "serve-duration", time.Minute, "serve, serve-s3: how long the clients ask, again and again")
	fs.DurationVar(&c.watchWindow, "watch-window", 60*time.Second, "continuous mode: steady-state window over which requests and writes are counted")
	fs.DurationVar(&c.watchInterval, "watch-interval", time.Hour, "continuous mode: ashiato's --interval")
	fs.DurationVar(&c.watchFlush, "watch-flush", 30*time.Second, "continuous mode with --store-in-cm: ashiato's --cm-flush-interval")
	fs.DurationVar(&c.quietWait, "quiet-wait", 2*time.Minute, "before each timed run, wait at most this long for the machine's CPU use to fall under 15% (0: do not wait)")
	report := fs.String("report", "", "measure nothing: merge these --out files (comma-separated), print their tables and targets, write --out and --plot")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *report != "" {
		c.report = strings.Split(*report, ",")
		return c, nil
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.soakArgs = strings.Fields(*soakArgs)
	if c.smoke {
		*pods, c.nodes, c.namespaces, c.runs = "500", 20, 5, 1
		c.plot, c.watchWindow, c.watchFlush, c.quietWait = "", 5*time.Second, 2*time.Second, 0
		// serve-s3 would start a second SeaweedFS: 20 s more, for what the
		// serve part already proves of the harness.
		*parts = strings.Join(slices.DeleteFunc(slices.Clone(allParts), func(p string) bool { return p == "serve-s3" }), ",")
		c.soakDuration, c.soakSample, c.soakPlot = 45*time.Second, 5*time.Second, ""
		c.serveDuration = 3 * time.Second
		c.sqlClusters, c.sqlHours = 2, 16
	}
	for _, f := range strings.Split(*pods, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("invalid --pods %q: want positive integers, comma-separated", *pods)
		}
		if len(c.sizes) > 0 && n <= c.sizes[len(c.sizes)-1] {
			return nil, fmt.Errorf("invalid --pods %q: sizes must ascend (the cluster only grows)", *pods)
		}
		c.sizes = append(c.sizes, n)
	}
	c.parts = map[string]bool{}
	for _, p := range strings.Split(*parts, ",") {
		if p = strings.TrimSpace(p); !slices.Contains(allParts, p) {
			return nil, fmt.Errorf("invalid --parts %q: want any of %s", *parts, strings.Join(allParts, ","))
		}
		c.parts[p] = true
	}
	switch {
	case c.nodes <= 0 || c.namespaces <= 0 || c.runs <= 0 || c.concurrency <= 0:
		return nil, errors.New("--nodes, --namespaces, --runs and --concurrency must be positive")
	case c.namespaces > 100:
		return nil, errors.New("--namespaces must be at most 100")
	case c.watchWindow <= 0 || c.watchInterval <= 0 || c.watchFlush <= 0 || c.quietWait < 0:
		return nil, errors.New("--watch-window, --watch-interval and --watch-flush must be positive, --quiet-wait not negative")
	case c.s3Hours <= 0:
		return nil, errors.New("--s3-hours must be positive")
	case c.serveDuration <= 0:
		return nil, errors.New("--serve-duration must be positive")
	case c.sqlClusters <= 0 || c.sqlHours < 14:
		return nil, errors.New("--sql-clusters must be positive, --sql-hours at least 14 (the first failure is in the 13th hour, and its replacements run through the next)")
	case c.soakDuration <= 0 || c.soakSample <= 0:
		return nil, errors.New("--soak-duration and --soak-sample must be positive")
	case c.soakStore != "configmap" && c.soakStore != "s3":
		return nil, fmt.Errorf("invalid --soak-store %q: want configmap or s3", c.soakStore)
	case c.soakS3Hours < 0:
		return nil, errors.New("--soak-s3-hours must not be negative")
	case c.keep && c.dir == "":
		return nil, errors.New("--keep needs --dir: the control plane is found there next time")
	}
	return c, nil
}
