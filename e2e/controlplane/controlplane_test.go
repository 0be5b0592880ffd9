package controlplane_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pod-ashiato/ashiato/e2e/controlplane"
	"github.com/pod-ashiato/ashiato/e2e/fixture"
)

// TestControlPlane runs the path every e2e test takes: start, seed placed pods, read them
// back, survive an API-server restart, authenticate as a service account, stop.
func TestControlPlane(t *testing.T) {
	ctx := t.Context()
	start := time.Now()
	cp := fixture.StartControlPlane(t, controlplane.Options{})
	t.Logf("started etcd + kube-apiserver in %v", time.Since(start).Round(time.Millisecond))
	client := fixture.Client(t, cp)

	const ns = "ashiato-e2e"
	nodes := []string{"node-a", "node-b", "node-c"}
	if err := fixture.CreateNamespaces(ctx, client, ns); err != nil {
		t.Fatal(err)
	}
	if err := fixture.CreateNodes(ctx, client, nodes); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if err := fixture.CreatePlacedPods(ctx, client, fixture.PlacedPods(ns, 50, nodes), 16); err != nil {
		t.Fatal(err)
	}
	t.Logf("created 50 placed pods in %v", time.Since(start).Round(time.Millisecond))
	nodeIPs := readyNodeIPs(t, client, 3)
	checkRunningPods(t, client, ns, 50, nodeIPs)

	start = time.Now()
	if err := cp.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped kube-apiserver in %v", time.Since(start).Round(time.Millisecond))
	if _, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
		t.Fatal("listing pods worked with kube-apiserver stopped")
	}
	if err := cp.StartAPIServer(ctx); err == nil {
		if err := cp.StartAPIServer(ctx); err == nil {
			t.Error("a second StartAPIServer did not fail")
		}
	} else {
		t.Fatal(err)
	}
	t.Logf("restarted kube-apiserver (stop + start) in %v", time.Since(start).Round(time.Millisecond))
	checkRunningPods(t, client, ns, 50, nodeIPs) // same client, same port, same certs

	// A service-account token sees only what RBAC grants it.
	token, err := cp.ServiceAccountToken(ctx, ns, "reader", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "reader.kubeconfig")
	if err := cp.KubeconfigForToken(kubeconfig, token); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reader.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("reader listed pods before any grant: err = %v", err)
	}
	grantPodReader(t, client, ns, "reader")
	if err := waitFor(ctx, 10*time.Second, func() error {
		_, err := reader.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err
	}); err != nil {
		t.Fatalf("reader cannot list pods after the grant: %v", err)
	}

	start = time.Now()
	if err := cp.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped the control plane in %v", time.Since(start).Round(time.Millisecond))
	if _, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
		t.Fatal("listing pods worked after Stop")
	}
}

// TestKwok checks that kwok plays the kubelet: nodes become Ready and pods created with
// only spec.nodeName become Running with a pod IP and their node's IP.
func TestKwok(t *testing.T) {
	ctx := t.Context()
	start := time.Now()
	cp := fixture.StartControlPlane(t, controlplane.Options{Kwok: true})
	t.Logf("started etcd + kube-apiserver + kwok in %v", time.Since(start).Round(time.Millisecond))
	client := fixture.Client(t, cp)

	const ns = "ashiato-kwok"
	nodes := []string{"kwok-a", "kwok-b", "kwok-c"}
	if err := fixture.CreateNamespaces(ctx, client, ns); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if err := fixture.CreateKwokNodes(ctx, client, nodes); err != nil {
		t.Fatal(err)
	}
	// Pods go onto nodes kwok already manages, as a scheduler would place them.
	// A pod that arrives while kwok starts to manage its node can reach kwok
	// twice (its pod watch, and the node's own listing of its pods): kwok then
	// plays the pod's stage twice and hands out two IPs, one of which it gives
	// to another pod as well (seen once on a loaded machine).
	var nodeIPs map[string]string
	if err := waitFor(ctx, 60*time.Second, func() error {
		var err error
		nodeIPs, err = nodeIPsIfReady(ctx, client, 3)
		return err
	}); err != nil {
		t.Fatalf("kwok did not make 3 nodes Ready: %v", err)
	}
	if err := fixture.CreatePods(ctx, client, fixture.PlacedPods(ns, 10, nodes), 4); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, 60*time.Second, func() error {
		return runningPods(ctx, client, ns, 10, nodeIPs)
	}); err != nil {
		t.Fatalf("kwok did not make 3 nodes Ready and 10 pods Running: %v", err)
	}
	t.Logf("kwok made 3 nodes Ready and 10 pods Running in %v", time.Since(start).Round(time.Millisecond))
	if len(distinct(nodeIPs)) != 3 {
		t.Errorf("node IPs are not distinct: %v", nodeIPs)
	}

	// kwok's pod-delete stage finishes deletions, as a kubelet would.
	if err := client.CoreV1().Pods(ns).Delete(ctx, ns+"-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, 30*time.Second, func() error {
		_, err := client.CoreV1().Pods(ns).Get(ctx, ns+"-0", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return errors.New("pod still exists")
	}); err != nil {
		t.Fatal(err)
	}
}

// TestAllComponents runs every binary: the controller-manager turns a Deployment into
// pods and gives namespaces their default ServiceAccount and root CA, the scheduler
// places the pods, kwok runs them.
func TestAllComponents(t *testing.T) {
	ctx := t.Context()
	start := time.Now()
	cp := fixture.StartControlPlane(t, controlplane.Options{Kwok: true, Scheduler: true, ControllerManager: true})
	t.Logf("started all five binaries in %v", time.Since(start).Round(time.Millisecond))
	client := fixture.Client(t, cp)

	const ns = "ashiato-full"
	if err := fixture.CreateNamespaces(ctx, client, ns); err != nil {
		t.Fatal(err)
	}
	if err := fixture.CreateKwokNodes(ctx, client, []string{"full-a", "full-b"}); err != nil {
		t.Fatal(err)
	}
	// With the controller-manager, the ServiceAccount admission plugin is on and rejects
	// pods (with a retryable ServerTimeout) until the namespace's default ServiceAccount
	// exists; the fixtures must ride that out in a brand-new namespace.
	if err := fixture.CreateNamespaces(ctx, client, "ashiato-fresh"); err != nil {
		t.Fatal(err)
	}
	if err := fixture.CreatePlacedPods(ctx, client, fixture.PlacedPods("ashiato-fresh", 5, []string{"full-a"}), 5); err != nil {
		t.Fatal(err)
	}
	replicas := int32(3)
	labels := map[string]string{"app": "web"}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: fixture.PauseImage}}},
			},
		},
	}
	start = time.Now()
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, 90*time.Second, func() error {
		nodeIPs, err := nodeIPsIfReady(ctx, client, 2)
		if err != nil {
			return err
		}
		return runningPods(ctx, client, ns, 3, nodeIPs)
	}); err != nil {
		t.Fatalf("the Deployment's pods did not become Running: %v", err)
	}
	t.Logf("Deployment of 3 pods scheduled and Running in %v", time.Since(start).Round(time.Millisecond))
	if err := waitFor(ctx, 30*time.Second, func() error {
		if _, err := client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err != nil {
			return err
		}
		_, err := client.CoreV1().ConfigMaps(ns).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		return err
	}); err != nil {
		t.Fatalf("the controller-manager did not set up the namespace: %v", err)
	}
}

// TestDetachAndLoad starts a detached plane, reattaches from its directory as the local
// cluster's `down` does, and stops it through the reattached handle.
func TestDetachAndLoad(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	cp := fixture.StartControlPlane(t, controlplane.Options{Dir: dir, Detach: true})

	if _, err := controlplane.Start(ctx, controlplane.Options{Dir: dir}); !errors.Is(err, controlplane.ErrRunning) {
		t.Fatalf("second Start in a running dir: err = %v, want ErrRunning", err)
	}
	loaded, err := controlplane.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := loaded.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if loaded.APIServerURL() != cp.APIServerURL() || loaded.KubeconfigPath() != cp.KubeconfigPath() {
		t.Fatalf("loaded plane differs: %s %s", loaded.APIServerURL(), loaded.KubeconfigPath())
	}
	// The kubeconfig file works on its own, as kubectl and Pod Ashiato use it.
	cfg, err := clientcmd.BuildConfigFromFlags("", loaded.KubeconfigPath())
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}

	if err := loaded.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := cp.Check(ctx); err == nil {
		t.Fatal("the original handle still sees a running plane after the loaded handle stopped it")
	}
	if _, err := controlplane.Load(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load after Stop: err = %v, want not-exist", err)
	}
}

// TestStartFailureShowsLog checks that a binary that refuses to start explains why in
// the error, without anyone digging through files.
func TestStartFailureShowsLog(t *testing.T) {
	fixture.RequireBinaries(t)
	dir := t.TempDir()
	_, err := controlplane.Start(t.Context(), controlplane.Options{Dir: dir, APIServerArgs: []string{"--no-such-flag"}})
	if err == nil {
		t.Fatal("Start succeeded with a bad kube-apiserver flag")
	}
	if !strings.Contains(err.Error(), "no-such-flag") {
		t.Fatalf("error does not show the log: %v", err)
	}
	if _, err := controlplane.Load(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed Start left its state file: %v", err)
	}
}

func grantPodReader(t *testing.T, client kubernetes.Interface, ns, sa string) {
	t.Helper()
	ctx := t.Context()
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pod-reader"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}},
	}
	if _, err := client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pod-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "pod-reader"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: sa}},
	}
	if _, err := client.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func readyNodeIPs(t *testing.T, client kubernetes.Interface, want int) map[string]string {
	t.Helper()
	ips, err := nodeIPsIfReady(t.Context(), client, want)
	if err != nil {
		t.Fatal(err)
	}
	return ips
}

// nodeIPsIfReady returns each node's InternalIP once want nodes exist and all are Ready.
func nodeIPsIfReady(ctx context.Context, client kubernetes.Interface, want int) (map[string]string, error) {
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	if len(nodes.Items) != want {
		return nil, fmt.Errorf("%d nodes, want %d", len(nodes.Items), want)
	}
	ips := map[string]string{}
	for _, n := range nodes.Items {
		ready := false
		for _, c := range n.Status.Conditions {
			ready = ready || c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
		}
		if !ready {
			return nil, errors.New("node " + n.Name + " is not Ready")
		}
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				ips[n.Name] = a.Address
			}
		}
		if ips[n.Name] == "" {
			return nil, errors.New("node " + n.Name + " has no InternalIP")
		}
	}
	return ips, nil
}

func checkRunningPods(t *testing.T, client kubernetes.Interface, ns string, want int, nodeIPs map[string]string) {
	t.Helper()
	if err := runningPods(t.Context(), client, ns, want, nodeIPs); err != nil {
		t.Fatal(err)
	}
}

// runningPods checks that ns holds want pods, all Running and Ready, each with a distinct
// pod IP and its node's IP as host IP.
func runningPods(ctx context.Context, client kubernetes.Interface, ns string, want int, nodeIPs map[string]string) error {
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	if len(pods.Items) != want {
		return fmt.Errorf("%d pods, want %d", len(pods.Items), want)
	}
	seen := map[string]string{}
	for _, p := range pods.Items {
		name := p.Namespace + "/" + p.Name
		if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
			return fmt.Errorf("%s is not Running with an IP: phase %q, pod IP %q", name, p.Status.Phase, p.Status.PodIP)
		}
		if p.Status.HostIP != nodeIPs[p.Spec.NodeName] {
			return fmt.Errorf("%s has host IP %q, its node %s has %q", name, p.Status.HostIP, p.Spec.NodeName, nodeIPs[p.Spec.NodeName])
		}
		ready := false
		for _, c := range p.Status.Conditions {
			ready = ready || c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
		}
		if !ready {
			return errors.New(name + " is not Ready")
		}
		if other, dup := seen[p.Status.PodIP]; dup {
			return fmt.Errorf("%s and %s share pod IP %s", name, other, p.Status.PodIP)
		}
		seen[p.Status.PodIP] = name
	}
	return nil
}

func waitFor(ctx context.Context, timeout time.Duration, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func distinct(m map[string]string) map[string]bool {
	d := map[string]bool{}
	for _, v := range m {
		d[v] = true
	}
	return d
}
