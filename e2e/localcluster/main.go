// Command localcluster runs a small Kubernetes cluster on this machine for trying Pod
// Ashiato by hand: etcd, kube-apiserver and kwok, detached, with fake kwok nodes and a few
// namespaces of Running pods.
//
//	go run ./e2e/localcluster up [--dir D] [--nodes 3] [--pods 30]
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

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pod-ashiato/ashiato/e2e/controlplane"
	"github.com/pod-ashiato/ashiato/e2e/fixture"
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
  up      start etcd, kube-apiserver and kwok (detached) and seed fake nodes and pods
  status  tell whether the cluster runs
  down    stop it

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
	dir   string
	nodes int
	pods  int
}

func newFlags(stderr io.Writer, cfg *config) *flag.FlagSet {
	flags := flag.NewFlagSet("localcluster", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&cfg.dir, "dir", defaultDir(), "work directory: kubeconfig, logs, data")
	flags.IntVar(&cfg.nodes, "nodes", 3, "fake kwok nodes to create (up)")
	flags.IntVar(&cfg.pods, "pods", 30, "pods to create across the demo namespaces (up)")
	return flags
}

func (c *config) validate() error {
	if c.dir == "" {
		return errors.New("--dir is empty and there is no home directory to default to")
	}
	if c.nodes < 1 {
		return fmt.Errorf("--nodes must be at least 1, got %d", c.nodes)
	}
	if c.pods < 0 {
		return fmt.Errorf("--pods must not be negative, got %d", c.pods)
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

// namespaces receive the demo pods, round-robin.
var namespaces = []string{"shop", "payments", "batch"}

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

	binDir, err := binaries(ctx, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "localcluster: starting etcd, kube-apiserver and kwok in %s\n", cfg.dir)
	start := time.Now()
	cp, err := controlplane.Start(ctx, controlplane.Options{BinDir: binDir, Dir: cfg.dir, Kwok: true, Detach: true})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "localcluster: control plane ready in %v; seeding %d nodes and %d pods\n", time.Since(start).Round(100*time.Millisecond), cfg.nodes, cfg.pods)
	if err := seed(ctx, cp, cfg); err != nil {
		return fmt.Errorf("seed the cluster (it keeps running; `down` stops it): %w", err)
	}
	fmt.Fprintf(stdout, "The local cluster is up: %d kwok nodes, %d Running pods in namespaces %s.\n\n", cfg.nodes, cfg.pods, strings.Join(namespaces, ", "))
	printUsage(stdout, cfg.dir, cp)
	return nil
}

func printUsage(w io.Writer, dir string, cp *controlplane.ControlPlane) {
	kc := cp.KubeconfigPath()
	downCmd := "go run ./e2e/localcluster down"
	if dir != defaultDir() {
		downCmd += " --dir " + dir
	}
	fmt.Fprintf(w, `API server:  %s
Kubeconfig:  %s
Logs:        %s

Use it:
  kubectl --kubeconfig %s get pods -A -o wide
  go run ./src/cmd --kubeconfig %s --oneshot

Stop it:
  %s
`, cp.APIServerURL(), kc, filepath.Join(cp.Dir(), "logs"), kc, kc, downCmd)
}

// seed creates the kwok nodes and the demo pods and waits until kwok has made every pod
// Running, so the first thing a user sees is a settled cluster.
func seed(ctx context.Context, cp *controlplane.ControlPlane, cfg config) error {
	client, err := kubernetes.NewForConfig(cp.RESTConfig())
	if err != nil {
		return err
	}
	nodes := make([]string, cfg.nodes)
	for i := range nodes {
		nodes[i] = fmt.Sprintf("kwok-node-%d", i)
	}
	if err := fixture.CreateKwokNodes(ctx, client, nodes); err != nil {
		return err
	}
	if err := fixture.CreateNamespaces(ctx, client, namespaces...); err != nil {
		return err
	}
	perNS := make([]int, len(namespaces))
	for i := range cfg.pods {
		perNS[i%len(namespaces)]++
	}
	var pods []fixture.PodSpec
	for i, ns := range namespaces {
		for j, p := range fixture.PlacedPods(ns, perNS[i], nodes) {
			// Spread each namespace over all nodes, not always starting at node 0.
			p.NodeName = nodes[(i+j)%len(nodes)]
			pods = append(pods, p)
		}
	}
	if err := fixture.CreatePods(ctx, client, pods, 8); err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		running, err := countRunning(ctx, client)
		if err == nil && running >= cfg.pods {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("only %d of %d pods Running after 2 minutes (kwok log: %s): %w",
				running, cfg.pods, filepath.Join(cp.Dir(), "logs", "kwok.log"), context.Cause(ctx))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func countRunning(ctx context.Context, client kubernetes.Interface) (int, error) {
	n := 0
	for _, ns := range namespaces {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return 0, err
		}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
				n++
			}
		}
	}
	return n, nil
}

// binaries returns the folder with etcd, kube-apiserver and kwok: $ASHIATO_CONTROLPLANE_BIN
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
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "tools", "controlplane", "build.sh"), "--with-kwok")
	cmd.Dir = root
	cmd.Stdout = &out
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("tools/controlplane/build.sh --with-kwok: %w", err)
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
