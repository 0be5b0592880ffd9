package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pod-ashiato/ashiato/e2e/controlplane"
	"github.com/pod-ashiato/ashiato/e2e/fixture"
)

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
	saToken  string    // its token, which the serve parts' clients send
	hasWatch bool      // ashiato has --source
	viaTime  bool      // peak RSS from GNU time
	busy     []float64 // the machine's CPU use just before each timed run of a size
	// ashiato's defaults for --page-size, --kube-api-qps and --kube-api-burst,
	// which the floor copies.
	pageSize, qps, burst string
	res                  results
	runCounter           int
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
	b.saToken = token
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
