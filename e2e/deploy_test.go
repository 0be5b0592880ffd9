package e2e

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pod-ashiato/ashiato/e2e/controlplane"
	"github.com/pod-ashiato/ashiato/e2e/fixture"
)

// The deployment's namespace and ServiceAccount, as k8s/base names them.
const deployNS, deploySA = "pod-ashiato", "pod-ashiato"

// kubectlPath is the kubectl the tests run: the one tools/controlplane/build.sh
// builds next to kube-apiserver (the same Kubernetes version, whatever the
// machine has installed), and only against an existing cluster
// (ASHIATO_E2E_KUBECONFIG) without it, the one on PATH. No kubectl fails the test.
func kubectlPath(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv(controlplane.EnvBinDir); dir != "" {
		path := filepath.Join(dir, "kubectl")
		if _, err := os.Stat(path); err == nil {
			return path
		}
		if cp != nil {
			t.Fatalf("no kubectl in %s: build it with bash tools/controlplane/build.sh --all", dir)
		}
	}
	path, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("no kubectl: testing an existing cluster needs kubectl on PATH, or %s with the one build.sh --all builds: %v", controlplane.EnvBinDir, err)
	}
	return path
}

// kubectl runs kubectl with the suite's kubeconfig and returns its stdout.
func kubectl(t *testing.T, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(kubectlPath(t), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// render is `kubectl kustomize` of a folder under k8s/, run on a plain copy
// of k8s/: under bazel test every file of the runfiles tree is a symlink into
// the source tree, and kustomize resolves symlinks and refuses a file whose
// real path is outside the kustomization (kubernetes-sigs/kustomize#4420).
func render(t *testing.T, dir string) []byte {
	t.Helper()
	return kubectl(t, nil, "kustomize", filepath.Join(copyDir(t, filepath.Join(repoRoot(), "k8s")), dir))
}

// copyDir copies a folder into a temporary one, following symlinks to files.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if real, err := filepath.EvalSymlinks(src); err == nil {
		src = real // WalkDir would not enter a root that is a symlink
	}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
	return dst
}

// TestRenderUnderBazel: under bazel test the manifests come from the test's
// runfiles ($TEST_SRCDIR/$TEST_WORKSPACE), a tree of symlinks into the source
// tree, and still render. Needs kubectl, not a cluster.
func TestRenderUnderBazel(t *testing.T) {
	src, err := filepath.Abs(filepath.Join(repoRoot(), "k8s"))
	if err != nil {
		t.Fatal(err)
	}
	srcdir := t.TempDir()
	runfiles := filepath.Join(srcdir, "_main", "k8s")
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(runfiles, rel), 0o755)
		}
		return os.Symlink(p, filepath.Join(runfiles, rel)) // as Bazel lays out runfiles
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_SRCDIR", srcdir)
	t.Setenv("TEST_WORKSPACE", "_main")
	if got, want := repoRoot(), filepath.Join(srcdir, "_main"); got != want {
		t.Fatalf("repoRoot() = %s under bazel test, want the runfiles folder %s", got, want)
	}
	if out := render(t, "overlays/kind"); !bytes.Contains(out, []byte("image: pod-ashiato:dev")) {
		t.Errorf("overlays/kind rendered from the runfiles lacks image pod-ashiato:dev:\n%s", out)
	}
}

// TestManifests: every overlay renders and the API server accepts it
// (server-side dry run); the base is applied for real, so the RBAC the next
// test runs under is the one k8s/ ships.
func TestManifests(t *testing.T) {
	requireCluster(t)
	base := render(t, "base")
	// A dry run cannot create objects inside a namespace it only pretends to
	// create, so the base goes in for real first.
	kubectl(t, base, "apply", "--server-side", "-f", "-")
	for _, overlay := range []string{"overlays/kind", "overlays/production"} {
		t.Run(overlay, func(t *testing.T) {
			out := kubectl(t, render(t, overlay), "apply", "--server-side", "--dry-run=server", "-f", "-")
			want := []string{"deployment.apps/pod-ashiato", "clusterrole.rbac.authorization.k8s.io/pod-ashiato", "role.rbac.authorization.k8s.io/pod-ashiato",
				"networkpolicy.networking.k8s.io/pod-ashiato-metrics"}
			if overlay == "overlays/kind" { // with components/serve
				want = append(want, "deployment.apps/pod-ashiato-serve", "service/pod-ashiato-serve", "role.rbac.authorization.k8s.io/pod-ashiato-serve",
					"rolebinding.rbac.authorization.k8s.io/pod-ashiato-serve", "serviceaccount/pod-ashiato-serve",
					"clusterrole.rbac.authorization.k8s.io/pod-ashiato-serve-reviews", "networkpolicy.networking.k8s.io/pod-ashiato-serve")
			}
			for _, kind := range want {
				if !bytes.Contains(out, []byte(kind)) {
					t.Errorf("dry run did not apply %s:\n%s", kind, out)
				}
			}
		})
	}
}

// serviceAccountKubeconfig writes a kubeconfig that authenticates as the
// deployment's ServiceAccount, with a token from the TokenRequest API, as a
// pod of the Deployment would.
func serviceAccountKubeconfig(t *testing.T) (string, kubernetes.Interface) {
	t.Helper()
	return accountKubeconfig(t, deploySA)
}

// accountKubeconfig is serviceAccountKubeconfig for the ServiceAccount sa in
// deployNS.
func accountKubeconfig(t *testing.T, sa string) (string, kubernetes.Interface) {
	t.Helper()
	return accountKubeconfigIn(t, deployNS, sa)
}

// accountKubeconfigIn is accountKubeconfig for a ServiceAccount of any
// namespace.
func accountKubeconfigIn(t *testing.T, namespace, sa string) (string, kubernetes.Interface) {
	t.Helper()
	expiry := int64(3600)
	tok, err := client.CoreV1().ServiceAccounts(namespace).CreateToken(t.Context(), sa,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for %s/%s: %v", namespace, sa, err)
	}
	ca := restConfig.CAData
	if len(ca) == 0 && restConfig.CAFile != "" {
		if ca, err = os.ReadFile(restConfig.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: restConfig.Host, CertificateAuthorityData: ca}
	cfg.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	cfg.Contexts["sa"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "sa"}
	cfg.CurrentContext = "sa"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	return path, kubernetes.NewForConfigOrDie(rc)
}

// TestLeastPrivilege runs the binary with the ServiceAccount's own token: it
// lists pods of every namespace, writes its ConfigMaps and takes its Lease, and
// is refused anything else.
func TestLeastPrivilege(t *testing.T) {
	requireCluster(t)
	kubectl(t, render(t, "base"), "apply", "--server-side", "-f", "-")
	const ns = "rbac-apps"
	seed(t, []string{ns}, fixture.PlacedPods(ns, 8, nodes("rbac", 2)))
	saKubeconfig, sa := serviceAccountKubeconfig(t)
	start := time.Now()

	t.Run("oneshot reads every namespace and writes its hour", func(t *testing.T) {
		res := runAshiato(t, "--kubeconfig", saKubeconfig, "--oneshot", "--store-in-cm", "--cm-namespace", deployNS)
		if res.code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
		}
		seen := 0
		for _, r := range parseRecords(t, res.stdout) {
			if r.Namespace == ns {
				seen++
			}
		}
		if seen != 8 {
			t.Errorf("printed %d of the 8 pods of %s", seen, ns)
		}
		stored := storedHours(t, deployNS, start, time.Now())
		if stored[ns+"_"+ns+"-0"] != "rbac-node-0" {
			t.Errorf("hour ConfigMap in %s lacks the pods: %v", deployNS, stored)
		}
	})

	t.Run("continuous with leader election takes the Lease", func(t *testing.T) {
		addr := freeAddr(t)
		p := startAshiato(t, "--kubeconfig", saKubeconfig, "--namespace", ns, "--leader-elect", "--store-in-cm",
			"--cm-namespace", deployNS, "--metrics-addr", addr, "--cm-flush-interval", "1s")
		p.waitFor(60*time.Second, "records as leader", func(recs []rec) bool { return len(recs) >= 8 })
		lease, err := client.CoordinationV1().Leases(deployNS).Get(t.Context(), "pod-ashiato", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("no Lease taken: %v", err)
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			t.Errorf("Lease has no holder: %+v", lease.Spec)
		}
		if code := p.stop(30 * time.Second); code != 0 {
			t.Fatalf("exit %d after SIGTERM; stderr:\n%s", code, p.stderrText())
		}
	})

	t.Run("refused a ConfigMap in another namespace", func(t *testing.T) {
		res := runAshiato(t, "--kubeconfig", saKubeconfig, "--oneshot", "--namespace", ns, "--store-in-cm", "--cm-namespace", "default")
		if res.code != 1 || !strings.Contains(res.stderr, "forbidden") {
			t.Fatalf("exit %d, want 1 with a forbidden error; stderr:\n%s", res.code, res.stderr)
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt", Namespace: "default"}}
		_, err := sa.CoreV1().ConfigMaps("default").Update(context.Background(), cm, metav1.UpdateOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("updating a ConfigMap in default: %v, want Forbidden", err)
		}
	})

	t.Run("refused Secrets", func(t *testing.T) {
		for _, namespace := range []string{deployNS, "default"} {
			if _, err := sa.CoreV1().Secrets(namespace).List(t.Context(), metav1.ListOptions{}); !apierrors.IsForbidden(err) {
				t.Errorf("listing Secrets in %s: %v, want Forbidden", namespace, err)
			}
			if _, err := sa.CoreV1().Secrets(namespace).Get(t.Context(), "any", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
				t.Errorf("reading a Secret in %s: %v, want Forbidden", namespace, err)
			}
		}
	})
}
