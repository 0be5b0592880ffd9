// Package e2e tests the built ashiato binary from outside, as a user runs it,
// against a real API server: the local control plane (etcd + kube-apiserver
// built by tools/controlplane/build.sh) or any cluster given by a kubeconfig,
// such as kind.
//
// The suite needs one of these; without either it fails at once (a suite that
// skips itself would pass without testing anything), unless -short asks for
// the quick run, where the tests that need a cluster skip:
//
//	ASHIATO_CONTROLPLANE_BIN  folder with etcd, kube-apiserver and kubectl (bash tools/controlplane/build.sh --all
//	                          prints it): the suite starts its own control plane and runs that kubectl
//	ASHIATO_E2E_KUBECONFIG    kubeconfig of an existing cluster (kind): the suite uses it, and kubectl from PATH
//	ASHIATO_BIN               the ashiato binary to test (default: built from ./src/cmd)
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pod-ashiato/ashiato/e2e/controlplane"
)

// The cluster every test of the package shares. Tests isolate themselves by
// namespace and name, never by assuming an empty cluster.
var (
	kubeconfig string
	restConfig *rest.Config
	client     kubernetes.Interface
	ashiatoBin string
	cp         *controlplane.ControlPlane // nil when testing an existing cluster
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	existing := os.Getenv("ASHIATO_E2E_KUBECONFIG")
	if existing == "" && os.Getenv(controlplane.EnvBinDir) == "" {
		flag.Parse() // for testing.Short; m.Run does not parse again
		if !testing.Short() {
			fmt.Fprintf(os.Stderr, "e2e: no cluster: set %s (bash tools/controlplane/build.sh --all prints it) or ASHIATO_E2E_KUBECONFIG; "+
				"bash tools/test.sh e2e does both\n", controlplane.EnvBinDir)
			return 1
		}
		fmt.Println("e2e: -short and no cluster: the tests that need one skip")
		return m.Run() // those tests skip themselves through requireCluster
	}
	tmp, err := os.MkdirTemp("", "ashiato-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)

	if ashiatoBin = os.Getenv("ASHIATO_BIN"); ashiatoBin == "" {
		ashiatoBin = filepath.Join(tmp, "ashiato")
		start := time.Now()
		build := exec.Command("go", "build", "-o", ashiatoBin, "./src/cmd")
		build.Dir = repoRoot()
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: building ashiato: %v\n", err)
			return 1
		}
		fmt.Printf("e2e: built ashiato in %s\n", time.Since(start).Round(time.Millisecond))
	}
	// bazel test sets ASHIATO_BIN relative to the runfiles folder the test
	// starts in; tests run the binary from other folders and link to it
	// (kubectl-ashiato), so it must be absolute.
	if ashiatoBin, err = filepath.Abs(ashiatoBin); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: ASHIATO_BIN: %v\n", err)
		return 1
	}

	if existing != "" {
		kubeconfig = existing
		restConfig, err = clientcmd.BuildConfigFromFlags("", existing)
	} else {
		start := time.Now()
		cp, err = controlplane.Start(context.Background(), controlplane.Options{Dir: filepath.Join(tmp, "cluster")})
		if err == nil {
			fmt.Printf("e2e: control plane ready in %s at %s\n", time.Since(start).Round(time.Millisecond), cp.APIServerURL())
			kubeconfig, restConfig = cp.KubeconfigPath(), cp.RESTConfig()
			defer func() {
				if err := cp.Stop(); err != nil {
					fmt.Fprintf(os.Stderr, "e2e: stopping the control plane: %v\n", err)
				}
			}()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: cluster: %v\n", err)
		return 1
	}
	if client, err = kubernetes.NewForConfig(restConfig); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: client: %v\n", err)
		return 1
	}
	return m.Run()
}

// requireCluster skips the test when the suite has no cluster, which TestMain
// allows only with -short.
func requireCluster(t *testing.T) {
	t.Helper()
	if client == nil {
		t.Skipf("no cluster: set %s or ASHIATO_E2E_KUBECONFIG", controlplane.EnvBinDir)
	}
}

// repoRoot is the repository root: under bazel test the main repository's
// runfiles folder, $TEST_SRCDIR/$TEST_WORKSPACE, which holds the test's data
// (//k8s:manifests), as rules_go's bzltestutil/chdir computes it; under go
// test the module root, two levels above this file.
func repoRoot() string {
	if srcdir, ws := os.Getenv("TEST_SRCDIR"), os.Getenv("TEST_WORKSPACE"); srcdir != "" && ws != "" {
		return filepath.Join(srcdir, ws)
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}
