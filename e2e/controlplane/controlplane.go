// Package controlplane starts a real Kubernetes control plane (etcd, kube-apiserver and,
// when asked, kube-scheduler, kube-controller-manager and kwok) as local processes.
//
// Pod Ashiato's behaviour against an API server — watches, resourceVersions, conflicts,
// RBAC, size limits — cannot be tested with the fake clientset, and our machines have no
// Docker for kind. So the e2e tests, the local cluster and the benchmarks all run the
// real binaries that tools/controlplane/build.sh builds, through this one launcher.
//
// Everything a control plane owns lives in one directory:
//
//	pki/            CAs, serving and admin certificates, service-account key pair
//	etcd/           etcd data (wiped at every Start: a control plane starts empty)
//	apiserver/      kube-apiserver --cert-dir
//	kwok/           kwok's work dir and its Stage configs
//	logs/NAME.log   each binary's output (never the test's stdout)
//	kubeconfig      admin kubeconfig (O=system:masters), certificates embedded
//	state.json      pids and ports, so Load can reattach from another process
package controlplane

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pod-ashiato/ashiato/e2e/proclog"
)

// EnvBinDir names the environment variable that points at the folder holding the
// binaries (`bash tools/controlplane/build.sh --all` prints it). Tests skip when it is unset.
const EnvBinDir = "ASHIATO_CONTROLPLANE_BIN"

// Kwok manages only the nodes that carry this annotation with this value, so nodes a test
// creates without it stay under the test's control even when kwok runs.
const (
	KwokNodeAnnotation      = "kwok.x-k8s.io/node"
	KwokNodeAnnotationValue = "fake"
)

// Address ranges. Pod IPs that kwok hands out come from KwokPodCIDR; services from
// ServiceCIDR. They do not overlap, so a recorded pod IP is never mistaken for a service IP.
const (
	ServiceCIDR = "10.96.0.0/16"
	KwokPodCIDR = "10.244.0.0/16"
)

// The binary names, as build.sh writes them.
const (
	nameEtcd              = "etcd"
	nameAPIServer         = "kube-apiserver"
	nameControllerManager = "kube-controller-manager"
	nameScheduler         = "kube-scheduler"
	nameKwok              = "kwok"
)

// ErrRunning is returned by Start when the directory already holds a running control plane.
var ErrRunning = errors.New("a control plane is already running in this directory")

// Options says which control plane to start and where.
type Options struct {
	// BinDir holds etcd, kube-apiserver and the optional binaries. Default: $ASHIATO_CONTROLPLANE_BIN.
	BinDir string
	// Dir is the work directory (see the package comment). Empty: a temporary directory
	// that Stop removes. A directory given here is kept, logs included.
	Dir string
	// Kwok runs kwok, which plays the kubelet for nodes annotated kwok.x-k8s.io/node=fake:
	// they become Ready and their pods Running with IPs.
	Kwok bool
	// Scheduler runs kube-scheduler, which places pods created without spec.nodeName.
	Scheduler bool
	// ControllerManager runs kube-controller-manager: Deployments and ReplicaSets work, and
	// every namespace gets its default ServiceAccount and kube-root-ca.crt ConfigMap.
	ControllerManager bool
	// Detach puts the processes in their own session so they outlive the calling
	// process; Load reattaches later. For the local cluster. Attached processes (the
	// default) are killed by the kernel if the calling process dies.
	Detach bool
	// APIServerArgs are appended to kube-apiserver's flags (later flags win).
	APIServerArgs []string
	// ControllerManagerArgs are appended to kube-controller-manager's flags, e.g. a
	// short --node-monitor-grace-period for a test of nodes going NotReady.
	ControllerManagerArgs []string
	// StartTimeout bounds the wait for each binary to become ready. Default 60s: under
	// `go test -race` on two cores kube-apiserver can take far longer than its usual 2.5s.
	StartTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL. Default 5s.
	StopTimeout time.Duration
}

// ControlPlane is a running (or stopped) control plane. Its methods are safe for
// concurrent use.
type ControlPlane struct {
	mu           sync.Mutex
	dir          string
	pki          *pki
	st           state
	startTimeout time.Duration
	stopTimeout  time.Duration
}

// state is the content of state.json.
type state struct {
	Detached bool `json:"detached"`
	// TempDir: the directory was made by Start and Stop removes it.
	TempDir   bool       `json:"tempDir"`
	Ports     ports      `json:"ports"`
	Processes []*process `json:"processes"` // in start order
}

type ports struct {
	EtcdClient        int `json:"etcdClient"`
	EtcdPeer          int `json:"etcdPeer"`
	APIServer         int `json:"apiServer"`
	ControllerManager int `json:"controllerManager,omitempty"`
	Scheduler         int `json:"scheduler,omitempty"`
	Kwok              int `json:"kwok,omitempty"`
}

const stateFile = "state.json"

//go:embed stages/node-initialize.yaml
var stageNodeInitialize string

//go:embed stages/node-heartbeat-with-lease.yaml
var stageNodeHeartbeat string

//go:embed stages/pod-ready.yaml
var stagePodReady string

//go:embed stages/pod-complete.yaml
var stagePodComplete string

//go:embed stages/pod-delete.yaml
var stagePodDelete string

// Start starts etcd and kube-apiserver, then the optional binaries, each waited on until
// it reports healthy. ctx bounds only the start-up: the processes run until Stop (they
// are not tied to ctx, which a test cancels before its cleanups run). On failure
// everything already started is stopped and the error carries the tail of the failing
// binary's log.
func Start(ctx context.Context, opts Options) (*ControlPlane, error) {
	if opts.BinDir == "" {
		opts.BinDir = os.Getenv(EnvBinDir)
	}
	if opts.BinDir == "" {
		return nil, fmt.Errorf("no control-plane binaries: set %s to the folder `bash tools/controlplane/build.sh --all` prints", EnvBinDir)
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 5 * time.Second
	}
	bins := []string{nameEtcd, nameAPIServer}
	if opts.ControllerManager {
		bins = append(bins, nameControllerManager)
	}
	if opts.Scheduler {
		bins = append(bins, nameScheduler)
	}
	if opts.Kwok {
		bins = append(bins, nameKwok)
	}
	for _, b := range bins {
		fi, err := os.Stat(filepath.Join(opts.BinDir, b))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("binary %s missing in %s (build it with `bash tools/controlplane/build.sh --all`)", b, opts.BinDir)
		}
	}

	cp := &ControlPlane{startTimeout: opts.StartTimeout, stopTimeout: opts.StopTimeout}
	cp.st.Detached = opts.Detach
	if opts.Dir == "" {
		dir, err := os.MkdirTemp("", "ashiato-controlplane-")
		if err != nil {
			return nil, fmt.Errorf("create work dir: %w", err)
		}
		cp.dir, cp.st.TempDir = dir, true
	} else {
		dir, err := filepath.Abs(opts.Dir)
		if err != nil {
			return nil, fmt.Errorf("work dir: %w", err)
		}
		if old, err := Load(dir); err == nil {
			if running := old.runningNames(); len(running) > 0 {
				return nil, fmt.Errorf("%s: %w (%s)", dir, ErrRunning, strings.Join(running, ", "))
			}
		}
		cp.dir = dir
	}
	for _, sub := range []string{"logs", "apiserver", "kwok"} {
		if err := os.MkdirAll(filepath.Join(cp.dir, sub), 0o700); err != nil {
			return nil, cp.fail(fmt.Errorf("create work dir: %w", err))
		}
	}
	var err error
	if cp.pki, err = loadOrCreatePKI(filepath.Join(cp.dir, "pki")); err != nil {
		return nil, cp.fail(err)
	}
	if err := cp.start(ctx, opts); err != nil {
		return nil, cp.fail(err)
	}
	return cp, nil
}

// fail stops whatever Start got running and cleans up after a failed Start.
func (cp *ControlPlane) fail(err error) error {
	if stopErr := cp.Stop(); stopErr != nil {
		return errors.Join(err, stopErr)
	}
	return err
}

func (cp *ControlPlane) start(ctx context.Context, opts Options) error {
	bin := func(name string) string { return filepath.Join(opts.BinDir, name) }
	pki := cp.pki.path

	etcdData := filepath.Join(cp.dir, "etcd")
	etcd := cp.newProcess(nameEtcd, bin(nameEtcd))
	err := cp.launch(ctx, etcd, func() error {
		// A fresh data dir at every attempt: etcd records its peer URL in it.
		if err := os.RemoveAll(etcdData); err != nil {
			return fmt.Errorf("clear etcd data: %w", err)
		}
		var err error
		if cp.st.Ports.EtcdClient, err = freePort(); err != nil {
			return err
		}
		if cp.st.Ports.EtcdPeer, err = freePort(); err != nil {
			return err
		}
		client := "http://127.0.0.1:" + strconv.Itoa(cp.st.Ports.EtcdClient)
		peer := "http://127.0.0.1:" + strconv.Itoa(cp.st.Ports.EtcdPeer)
		etcd.Args = []string{
			"--name=ashiato",
			"--data-dir=" + etcdData,
			"--listen-client-urls=" + client,
			"--advertise-client-urls=" + client,
			"--listen-peer-urls=" + peer,
			"--initial-advertise-peer-urls=" + peer,
			"--initial-cluster=ashiato=" + peer,
			"--initial-cluster-state=new",
			// Tests and benchmarks do not need durability; fsync dominates write latency.
			"--unsafe-no-fsync",
			// 8 GiB instead of 2: a 150,000-pod benchmark with status updates would hit
			// the default quota before the API server's compaction catches up.
			"--quota-backend-bytes=8589934592",
		}
		return nil
	}, cp.checkEtcd)
	if err != nil {
		return err
	}

	apiserver := cp.newProcess(nameAPIServer, bin(nameAPIServer))
	err = cp.launch(ctx, apiserver, func() error {
		var err error
		if cp.st.Ports.APIServer, err = freePort(); err != nil {
			return err
		}
		apiserver.Args = []string{
			"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(cp.st.Ports.EtcdClient),
			// No --advertise-address: v1.37 refuses 127.0.0.1 unless the endpoint
			// reconciler is off; left out, it is derived as envtest does.
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(cp.st.Ports.APIServer),
			"--cert-dir=" + filepath.Join(cp.dir, "apiserver"),
			"--tls-cert-file=" + pki(servingCertFile),
			"--tls-private-key-file=" + pki(servingKeyFile),
			"--client-ca-file=" + pki(clientCAFile),
			"--authorization-mode=Node,RBAC",
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-account-key-file=" + pki(saPubFile),
			"--service-account-signing-key-file=" + pki(saKeyFile),
			"--service-cluster-ip-range=" + ServiceCIDR,
			"--allow-privileged=true",
		}
		if !opts.ControllerManager {
			// Without the controller-manager no namespace gets a default ServiceAccount,
			// and this admission plugin would then reject every pod.
			apiserver.Args = append(apiserver.Args, "--disable-admission-plugins=ServiceAccount")
		}
		apiserver.Args = append(apiserver.Args, opts.APIServerArgs...)
		return nil
	}, cp.checkAPIServer)
	if err != nil {
		return err
	}
	if err := writeKubeconfig(cp.KubeconfigPath(), cp.APIServerURL(), cp.pki.servingCA, &clientcmdapi.AuthInfo{
		ClientCertificateData: cp.pki.adminCert,
		ClientKeyData:         cp.pki.adminKey,
	}); err != nil {
		return err
	}

	if opts.ControllerManager {
		kcm := cp.newProcess(nameControllerManager, bin(nameControllerManager))
		err := cp.launch(ctx, kcm, func() error {
			var err error
			if cp.st.Ports.ControllerManager, err = freePort(); err != nil {
				return err
			}
			kcm.Args = []string{
				"--kubeconfig=" + cp.KubeconfigPath(),
				"--bind-address=127.0.0.1",
				"--secure-port=" + strconv.Itoa(cp.st.Ports.ControllerManager),
				"--leader-elect=false",
				// The signing key makes service-account token Secrets work; the root CA
				// is what every namespace's kube-root-ca.crt ConfigMap carries.
				"--service-account-private-key-file=" + pki(saKeyFile),
				"--root-ca-file=" + pki(servingCAFile),
			}
			kcm.Args = append(kcm.Args, opts.ControllerManagerArgs...)
			return nil
		}, func(ctx context.Context) error { return checkLocalHealthz(ctx, cp.st.Ports.ControllerManager) })
		if err != nil {
			return err
		}
	}

	if opts.Scheduler {
		sched := cp.newProcess(nameScheduler, bin(nameScheduler))
		err := cp.launch(ctx, sched, func() error {
			var err error
			if cp.st.Ports.Scheduler, err = freePort(); err != nil {
				return err
			}
			sched.Args = []string{
				"--kubeconfig=" + cp.KubeconfigPath(),
				"--bind-address=127.0.0.1",
				"--secure-port=" + strconv.Itoa(cp.st.Ports.Scheduler),
				"--leader-elect=false",
			}
			return nil
		}, func(ctx context.Context) error { return checkLocalHealthz(ctx, cp.st.Ports.Scheduler) })
		if err != nil {
			return err
		}
	}

	if opts.Kwok {
		kwokDir := filepath.Join(cp.dir, "kwok")
		stages := filepath.Join(kwokDir, "stages.yaml")
		all := strings.Join([]string{stageNodeInitialize, stageNodeHeartbeat, stagePodReady, stagePodComplete, stagePodDelete}, "\n---\n")
		if err := os.WriteFile(stages, []byte(all), 0o600); err != nil {
			return fmt.Errorf("write kwok stages: %w", err)
		}
		kwok := cp.newProcess(nameKwok, bin(nameKwok))
		// kwok also reads ~/.kwok/kwok.yaml when it exists; its own work dir keeps a
		// developer's kwok configuration out of our tests.
		kwok.Env = []string{"KWOK_WORKDIR=" + kwokDir}
		err := cp.launch(ctx, kwok, func() error {
			var err error
			if cp.st.Ports.Kwok, err = freePort(); err != nil {
				return err
			}
			kwok.Args = []string{
				"--kubeconfig=" + cp.KubeconfigPath(),
				"--config=" + stages,
				"--manage-all-nodes=false",
				"--manage-nodes-with-annotation-selector=" + KwokNodeAnnotation + "=" + KwokNodeAnnotationValue,
				"--cidr=" + KwokPodCIDR,
				// kwok v0.8.0 defaults this to 0, which means no node Leases at all; the
				// controller-manager then declares every kwok node NotReady after 50 s and
				// marks its pods NotReady for good. 40 s is the kubelet's default.
				"--node-lease-duration-seconds=40",
				// The server exists only for its /healthz, which answers once kwok's
				// controllers have started: our readiness signal.
				"--server-address=127.0.0.1:" + strconv.Itoa(cp.st.Ports.Kwok),
				"-v=WARN",
			}
			return nil
		}, func(ctx context.Context) error {
			return checkHTTP(ctx, http.DefaultClient, "http://127.0.0.1:"+strconv.Itoa(cp.st.Ports.Kwok)+"/healthz")
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (cp *ControlPlane) newProcess(name, path string) *process {
	return &process{Name: name, Path: path, Log: filepath.Join(cp.dir, "logs", name+".log")}
}

// launch starts p and waits until check passes. configure (re)chooses ports and sets
// p.Args before each attempt; when the binary fails because another process took a
// port in the meantime, it is tried again with new ports (three attempts in all).
// configure nil means: same arguments, one attempt (a restart on the same port).
func (cp *ControlPlane) launch(ctx context.Context, p *process, configure func() error, check func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		if configure != nil {
			if err := configure(); err != nil {
				return fmt.Errorf("configure %s: %w", p.Name, err)
			}
		}
		offset := proclog.Size(p.Log)
		if err := p.start(cp.dir, cp.st.Detached); err != nil {
			return err
		}
		if err := cp.record(p); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, cp.startTimeout)
		start := proclog.Start{
			Name: p.Name, Log: p.Log, Offset: offset,
			Alive: p.alive, ExitErr: p.exitErr,
			CheckTimeout: 2 * time.Second, Every: 100 * time.Millisecond,
		}
		err := start.WaitReady(wctx, check)
		cancel()
		if err == nil {
			return nil
		}
		_ = p.stop(cp.stopTimeout)
		if configure != nil && attempt < 3 && strings.Contains(proclog.Since(p.Log, offset, 1<<20), "address already in use") {
			continue
		}
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
}

// record puts p into the state (replacing an earlier run of the same binary) and saves
// the state file at once, so that even a half-started plane can be found and stopped.
func (cp *ControlPlane) record(p *process) error {
	i := slices.IndexFunc(cp.st.Processes, func(q *process) bool { return q.Name == p.Name })
	if i >= 0 {
		cp.st.Processes[i] = p
	} else {
		cp.st.Processes = append(cp.st.Processes, p)
	}
	return cp.saveState()
}

func (cp *ControlPlane) saveState() error {
	b, err := json.MarshalIndent(cp.st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	tmp := filepath.Join(cp.dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(cp.dir, stateFile)); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// Load reattaches to the control plane recorded in dir, typically a detached one that an
// earlier process started. The error wraps fs.ErrNotExist when dir holds no state file.
// Load does not check that the processes still run: see Check.
func Load(dir string) (*ControlPlane, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("load control plane: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, fmt.Errorf("load control plane: %w", err)
	}
	cp := &ControlPlane{dir: dir, startTimeout: 60 * time.Second, stopTimeout: 5 * time.Second}
	if err := json.Unmarshal(b, &cp.st); err != nil {
		return nil, fmt.Errorf("load control plane from %s: %w", dir, err)
	}
	p := &pki{dir: filepath.Join(dir, "pki")}
	if err := p.load(); err != nil {
		return nil, fmt.Errorf("load control plane from %s: %w", dir, err)
	}
	cp.pki = p
	return cp, nil
}

// runningNames lists the recorded processes that still run.
func (cp *ControlPlane) runningNames() []string {
	var names []string
	for _, p := range cp.st.Processes {
		if p.alive() {
			names = append(names, fmt.Sprintf("%s pid %d", p.Name, p.PID))
		}
	}
	return names
}

// Check reports whether every recorded process still runs and the API server is ready.
func (cp *ControlPlane) Check(ctx context.Context) error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	var errs []error
	for _, p := range cp.st.Processes {
		if !p.alive() {
			errs = append(errs, fmt.Errorf("%s (pid %d) is not running; see %s", p.Name, p.PID, p.Log))
		}
	}
	if len(errs) == 0 {
		if err := cp.checkAPIServer(ctx); err != nil {
			errs = append(errs, fmt.Errorf("kube-apiserver not ready: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Stop stops every process in reverse start order: SIGTERM, then SIGKILL after
// StopTimeout. It removes the state file and, if Start made the directory, the directory.
// Stop is idempotent.
func (cp *ControlPlane) Stop() error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	var errs []error
	for _, p := range slices.Backward(cp.st.Processes) {
		if err := p.stop(cp.stopTimeout); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		// Keep the state file: it is the only way to find the survivors.
		return fmt.Errorf("stop control plane in %s: %w", cp.dir, errors.Join(errs...))
	}
	if cp.dir == "" {
		return nil
	}
	if cp.st.TempDir {
		if err := os.RemoveAll(cp.dir); err != nil {
			return fmt.Errorf("remove %s: %w", cp.dir, err)
		}
		return nil
	}
	if err := os.Remove(filepath.Join(cp.dir, stateFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("stop control plane: %w", err)
	}
	return nil
}

// StopAPIServer stops kube-apiserver alone, leaving etcd and the rest running: fault tests
// use it to see how Pod Ashiato rides out an outage.
func (cp *ControlPlane) StopAPIServer() error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	p := cp.process(nameAPIServer)
	if p == nil {
		return errors.New("stop kube-apiserver: not started")
	}
	if err := p.stop(cp.stopTimeout); err != nil {
		return fmt.Errorf("stop kube-apiserver: %w", err)
	}
	return nil
}

// StartAPIServer starts kube-apiserver again after StopAPIServer, on the same port with
// the same certificates, so existing clients and kubeconfigs reconnect unchanged. It
// returns once /readyz answers.
func (cp *ControlPlane) StartAPIServer(ctx context.Context) error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	old := cp.process(nameAPIServer)
	if old == nil {
		return errors.New("start kube-apiserver: never started")
	}
	if old.alive() {
		return fmt.Errorf("start kube-apiserver: already running (pid %d)", old.PID)
	}
	p := &process{Name: old.Name, Path: old.Path, Args: old.Args, Env: old.Env, Log: old.Log}
	return cp.launch(ctx, p, nil, cp.checkAPIServer)
}

// StartProcess starts one more program next to the control plane, as the control
// plane's own binaries are: its output in Dir()/logs/NAME.log, detached when the plane
// is, recorded in the state file so that Check watches it and Stop (the local cluster's
// `down`) stops it first. It returns once ready passes. The local cluster runs Pod
// Ashiato's recorder this way.
func (cp *ControlPlane) StartProcess(ctx context.Context, name, path string, args []string, ready func(context.Context) error) error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if old := cp.process(name); old != nil && old.alive() {
		return fmt.Errorf("start %s: already running (pid %d)", name, old.PID)
	}
	p := cp.newProcess(name, path)
	p.Args = args
	return cp.launch(ctx, p, nil, ready)
}

func (cp *ControlPlane) process(name string) *process {
	for _, p := range cp.st.Processes {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Dir is the work directory; logs are in Dir()/logs/<binary>.log.
func (cp *ControlPlane) Dir() string { return cp.dir }

// KubeconfigPath is the admin kubeconfig; it embeds its certificates, so it can be copied.
func (cp *ControlPlane) KubeconfigPath() string { return filepath.Join(cp.dir, "kubeconfig") }

// APIServerURL is https://127.0.0.1:<port>.
func (cp *ControlPlane) APIServerURL() string {
	return "https://127.0.0.1:" + strconv.Itoa(cp.st.Ports.APIServer)
}

// RESTConfig returns a new admin config (O=system:masters). Client-side rate limiting is
// off (QPS -1): fixtures create thousands of objects, and the API server exempts
// system:masters from its own flow control anyway.
func (cp *ControlPlane) RESTConfig() *rest.Config {
	return &rest.Config{
		Host: cp.APIServerURL(),
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   cp.pki.servingCA,
			CertData: cp.pki.adminCert,
			KeyData:  cp.pki.adminKey,
		},
		QPS:   -1,
		Burst: -1,
	}
}

// ServiceAccountToken returns a token for the service account namespace/name from the
// TokenRequest API, creating the service account if it does not exist (without the
// controller-manager, none exist). The API server refuses expiries under 10 minutes, so
// shorter ones are raised to 10 minutes.
func (cp *ControlPlane) ServiceAccountToken(ctx context.Context, namespace, name string, expiry time.Duration) (string, error) {
	client, err := kubernetes.NewForConfig(cp.RESTConfig())
	if err != nil {
		return "", fmt.Errorf("service account token: %w", err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if _, err := client.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create service account %s/%s: %w", namespace, name, err)
	}
	secs := int64(max(expiry, 10*time.Minute) / time.Second)
	tr, err := client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for service account %s/%s: %w", namespace, name, err)
	}
	return tr.Status.Token, nil
}

// KubeconfigForToken writes a kubeconfig for this API server that authenticates with
// token (from ServiceAccountToken), for running Pod Ashiato as a restricted identity.
func (cp *ControlPlane) KubeconfigForToken(path, token string) error {
	return writeKubeconfig(path, cp.APIServerURL(), cp.pki.servingCA, &clientcmdapi.AuthInfo{Token: token})
}

func writeKubeconfig(path, server string, ca []byte, user *clientcmdapi.AuthInfo) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["ashiato"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos["ashiato"] = user
	cfg.Contexts["ashiato"] = &clientcmdapi.Context{Cluster: "ashiato", AuthInfo: "ashiato"}
	cfg.CurrentContext = "ashiato"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}
