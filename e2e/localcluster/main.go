// Command localcluster runs a small Kubernetes cluster on this machine that shows what
// Pod Ashiato is for: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kwok, detached, with fake kwok nodes in two zones running Deployments, a StatefulSet,
// a DaemonSet and a Job; Pod Ashiato's recorder (the real binary, built from ./src/cmd)
// keeps their history in the background; then one node fails and its workloads are
// rescheduled, so that `ashiato history incident` has something to answer.
//
//	go run ./e2e/localcluster up [--dir D] [--nodes 4] [--ashiato BIN]
//	go run ./e2e/localcluster status [--dir D]
//	go run ./e2e/localcluster down [--dir D]
//
// There is no Docker for kind on our machines; the binaries come from
// tools/controlplane/build.sh (built on first use, cached outside the repository).
// It lives in the product module, next to the launcher it shares with the e2e tests,
// because tools/ is a separate Go module.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/pod-ashiato/ashiato/e2e/controlplane"
)

// errNotRunning makes `status` exit 1 without printing an error line.
var errNotRunning = errors.New("not running")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, errNotRunning):
		os.Exit(1)
	case err != nil:
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		os.Exit(1)
	}
}

const usage = `usage: go run ./e2e/localcluster <command> [flags]

commands:
  up      start the control plane, kwok and Pod Ashiato's recorder (detached), run
          workloads on kwok nodes in two zones, fail one node, print what to try
  status  tell whether the cluster runs
  down    stop it (the recorder too)

flags:
`

// run executes one command. What the user asked for (how to use the cluster, its state)
// goes to stdout; progress and diagnostics to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, usage)
		newFlags(stderr, new(config)).PrintDefaults()
		return errors.New("missing command")
	}
	cmd := args[0]
	var cfg config
	flags := newFlags(stderr, &cfg)
	if err := flags.Parse(args[1:]); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(flags.Args(), " "))
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	switch cmd {
	case "up":
		return up(ctx, cfg, stdout, stderr)
	case "down":
		return down(cfg, stdout)
	case "status":
		return status(ctx, cfg, stdout)
	default:
		fmt.Fprint(stderr, usage)
		flags.PrintDefaults()
		return fmt.Errorf("unknown command %q", cmd)
	}
}

type config struct {
	dir     string
	nodes   int
	ashiato string
}

func newFlags(stderr io.Writer, cfg *config) *flag.FlagSet {
	flags := flag.NewFlagSet("localcluster", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&cfg.dir, "dir", defaultDir(), "work directory: kubeconfig, logs, data, the ashiato binary")
	flags.IntVar(&cfg.nodes, "nodes", 4, "fake kwok nodes to create, alternately in zone-a and zone-b (up)")
	flags.StringVar(&cfg.ashiato, "ashiato", "", "the ashiato binary the recorder runs (up; default: go build ./src/cmd into DIR/bin/ashiato)")
	return flags
}

func (c *config) validate() error {
	if c.dir == "" {
		return errors.New("--dir is empty and there is no home directory to default to")
	}
	if c.nodes < 2 {
		return fmt.Errorf("--nodes must be at least 2 (one fails, the others take its pods), got %d", c.nodes)
	}
	return nil
}

// defaultDir is ${XDG_CACHE_HOME:-~/.cache}/pod-ashiato/localcluster.
func defaultDir() string {
	cache, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(cache, "pod-ashiato", "localcluster")
}

// nextFile keeps what `up` printed last, so that `status` and a second `up` print the
// same commands.
const nextFile = "next.txt"

func up(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	if cp, err := controlplane.Load(cfg.dir); err == nil {
		if err := cp.Check(ctx); err == nil {
			fmt.Fprintf(stdout, "The local cluster is already running.\n\n")
			printUsage(stdout, cfg.dir, cp)
			return nil
		}
		// Something died (a reboot, a killed process): clear what is left and start over.
		fmt.Fprintf(stderr, "localcluster: a previous cluster in %s is broken; stopping what is left of it\n", cfg.dir)
		if err := cp.Stop(); err != nil {
			return err
		}
	}
	_ = os.Remove(filepath.Join(cfg.dir, nextFile))

	start := time.Now()
	binDir, err := binaries(ctx, stderr)
	if err != nil {
		return err
	}
	ashiato := cfg.ashiato
	if ashiato == "" {
		progress(stderr, start, "building ./src/cmd")
		if ashiato, err = buildAshiato(ctx, cfg.dir, stderr); err != nil {
			return err
		}
	} else if ashiato, err = filepath.Abs(ashiato); err != nil {
		return err
	}
	progress(stderr, start, "starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok in %s", cfg.dir)
	cp, err := controlplane.Start(ctx, controlplane.Options{BinDir: binDir, Dir: cfg.dir, Kwok: true, Scheduler: true, ControllerManager: true, Detach: true,
		// A node whose heartbeats stop is Unknown after 30 s, not 50 s (kwok renews
		// every 10 s, so not much less on a busy machine).
		ControllerManagerArgs: []string{"--node-monitor-grace-period=30s", "--node-monitor-period=1s"}})
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cp.RESTConfig())
	if err != nil {
		return err
	}
	// From here on the cluster runs: an error leaves it for `down`.
	kept := func(err error) error { return fmt.Errorf("%w (the cluster keeps running; `down` stops it)", err) }
	progress(stderr, start, "starting Pod Ashiato's recorder (%s, history in namespace %s)", ashiato, historyNamespace)
	if err := startRecorder(ctx, cp, client, ashiato); err != nil {
		return kept(err)
	}
	progress(stderr, start, "creating %d kwok nodes in two zones and the workloads", cfg.nodes)
	nodes, err := createNodes(ctx, client, cfg.nodes)
	if err != nil {
		return kept(err)
	}
	if err := createWorkloads(ctx, client); err != nil {
		return kept(err)
	}
	if err := waitWorkloads(ctx, client); err != nil {
		return kept(err)
	}
	rec := logOf(cp)
	if err := waitRecorded(ctx, client, rec); err != nil {
		return kept(err)
	}
	inc, err := playNodeFailure(ctx, client, rec, ashiato, cp.KubeconfigPath(), nodes, stderr, start)
	if err != nil {
		return kept(err)
	}
	progress(stderr, start, "done")

	var next strings.Builder
	fmt.Fprintf(&next, "The local cluster is up: %d kwok nodes in zones %s, Deployments, a StatefulSet, a DaemonSet and a Job\n", cfg.nodes, strings.Join(zones, " and "))
	fmt.Fprintf(&next, "in namespaces %s; Pod Ashiato records them into namespace %s.\n", strings.Join(workloadNamespaces, ", "), historyNamespace)
	fmt.Fprintf(&next, "Node %s (%s) failed at %s; its pods were evicted and rescheduled.\n\n", inc.node, inc.zone, inc.at)
	tryNext(&next, cp, ashiato, inc)
	if err := os.WriteFile(filepath.Join(cp.Dir(), nextFile), []byte(next.String()), 0o600); err != nil {
		return kept(err)
	}
	printUsage(stdout, cfg.dir, cp)
	return nil
}

// progress reports a step on stderr with the time since up started.
func progress(stderr io.Writer, start time.Time, format string, args ...any) {
	fmt.Fprintf(stderr, "localcluster [%4ds]: %s\n", int(time.Since(start).Seconds()), fmt.Sprintf(format, args...))
}

// tryNext prints the three commands to try, the incident first, with the
// failed node and its time filled in.
func tryNext(w io.Writer, cp *controlplane.ControlPlane, ashiato string, inc incident) {
	flags := "--kubeconfig " + cp.KubeconfigPath() + " --cm-namespace " + historyNamespace
	fmt.Fprintf(w, `Try next:
  # what ran on the failed node, and where each pod went
  %[1]s history incident %[2]s --at %[3]s %[4]s
  # the node's pods as a timeline picture
  %[1]s history node %[2]s --at %[3]s -o svg %[4]s > %[2]s.svg
  # the web view of the history; this incident at http://%[5]s/incident?node=%[2]s&at=%[3]s
  %[1]s serve --addr %[5]s %[4]s
`, ashiato, inc.node, inc.at, flags, serveAddr)
}

// serveAddr is where the printed `serve` command listens.
const serveAddr = "127.0.0.1:8080"

// printUsage prints where the cluster is and how to stop it, then, last, what up
// printed to try next (the incident commands).
func printUsage(w io.Writer, dir string, cp *controlplane.ControlPlane) {
	kc := cp.KubeconfigPath()
	downCmd := "go run ./e2e/localcluster down"
	if dir != defaultDir() {
		downCmd += " --dir " + dir
	}
	fmt.Fprintf(w, `API server:  %s
Kubeconfig:  %s
Logs:        %s (the recorder's JSON lines: ashiato.log)
Stop it:     %s

`, cp.APIServerURL(), kc, filepath.Join(cp.Dir(), "logs"), downCmd)
	if b, err := os.ReadFile(filepath.Join(cp.Dir(), nextFile)); err == nil {
		w.Write(b)
	}
}

// binaries returns the folder with etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok: $ASHIATO_CONTROLPLANE_BIN
// when it is set, otherwise what tools/controlplane/build.sh prints (it builds only what
// is missing, so after the first time it returns in about a second).
func binaries(ctx context.Context, stderr io.Writer) (string, error) {
	if dir := os.Getenv(controlplane.EnvBinDir); dir != "" {
		return dir, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	fmt.Fprintln(stderr, "localcluster: checking the control-plane binaries (the first build takes several minutes)")
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "tools", "controlplane", "build.sh"), "--with-kwok", "--with-scheduler", "--with-controller-manager")
	cmd.Dir = root
	cmd.Stdout = &out
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("tools/controlplane/build.sh: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	dir := strings.TrimSpace(lines[len(lines)-1])
	if dir == "" {
		return "", errors.New("tools/controlplane/build.sh printed no binary folder")
	}
	return dir, nil
}

// repoRoot walks up from the working directory to the folder that holds
// tools/controlplane/build.sh.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "tools", "controlplane", "build.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("tools/controlplane/build.sh not found above the working directory: run from the repository or set %s", controlplane.EnvBinDir)
		}
		dir = parent
	}
}

func down(cfg config, stdout io.Writer) error {
	cp, err := controlplane.Load(cfg.dir)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stdout, "The local cluster in %s is not running.\n", cfg.dir)
		return nil
	}
	if err != nil {
		return err
	}
	if err := cp.Stop(); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(cfg.dir, nextFile))
	fmt.Fprintf(stdout, "The local cluster in %s is stopped (logs kept in %s).\n", cfg.dir, filepath.Join(cfg.dir, "logs"))
	return nil
}

func status(ctx context.Context, cfg config, stdout io.Writer) error {
	cp, err := controlplane.Load(cfg.dir)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stdout, "The local cluster in %s is not running.\n", cfg.dir)
		return errNotRunning
	}
	if err != nil {
		return err
	}
	if err := cp.Check(ctx); err != nil {
		fmt.Fprintf(stdout, "The local cluster in %s is broken:\n%v\nRun `up` again to restart it, or `down` to clean up.\n", cfg.dir, err)
		return errNotRunning
	}
	fmt.Fprintf(stdout, "The local cluster is running.\n\n")
	printUsage(stdout, cfg.dir, cp)
	return nil
}
