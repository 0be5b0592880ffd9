// Command bench measures what Pod Ashiato costs at scale, against kubectl and
// against the floor, on a real local control plane (etcd and kube-apiserver
// from tools/controlplane/build.sh; no kubelets: pods are created placed and
// Running, as e2e/fixture does).
//
// For each size it grows the cluster to that many pods and measures, each as
// the median of --runs runs with min and max:
//
//   - the floor: a paginated protobuf LIST of every pod, discarded (this
//     binary re-executed as `bench floor`, a process of its own);
//   - ashiato --oneshot, stdout to /dev/null: wall time and peak RSS;
//   - kubectl get pods -A -o json > /dev/null: the same;
//   - ashiato --oneshot --store-in-cm, into a new hour and into an existing one;
//   - continuous mode (--source=watch --interval 1h): RSS at start, at sync and
//     after a steady window; API requests per hour with no pod changes; and,
//     with --store-in-cm, ConfigMap writes and bytes.
//
// It prints a Markdown table per size and the targets, and writes
// --out (JSON) and --plot (PNG). docs/benchmarks.md holds the results.
//
//	cd tools && go run ./bench --pods 10000,50000,150000 --nodes 5000 --runs 3 \
//	    --out ../docs/benchmarks.json --plot ../docs/benchmarks.png
//	cd tools && go run ./bench --smoke     # CI: 500 pods, one run, no plot
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pod-ashiato/ashiato/e2e/controlplane"
	"github.com/pod-ashiato/ashiato/e2e/fixture"
	"github.com/pod-ashiato/ashiato/src/store"
)

const productModule = "github.com/pod-ashiato/ashiato"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	if len(os.Args) > 1 && os.Args[1] == floorCommand {
		err = runFloor(ctx, os.Args[2:], os.Stdout)
	} else {
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

// The parts of a run, in the order they are measured.
var allParts = []string{"floor", "oneshot", "kubectl", "store", "watch"}

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
	fs.BoolVar(&c.smoke, "smoke", false, "CI mode: 500 pods on 20 nodes, one run, 5 s windows, no plot (other flags ignored but --ashiato, --bin-dir, --out)")
	fs.StringVar(&c.ashiato, "ashiato", "", "ashiato binary to measure (default: built from the repository's ./src/cmd into a temporary folder)")
	fs.StringVar(&c.binDir, "bin-dir", "", "control-plane binaries (default: $"+controlplane.EnvBinDir+", else what tools/controlplane/build.sh builds)")
	fs.StringVar(&c.dir, "dir", "", "control-plane work dir, kept (default: a temporary one); a control plane still running there (see --keep) is reused with its pods")
	fs.BoolVar(&c.keep, "keep", false, "leave the control plane running in --dir for the next run")
	fs.StringVar(&c.kubectl, "kubectl", "kubectl", "kubectl binary")
	parts := fs.String("parts", strings.Join(allParts, ","), "what to measure: any of "+strings.Join(allParts, ","))
	fs.DurationVar(&c.watchWindow, "watch-window", 60*time.Second, "continuous mode: steady-state window over which requests and writes are counted")
	fs.DurationVar(&c.watchInterval, "watch-interval", time.Hour, "continuous mode: ashiato's --interval")
	fs.DurationVar(&c.watchFlush, "watch-flush", 30*time.Second, "continuous mode with --store-in-cm: ashiato's --cm-flush-interval")
	fs.DurationVar(&c.quietWait, "quiet-wait", 2*time.Minute, "before each timed run, wait at most this long for the machine's CPU use to fall under 15% (0: do not wait)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.smoke {
		*pods, c.nodes, c.namespaces, c.runs = "500", 20, 5, 1
		c.plot, c.watchWindow, c.watchFlush, c.quietWait = "", 5*time.Second, 2*time.Second, 0
		*parts = strings.Join(allParts, ",")
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
	case c.keep && c.dir == "":
		return nil, errors.New("--keep needs --dir: the control plane is found there next time")
	}
	return c, nil
}

// bench is one benchmark run: a control plane, the programs, the results.
type bench struct {
	cfg      *config
	log      func(format string, args ...any)
	stdout   io.Writer
	root     string
	tmp      string
	ashiato  string
	kubectl  string // "" when not found
	self     string
	cp       *controlplane.ControlPlane
	client   kubernetes.Interface
	admin    string    // admin kubeconfig
	sa       string    // the service account's kubeconfig, for continuous mode
	hasWatch bool      // ashiato has --source
	viaTime  bool      // peak RSS from GNU time
	busy     []float64 // the machine's CPU use just before each timed run of a size
	// ashiato's defaults for --page-size, --kube-api-qps and --kube-api-burst,
	// which the floor copies.
	pageSize, qps, burst string
	res                  results
	runCounter           int
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
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

// prepare finds the repository, the binaries and the machine's description.
func (b *bench) prepare(ctx context.Context) error {
	var err error
	if b.root, err = findRepoRoot(); err != nil {
		return err
	}
	if b.self, err = os.Executable(); err != nil {
		return err
	}
	m := &b.res.Machine
	m.Cores = runtime.NumCPU()
	m.MemoryGiB = memTotalGiB()
	m.Kernel = firstLine(output(ctx, "", "uname", "-sr"))
	m.GoVersion = runtime.Version()
	m.Date = time.Now().UTC().Format(time.RFC3339)
	if b.viaTime = rssExact(); b.viaTime {
		m.RSSMethod = "GNU time %M (the child's own ru_maxrss)"
	} else {
		m.RSSMethod = "wait4 ru_maxrss: at least the benchmark's own peak RSS (install GNU time for exact figures)"
		b.log("no GNU time at %s: peak RSS figures include the benchmark's own (apt-get install time)", gnuTime)
	}

	b.ashiato = b.cfg.ashiato
	if b.ashiato == "" {
		b.ashiato = filepath.Join(b.tmp, "ashiato")
		b.log("building ashiato from %s/src/cmd", b.root)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b.ashiato, "-ldflags", "-X main.version=bench", "./src/cmd")
		cmd.Dir = b.root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./src/cmd: %w\n%s", err, out)
		}
		m.AshiatoBuild = "./src/cmd at " + firstLine(output(ctx, b.root, "git", "describe", "--always", "--dirty"))
	} else {
		if b.ashiato, err = filepath.Abs(b.ashiato); err != nil {
			return err
		}
		m.AshiatoBuild = b.ashiato
	}
	help, _ := exec.CommandContext(ctx, b.ashiato, "--help").CombinedOutput()
	b.hasWatch = strings.Contains(string(help), "-source")
	// The floor makes the requests this ashiato makes by default.
	b.pageSize = flagDefault(string(help), "page-size", "500")
	b.qps = flagDefault(string(help), "kube-api-qps", "50")
	b.burst = flagDefault(string(help), "kube-api-burst", "100")

	if b.cfg.parts["kubectl"] {
		if path, err := exec.LookPath(b.cfg.kubectl); err == nil {
			b.kubectl = path
			m.Kubectl = firstLine(output(ctx, "", path, "version", "--client"))
		} else {
			b.log("kubectl not found (%v): its part is skipped", err)
		}
	}

	if b.cfg.binDir == "" {
		b.cfg.binDir = os.Getenv(controlplane.EnvBinDir)
	}
	if b.cfg.binDir == "" {
		b.log("control-plane binaries: bash tools/controlplane/build.sh (builds etcd and kube-apiserver on first use)")
		cmd := exec.CommandContext(ctx, "bash", "tools/controlplane/build.sh")
		cmd.Dir = b.root
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("tools/controlplane/build.sh: %w", err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		b.cfg.binDir = lines[len(lines)-1]
	}
	m.APIServer = firstLine(output(ctx, "", filepath.Join(b.cfg.binDir, "kube-apiserver"), "--version"))
	return nil
}

func (b *bench) startControlPlane(ctx context.Context) error {
	if b.cfg.dir != "" {
		if cp, err := controlplane.Load(b.cfg.dir); err == nil {
			if err := cp.Check(ctx); err == nil {
				b.log("reusing the control plane running in %s", b.cfg.dir)
				b.cp = cp
				return nil
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	b.log("starting etcd and kube-apiserver")
	cp, err := controlplane.Start(ctx, controlplane.Options{
		BinDir: b.cfg.binDir,
		Dir:    b.cfg.dir,
		Detach: b.cfg.keep,
		// Room for 150,000 pods and the benchmark's own concurrency.
		APIServerArgs: []string{"--max-requests-inflight=800", "--max-mutating-requests-inflight=400"},
	})
	if err != nil {
		return err
	}
	b.cp = cp
	return nil
}

// benchNamespace holds the service account continuous mode runs as, and the
// ConfigMap namespaces are named after it.
const benchNamespace = "ashiato-bench"

// setup makes the clients, the service account and the nodes.
func (b *bench) setup(ctx context.Context) error {
	rc := b.cp.RESTConfig()
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	b.client = client
	b.admin = b.cp.KubeconfigPath()

	// Continuous mode runs as a service account of its own, so that the API
	// server's flow-control counters tell its requests from everyone else's.
	if err := fixture.CreateNamespaces(ctx, client, benchNamespace); err != nil {
		return err
	}
	token, err := b.cp.ServiceAccountToken(ctx, benchNamespace, "ashiato", 24*time.Hour)
	if err != nil {
		return err
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "ashiato-bench"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: benchNamespace, Name: "ashiato"}},
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("bind the service account: %w", err)
	}
	b.sa = filepath.Join(b.tmp, "sa-kubeconfig")
	if err := b.cp.KubeconfigForToken(b.sa, token); err != nil {
		return err
	}

	if b.kubectl != "" {
		// kubectl caches API discovery under ~/.kube/cache: fill it before timing.
		if _, err := timed(ctx, []string{b.kubectl, "--kubeconfig", b.admin, "get", "namespaces"}, nil, false, ""); err != nil {
			return err
		}
	}
	sd := b.seeder()
	return sd.ensureNodes(ctx)
}

func (b *bench) seeder() *seeder {
	return &seeder{client: b.client, nodes: b.cfg.nodes, namespaces: b.cfg.namespaces, concurrency: b.cfg.concurrency, log: b.log}
}

// measureSize grows the cluster to n pods and measures every part.
func (b *bench) measureSize(ctx context.Context, n int) (s sizeResult, err error) {
	cfg := b.cfg
	s = sizeResult{Pods: n, Nodes: cfg.nodes, Namespaces: cfg.namespaces}
	have, err := countPods(ctx, b.client)
	if err != nil {
		return s, err
	}
	if have > n {
		return s, fmt.Errorf("the cluster already holds %d pods (a kept control plane?): start with a fresh --dir", have)
	}
	if have < n {
		b.log("growing the cluster from %d to %d pods on %d nodes", have, n, cfg.nodes)
		start := time.Now()
		if err := b.seeder().grow(ctx, have, n); err != nil {
			return s, err
		}
		s.SeedSeconds = time.Since(start).Seconds()
		if got, err := countPods(ctx, b.client); err != nil {
			return s, err
		} else if got != n {
			return s, fmt.Errorf("after seeding the cluster holds %d pods, want %d (an interrupted seed? start with a fresh --dir)", got, n)
		}
		// Let the API server and etcd finish what the seeding left behind.
		settle := time.Second
		if n >= 10_000 {
			settle = 10 * time.Second
		}
		if err := sleep(ctx, settle); err != nil {
			return s, err
		}
	}
	b.log("measuring at %d pods", n)
	s.ControlPlaneMiB = controlPlaneRSS(b.cp.Dir())
	b.busy = nil
	defer func() { s.BusyPercent = newStat(b.busy) }()

	floorArgv := []string{b.self, floorCommand, "--kubeconfig", b.admin, "--page-size", b.pageSize, "--qps", b.qps, "--burst", b.burst}
	oneshotArgv := []string{b.ashiato, "--kubeconfig", b.admin, "--oneshot"}
	kubectlArgv := []string{b.kubectl, "--kubeconfig", b.admin, "get", "pods", "-A", "-o", "json"}

	// Floor, ashiato and kubectl take turns, so a drift of the API server over
	// the runs touches all three alike. An untimed floor run first warms the
	// API server's caches.
	var floor, oneshot, kubectl []sample
	if cfg.parts["floor"] {
		if _, err := b.floor(ctx, floorArgv, n); err != nil {
			return s, err
		}
	}
	for r := range cfg.runs {
		if cfg.parts["floor"] {
			x, err := b.floor(ctx, floorArgv, n)
			if err != nil {
				return s, err
			}
			floor = append(floor, x)
			b.log("  run %d floor: %.2fs, %.2fs CPU, %.1f MiB", r+1, x.Wall.Seconds(), x.CPU.Seconds(), float64(x.MaxRSS)/mib)
		}
		if cfg.parts["oneshot"] {
			x, err := b.timed(ctx, oneshotArgv)
			if err != nil {
				return s, err
			}
			oneshot = append(oneshot, x)
			b.log("  run %d ashiato --oneshot: %.2fs, %.2fs CPU, %.1f MiB", r+1, x.Wall.Seconds(), x.CPU.Seconds(), float64(x.MaxRSS)/mib)
		}
		if cfg.parts["kubectl"] && b.kubectl != "" {
			x, err := b.timed(ctx, kubectlArgv)
			if err != nil {
				return s, err
			}
			kubectl = append(kubectl, x)
			b.log("  run %d kubectl: %.2fs, %.2fs CPU, %.1f MiB", r+1, x.Wall.Seconds(), x.CPU.Seconds(), float64(x.MaxRSS)/mib)
		}
	}
	s.Floor = summarize("bench floor (paginated protobuf LIST, limit "+b.pageSize+" as ashiato's --page-size, discarded)", floor)
	s.Oneshot = summarize("ashiato --oneshot > /dev/null", oneshot)
	s.Kubectl = summarize("kubectl get pods -A -o json > /dev/null", kubectl)
	if cfg.parts["kubectl"] && b.kubectl == "" {
		s.Skipped = append(s.Skipped, "kubectl: not found")
	}

	if cfg.parts["oneshot"] {
		// One more run, untimed, checks what --oneshot prints.
		lines := &lineCounter{}
		if _, err := timed(ctx, oneshotArgv, lines, false, ""); err != nil {
			return s, err
		}
		s.OneshotRecords = lines.Lines()
		if s.OneshotRecords != n {
			return s, fmt.Errorf("ashiato --oneshot printed %d lines, want %d", s.OneshotRecords, n)
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines.First()), &rec); err != nil || rec["event"] != "snapshot" || rec["node_name"] == "" {
			return s, fmt.Errorf("ashiato --oneshot printed %q, want a snapshot record", lines.First())
		}
	}

	if cfg.parts["store"] {
		if err := b.measureStore(ctx, &s); err != nil {
			return s, err
		}
	}
	if cfg.parts["watch"] {
		if !b.hasWatch {
			s.Skipped = append(s.Skipped, "continuous mode: this ashiato has no --source flag")
		} else if err := b.measureWatch(ctx, &s); err != nil {
			return s, err
		}
	}
	return s, nil
}

func (b *bench) timed(ctx context.Context, argv []string) (sample, error) {
	if err := b.waitQuiet(ctx); err != nil {
		return sample{}, err
	}
	return timed(ctx, argv, nil, b.viaTime, b.tmp)
}

// quietBusy is the CPU use (of both cores, by every process) under which the
// machine counts as quiet enough to time a run.
const quietBusy = 0.15

// waitQuiet waits until the machine is quiet (the previous run's load on the
// control plane has settled, and nothing else competes for the two cores), at
// most --quiet-wait, and records how busy it was when the run started.
func (b *bench) waitQuiet(ctx context.Context) error {
	if b.cfg.quietWait == 0 {
		return nil // --smoke: no time to wait, and nothing is judged
	}
	deadline := time.Now().Add(b.cfg.quietWait)
	for {
		busy, err := cpuBusy(ctx, time.Second)
		if err != nil {
			return err
		}
		if busy <= quietBusy || time.Now().After(deadline) {
			if busy > quietBusy {
				b.log("  the machine is still %.0f%% busy after %s: timing anyway", busy*100, b.cfg.quietWait)
			}
			b.busy = append(b.busy, busy*100)
			return nil
		}
	}
}

// floor runs the floor process and checks that it saw every pod.
func (b *bench) floor(ctx context.Context, argv []string, n int) (sample, error) {
	out := &tailBuffer{max: 1 << 10}
	if err := b.waitQuiet(ctx); err != nil {
		return sample{}, err
	}
	x, err := timed(ctx, argv, out, b.viaTime, b.tmp)
	if err != nil {
		return x, err
	}
	if got, _ := strconv.Atoi(out.String()); got != n {
		return x, fmt.Errorf("the floor listed %s pods, want %d", out.String(), n)
	}
	return x, nil
}

func summarize(command string, xs []sample) *program {
	if len(xs) == 0 {
		return nil
	}
	var wall, cpu, rss []float64
	for _, x := range xs {
		wall = append(wall, x.Wall.Seconds())
		cpu = append(cpu, x.CPU.Seconds())
		rss = append(rss, float64(x.MaxRSS)/mib)
	}
	return &program{Command: command, WallS: newStat(wall), CPUS: newStat(cpu), RSSMiB: newStat(rss)}
}

// newCMNamespace creates a namespace for one run's history ConfigMaps.
func (b *bench) newCMNamespace(ctx context.Context, kind string, n int) (string, error) {
	b.runCounter++
	name := fmt.Sprintf("%s-%s-%d-%d-%d", benchNamespace, kind, n, time.Now().Unix()%100000, b.runCounter)
	return name, fixture.CreateNamespaces(ctx, b.client, name)
}

// measureStore times --oneshot --store-in-cm into a new hour (a fresh
// namespace each run) and into an existing hour (one namespace, written once
// before the timed runs), and checks what the first run stored.
func (b *bench) measureStore(ctx context.Context, s *sizeResult) error {
	argv := func(ns string) []string {
		return []string{b.ashiato, "--kubeconfig", b.admin, "--oneshot", "--store-in-cm", "--cm-namespace", ns}
	}
	var fresh, existing []sample
	for r := range b.cfg.runs {
		ns, err := b.newCMNamespace(ctx, "cm", s.Pods)
		if err != nil {
			return err
		}
		x, err := b.timed(ctx, argv(ns))
		if err != nil {
			return err
		}
		fresh = append(fresh, x)
		b.log("  run %d ashiato --oneshot --store-in-cm (new hour): %.2fs, %.1f MiB", r+1, x.Wall.Seconds(), float64(x.MaxRSS)/mib)
		if r == 0 {
			if err := b.checkStored(ctx, ns, s); err != nil {
				return err
			}
		}
	}
	ns, err := b.newCMNamespace(ctx, "cm", s.Pods)
	if err != nil {
		return err
	}
	if _, err := b.timed(ctx, argv(ns)); err != nil {
		return err
	}
	for r := range b.cfg.runs {
		x, err := b.timed(ctx, argv(ns))
		if err != nil {
			return err
		}
		existing = append(existing, x)
		b.log("  run %d ashiato --oneshot --store-in-cm (existing hour): %.2fs, %.1f MiB", r+1, x.Wall.Seconds(), float64(x.MaxRSS)/mib)
	}
	s.StoreNew = summarize("ashiato --oneshot --store-in-cm > /dev/null (new hour)", fresh)
	s.StoreExisting = summarize("ashiato --oneshot --store-in-cm > /dev/null (hour already stored)", existing)
	return nil
}

// checkStored decodes the history ConfigMaps of ns with the product's own
// codec and checks that they hold every pod.
func (b *bench) checkStored(ctx context.Context, ns string, s *sizeResult) error {
	list, err := b.client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: store.AllSelector()})
	if err != nil {
		return err
	}
	byHour := map[time.Time][]corev1.ConfigMap{}
	s.StoredObjects, s.StoredBytes = len(list.Items), 0
	for _, cm := range list.Items {
		hour, _, ok := store.ParseName(cm.Name)
		if !ok {
			continue
		}
		byHour[hour] = append(byHour[hour], cm)
		for _, v := range cm.Data {
			s.StoredBytes += len(v)
		}
		for _, v := range cm.BinaryData {
			s.StoredBytes += len(v)
		}
	}
	pods := map[store.PodRef]bool{}
	for hour, cms := range byHour {
		h, _, warnings := store.Decode(hour, cms)
		if len(warnings) > 0 {
			return fmt.Errorf("the stored history of %s does not decode: %v", ns, warnings[0])
		}
		for _, ref := range h.Refs() {
			pods[ref] = true
		}
	}
	s.StoredPods = len(pods)
	if s.StoredPods != s.Pods {
		return fmt.Errorf("--store-in-cm stored %d pods in %s, want %d", s.StoredPods, ns, s.Pods)
	}
	b.log("  stored: %d pods in %d ConfigMaps, %.2f MiB", s.StoredPods, s.StoredObjects, float64(s.StoredBytes)/mib)
	return nil
}

// measureWatch runs continuous mode --runs times without and with
// --store-in-cm, after measuring the API server's baseline request rate.
func (b *bench) measureWatch(ctx context.Context, s *sizeResult) error {
	cfg := b.cfg
	apiMetrics := func(ctx context.Context) ([]series, error) {
		raw, err := b.client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
		if err != nil {
			return nil, fmt.Errorf("API server metrics: %w", err)
		}
		return parseMetrics(strings.NewReader(string(raw)))
	}
	b.log("  baseline: the API server's own requests over %s, no ashiato", cfg.watchWindow)
	base, baseWatches, err := baseline(ctx, apiMetrics, cfg.watchWindow)
	if err != nil {
		return err
	}
	interval := cfg.watchInterval.String()
	for _, withStore := range []bool{false, true} {
		args := []string{"--source=watch", "--interval", interval}
		if withStore {
			args = append(args, "--store-in-cm", "--cm-namespace", "NS", "--cm-flush-interval", cfg.watchFlush.String())
		}
		res := &watchResult{
			Command:         "ashiato " + strings.Join(args, " ") + " --metrics-addr 127.0.0.1:PORT",
			WindowSeconds:   cfg.watchWindow.Seconds(),
			BaselinePerHour: base,
		}
		var samples []watchSample
		for r := range cfg.runs {
			w := &watchRun{ashiato: b.ashiato, kubeconfig: b.sa, pods: s.Pods, window: cfg.watchWindow,
				storeInCM: withStore, flush: cfg.watchFlush, apiMetrics: apiMetrics, log: b.log,
				args: slices.Clone(args)}
			if withStore {
				ns, err := b.newCMNamespace(ctx, "watch", s.Pods)
				if err != nil {
					return err
				}
				w.args[slices.Index(w.args, "NS")] = ns
			}
			if err := b.waitQuiet(ctx); err != nil {
				return err
			}
			x, err := w.run(ctx)
			if err != nil {
				return fmt.Errorf("continuous mode: %w", err)
			}
			b.log("  run %d %s: start %.1f MiB, sync %.1fs %.1f MiB, steady %.1f MiB, %v requests and %v CM writes in %s",
				r+1, res.Command, float64(x.startRSS)/mib, x.sync.Seconds(), float64(x.syncRSS)/mib, float64(x.steadyRSS)/mib,
				x.requests, x.steadyWrites, x.window.Round(time.Second))
			samples = append(samples, x)
		}
		fillWatch(res, samples, s.Pods, cfg.watchInterval, baseWatches)
		if withStore {
			s.WatchStore = res
		} else {
			s.Watch = res
		}
	}
	return nil
}

func fillWatch(res *watchResult, xs []watchSample, pods int, interval time.Duration, baseWatches float64) {
	col := func(f func(watchSample) float64) stat {
		var v []float64
		for _, x := range xs {
			v = append(v, f(x))
		}
		return newStat(v)
	}
	res.Mode = xs[0].mode
	res.Records = xs[len(xs)-1].records
	res.StartRSSMiB = col(func(x watchSample) float64 { return float64(x.startRSS) / mib })
	res.SyncSeconds = col(func(x watchSample) float64 { return x.sync.Seconds() })
	res.SyncRSSMiB = col(func(x watchSample) float64 { return float64(x.syncRSS) / mib })
	res.SteadyRSSMiB = col(func(x watchSample) float64 { return float64(x.steadyRSS) / mib })
	res.PeakRSSMiB = col(func(x watchSample) float64 { return float64(x.peakRSS) / mib })
	res.HeapMiB = col(func(x watchSample) float64 { return float64(x.heap) / mib })
	res.BytesPerPod = col(func(x watchSample) float64 { return float64(x.steadyRSS-x.startRSS) / float64(pods) })
	res.RequestsPerHour = col(func(x watchSample) float64 { return x.requests / x.window.Hours() })
	res.RequestsPerHourTotal = col(func(x watchSample) float64 {
		return x.requestsTotal/x.window.Hours() - res.BaselinePerHour
	})
	res.OpenWatches = col(func(x watchSample) float64 { return x.openWatches - baseWatches })
	if xs[0].syncWrites > 0 {
		res.SyncWrites = col(func(x watchSample) float64 { return x.syncWrites })
		res.SyncBytes = col(func(x watchSample) float64 { return x.syncBytes })
		res.SteadyWritesPerHour = col(func(x watchSample) float64 { return x.steadyWrites / x.window.Hours() })
		res.SteadyBytesPerHour = col(func(x watchSample) float64 { return x.steadyBytes / x.window.Hours() })
		if interval > time.Duration(res.WindowSeconds*float64(time.Second)) {
			res.SnapshotsPerHour = time.Hour.Seconds() / interval.Seconds()
		}
	}
}

// findRepoRoot walks up from the working directory to the product module's
// go.mod.
func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				if strings.TrimSpace(line) == "module "+productModule {
					return dir, nil
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run the benchmark inside the repository (no go.mod of " + productModule + " above the working directory)")
		}
		dir = parent
	}
}

func output(ctx context.Context, dir, name string, args ...string) string {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// flagDefault finds "(default V)" in the --help text of a Go flag set for
// flag name, else returns def.
func flagDefault(help, name, def string) string {
	_, after, ok := strings.Cut(help, "-"+name+" ")
	if !ok {
		return def
	}
	line, _, _ := strings.Cut(after, "\n  -") // the flag's usage ends where the next flag starts
	_, v, ok := strings.Cut(line, "(default ")
	if !ok {
		return def
	}
	v, _, _ = strings.Cut(v, ")")
	return v
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func memTotalGiB() int {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return int(kb/(1<<20) + 0.5)
		}
	}
	return 0
}
