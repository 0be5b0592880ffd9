package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/pod-ashiato/ashiato/e2e/controlplane"
	"github.com/pod-ashiato/ashiato/e2e/fixture"
)

// incidentGrace is the controller-manager's --node-monitor-grace-period here:
// how long after the last heartbeat a node turns Unknown. kwok renews its
// nodes' Leases every 10 s, so it must stay well above that on a busy machine.
const incidentGrace = 30 * time.Second

// TestIncident plays the incident of issue 14 on a control plane with the
// controller-manager, the scheduler and kwok: a node's kubelet stops its
// heartbeats and the node lifecycle controller marks it Unknown and taints it;
// its pods are deleted; the ReplicaSet makes replacements with new names and
// the StatefulSet its pod again under its name, and the scheduler places them
// on other nodes; a bare pod never comes back. Meanwhile another node is
// deleted outright and a third flaps (Unknown, Ready, Unknown). The recorder
// runs in watch mode throughout, then `history incident` must give exactly
// what it printed.
func TestIncident(t *testing.T) {
	requireCluster(t)
	if cp == nil {
		t.Skip("needs the control-plane binaries: it starts a control plane of its own with the controller-manager, the scheduler and kwok")
	}
	ctx := t.Context()
	plane := fixture.StartControlPlane(t, controlplane.Options{Kwok: true, Scheduler: true, ControllerManager: true,
		ControllerManagerArgs: []string{"--node-monitor-grace-period=" + incidentGrace.String(), "--node-monitor-period=1s"}})
	kc := fixture.Client(t, plane)
	const (
		ns      = "shop"
		history = "ashiato-history"
	)
	if err := fixture.CreateNamespaces(ctx, kc, ns, history); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	recorder := startAshiato(t, "--kubeconfig", plane.KubeconfigPath(), "--store-in-cm", "--cm-namespace", history,
		"--cm-flush-interval", "1s", "--metrics-addr", addr)
	waitReady(t, addr, time.Minute)

	// worker-1 (the one that fails) and worker-5 (the one that flaps) have a
	// kubelet played by this test, whose heartbeats it can stop.
	failing := newTestKubelet(t, kc, "worker-1", false)
	web := createWorkloads(t, kc, ns)
	solo := fixture.PodSpec{Namespace: ns, Name: "solo", NodeName: "worker-1"}
	if err := fixture.CreatePods(ctx, kc, []fixture.PodSpec{solo}, 1); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 2*time.Minute, "the 4 pods on worker-1", func() error { return podsOn(ctx, kc, ns, "worker-1", 4) })
	// Only now other nodes, so that everything above ran on worker-1.
	// worker-4 and worker-5 take no replacements: worker-5 is cordoned, and
	// worker-4 once lone runs there.
	flapping := newTestKubelet(t, kc, "worker-5", true)
	if err := fixture.CreateKwokNodes(ctx, kc, []string{"worker-2", "worker-3", "worker-4"}); err != nil {
		t.Fatal(err)
	}
	lone := fixture.PodSpec{Namespace: ns, Name: "lone", NodeName: "worker-4"}
	if err := fixture.CreatePods(ctx, kc, []fixture.PodSpec{lone}, 1); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 2*time.Minute, "lone Running on worker-4", func() error { return runningOn(ctx, kc, ns, "lone", "worker-4") })
	cordon(t, kc, "worker-4")
	recorder.waitFor(time.Minute, "placements of the 5 pods", func(rs []rec) bool {
		placed := map[string]bool{}
		for _, r := range rs {
			placed[r.key()] = r.Node != ""
		}
		return len(placed) == 5 && !slices.Contains(slices.Collect(maps.Values(placed)), false)
	})

	// The incident: worker-1 and worker-5 stop their heartbeats.
	failing.stop()
	flapping.stop()
	unknown := recorder.waitForNode(2*incidentGrace+time.Minute, "worker-1 Unknown", nodeEvent("worker-1", "node_unknown", 1))
	at := unknown.Timestamp
	t.Logf("worker-1 turned Unknown at %s", at)
	// The pods are evicted a little after the node is lost (the taint
	// manager waits for their tolerations; here a few seconds).
	time.Sleep(3 * time.Second)
	lost := deletePodsOn(t, kc, ns, "worker-1")
	if len(lost) != 4 {
		t.Fatalf("deleted %d pods on worker-1, want 4: %v", len(lost), lost)
	}
	// The workloads come back elsewhere: the ReplicaSet's 2 pods under new
	// names, db-0 under its own.
	recs := recorder.waitFor(2*time.Minute, "the replacements", func(rs []rec) bool {
		placed := 0
		for _, r := range rs {
			if (r.Event == "scheduled" && r.OwnerName == web && !slices.Contains(lost, r.Pod)) || (r.Event == "moved" && r.Pod == "db-0") {
				placed++
			}
		}
		return placed >= 3
	})
	// worker-4 is deleted outright, its pod with it.
	if err := kc.CoreV1().Nodes().Delete(ctx, "worker-4", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deletePodsOn(t, kc, ns, "worker-4")
	// worker-5 comes back and fails again. The node lifecycle controller taints
	// one node at a time (--node-eviction-rate): wait for its taint, so that
	// the flap is whole.
	recorder.waitForNode(2*incidentGrace+time.Minute, "worker-5 Unknown", nodeEvent("worker-5", "node_unknown", 1))
	recorder.waitForNode(time.Minute, "worker-5 tainted", nodeEvent("worker-5", "node_tainted", 1))
	flapping.resume()
	recorder.waitForNode(time.Minute, "worker-5 Ready again", nodeEvent("worker-5", "node_ready", 1))
	recorder.waitForNode(time.Minute, "worker-5 untainted", nodeEvent("worker-5", "node_untainted", 1))
	flapping.stop()
	recorder.waitForNode(2*incidentGrace+time.Minute, "worker-5 Unknown again", nodeEvent("worker-5", "node_unknown", 2))
	recorder.waitForNode(time.Minute, "worker-5 tainted again", nodeEvent("worker-5", "node_tainted", 2))
	recorder.waitForNode(time.Minute, "worker-4 deleted", nodeEvent("worker-4", "node_deleted", 1))

	if got := metric(t, addr, "ashiato_reschedules_after_node_loss_total"); got != 3 {
		t.Errorf("ashiato_reschedules_after_node_loss_total = %v, want 3 (2 of the ReplicaSet, db-0)", got)
	}
	if got := metric(t, addr, "ashiato_pods_lost_with_node_total"); got != 5 {
		t.Errorf("ashiato_pods_lost_with_node_total = %v, want 5 (4 on worker-1, lone on worker-4)", got)
	}
	if got := metric(t, addr, `ashiato_node_transitions_total{event="node_unknown"}`); got != 3 {
		t.Errorf(`ashiato_node_transitions_total{event="node_unknown"} = %v, want 3`, got)
	}
	time.Sleep(2 * time.Second) // one more flush; stop flushes the rest
	if code := recorder.stop(30 * time.Second); code != 0 {
		t.Fatalf("recorder exit %d; stderr:\n%s", code, recorder.stderrText())
	}
	recs = parseRecords(t, recorder.stdoutText())
	nodeRecs := parseNodeRecords(t, recorder.stdoutText())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("recorder stdout:\n%s", recorder.stdoutText())
		}
	})

	query := func(node, at string, args ...string) result {
		res := runAshiato(t, append([]string{"history", "incident", node, "--at", at, "--kubeconfig", plane.KubeconfigPath(), "--cm-namespace", history}, args...)...)
		if res.code != 0 {
			t.Fatalf("history incident %s: exit %d; stderr:\n%s", node, res.code, res.stderr)
		}
		return res
	}

	t.Run("the failed node", func(t *testing.T) {
		want := expectIncident(t, incidentQuery{node: "worker-1", at: at}, ns, recs, nodeRecs)
		answer := query("worker-1", at, "-o", "json").stdout
		checkIncident(t, answer, want)
		t.Logf("ashiato history incident worker-1 --at %s -o json\n%s", at, answer)
		t.Logf("node records of worker-1:\n%s", strings.Join(slices.DeleteFunc(nodeLines(recorder.stdoutText()),
			func(l string) bool { return !strings.Contains(l, `"node_name":"worker-1"`) }), "\n"))
		i := slices.IndexFunc(want.Pods, func(p incidentPodJSON) bool { return p.Pod == "solo" })
		if want.Summary.Pods != 4 || want.Summary.Rescheduled != 3 || i < 0 || want.Pods[i].Next != nil {
			t.Errorf("expected answer is not the incident played: %+v", want.Summary)
		}
		table := query("worker-1", at)
		t.Logf("ashiato history incident worker-1 --at %s\n%s", at, table.stdout)
		for _, line := range []string{"node_unknown", "node.kubernetes.io/unreachable:NoExecute", "StatefulSet/db", "<never came back>",
			"4 pods, 3 rescheduled, 1 not rescheduled; median "} {
			if !strings.Contains(table.stdout, line) {
				t.Errorf("table lacks %q:\n%s", line, table.stdout)
			}
		}
	})
	t.Run("a deleted node", func(t *testing.T) {
		gone := lastNodeEvent(t, nodeRecs, "worker-4", "node_deleted")
		want := expectIncident(t, incidentQuery{node: "worker-4", at: gone}, ns, recs, nodeRecs)
		checkIncident(t, query("worker-4", gone, "-o", "json").stdout, want)
		if len(want.Pods) != 1 || want.Pods[0].Next != nil || want.Timeline[len(want.Timeline)-1].Event != "node_deleted" {
			t.Errorf("expected answer is not the deletion played: %+v", want)
		}
	})
	t.Run("a flapping node", func(t *testing.T) {
		again := lastNodeEvent(t, nodeRecs, "worker-5", "node_unknown")
		want := expectIncident(t, incidentQuery{node: "worker-5", at: again}, ns, recs, nodeRecs)
		checkIncident(t, query("worker-5", again, "-o", "json").stdout, want)
		var readiness []string
		for _, e := range want.Timeline {
			if e.Event == "node_ready" || e.Event == "node_unknown" || e.Event == "node_not_ready" {
				readiness = append(readiness, e.Event)
			}
		}
		if got := strings.Join(readiness, " "); !strings.HasSuffix(got, "node_unknown node_ready node_unknown") {
			t.Errorf("worker-5's readiness: %s, want it to flap Unknown, Ready, Unknown", got)
		}
	})
}

// testKubelet keeps a node's Lease renewed, as a kubelet's heartbeat does,
// until stopped; resume reports the node Ready again and renews again.
type testKubelet struct {
	t      *testing.T
	client kubernetes.Interface
	name   string
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

func newTestKubelet(t *testing.T, client kubernetes.Interface, name string, cordoned bool) *testKubelet {
	t.Helper()
	return newLabelledKubelet(t, client, name, cordoned, nil)
}

// newLabelledKubelet is newTestKubelet for a node with more labels (a zone).
func newLabelledKubelet(t *testing.T, client kubernetes.Interface, name string, cordoned bool, labels map[string]string) *testKubelet {
	t.Helper()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Spec: corev1.NodeSpec{Unschedulable: cordoned}}
	maps.Copy(node.Labels, labels)
	if _, err := client.CoreV1().Nodes().Create(t.Context(), node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k := &testKubelet{t: t, client: client, name: name}
	k.resume() // registers as Ready and starts the heartbeats
	t.Cleanup(k.stop)
	return k
}

func (k *testKubelet) start() {
	k.mu.Lock()
	defer k.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	k.cancel, k.done = cancel, make(chan struct{})
	go func() {
		defer close(k.done)
		for {
			k.renew(ctx)
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Second):
			}
		}
	}()
}

func (k *testKubelet) renew(ctx context.Context) {
	leases := k.client.CoordinationV1().Leases("kube-node-lease")
	now := metav1.NewMicroTime(time.Now())
	lease, err := leases.Get(ctx, k.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: k.name, Namespace: "kube-node-lease"},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To(k.name), LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &now},
		}
		_, _ = leases.Create(ctx, lease, metav1.CreateOptions{})
		return
	}
	if err == nil {
		lease.Spec.RenewTime = &now
		_, _ = leases.Update(ctx, lease, metav1.UpdateOptions{})
	}
}

func (k *testKubelet) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cancel != nil {
		k.cancel()
		<-k.done
		k.cancel = nil
	}
}

// resume reports the node Ready, as a kubelet does when it is back, and
// renews its Lease again.
func (k *testKubelet) resume() {
	k.t.Helper()
	ctx := k.t.Context()
	// The controller-manager writes the node too (taints): read again on Conflict.
	waitUntil(k.t, 30*time.Second, "node "+k.name+" reported Ready", func() error {
		node, err := k.client.CoreV1().Nodes().Get(ctx, k.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now}
		node.Status.Conditions = slices.DeleteFunc(node.Status.Conditions, func(c corev1.NodeCondition) bool { return c.Type == corev1.NodeReady })
		node.Status.Conditions = append(node.Status.Conditions, ready)
		node.Status.Phase = corev1.NodeRunning
		node.Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("256Gi"), corev1.ResourcePods: resource.MustParse("110")}
		node.Status.Allocatable = node.Status.Capacity
		_, err = k.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		return err
	})
	k.start()
}

// cordon marks a node unschedulable, as kubectl cordon does.
func cordon(t *testing.T, client kubernetes.Interface, name string) {
	t.Helper()
	patch := []byte(`{"spec":{"unschedulable":true}}`)
	if _, err := client.CoreV1().Nodes().Patch(t.Context(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// createWorkloads makes a Deployment of 2 pods and a StatefulSet of 1 and
// returns the name of the Deployment's ReplicaSet.
func createWorkloads(t *testing.T, client kubernetes.Interface, ns string) string {
	t.Helper()
	ctx := t.Context()
	template := func(app string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: fixture.PauseImage}}, TerminationGracePeriodSeconds: ptr.To[int64](0)},
		}
	}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: template("web")},
	}
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](1), ServiceName: "db", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Template: template("db"), PodManagementPolicy: appsv1.ParallelPodManagement},
	}
	if _, err := client.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var rs string
	waitUntil(t, 2*time.Minute, "the Deployment's ReplicaSet", func() error {
		list, err := client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil || len(list.Items) != 1 {
			return fmt.Errorf("ReplicaSets: %v (%v)", list, err)
		}
		rs = list.Items[0].Name
		return nil
	})
	return rs
}

func waitUntil(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s: %v", what, timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// podsOn checks that ns has want pods bound to node.
func podsOn(ctx context.Context, client kubernetes.Interface, ns, node string, want int) error {
	list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return err
	}
	if len(list.Items) != want {
		return fmt.Errorf("%d pods on %s, want %d", len(list.Items), node, want)
	}
	return nil
}

func runningOn(ctx context.Context, client kubernetes.Interface, ns, pod, node string) error {
	p, err := client.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if p.Spec.NodeName != node || p.Status.Phase != corev1.PodRunning {
		return fmt.Errorf("%s is %s on %q", pod, p.Status.Phase, p.Spec.NodeName)
	}
	return nil
}

// deletePodsOn deletes the pods of ns bound to node at once (grace 0: no
// kubelet is left to confirm) and returns their names.
func deletePodsOn(t *testing.T, client kubernetes.Interface, ns, node string) []string {
	t.Helper()
	list, err := client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list.Items {
		if err := client.CoreV1().Pods(ns).Delete(t.Context(), p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
		names = append(names, p.Name)
	}
	return names
}

// nodeEvent is a condition on the node records: node has had event n times.
func nodeEvent(node, event string, n int) func([]nodeRec) (nodeRec, bool) {
	return func(rs []nodeRec) (nodeRec, bool) {
		seen := 0
		for _, r := range rs {
			if r.Node == node && r.Event == event {
				if seen++; seen == n {
					return r, true
				}
			}
		}
		return nodeRec{}, false
	}
}

// waitForNode polls the node records printed so far until cond finds one.
func (p *process) waitForNode(timeout time.Duration, what string, cond func([]nodeRec) (nodeRec, bool)) nodeRec {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if r, ok := cond(parseNodeRecords(p.t, p.stdoutText())); ok {
			return r
		}
		select {
		case <-p.done:
			p.t.Fatalf("ashiato exited (%v) before %s; stderr:\n%s", p.err, what, p.stderrText())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no %s within %s; node records:\n%s", what, timeout, strings.Join(nodeLines(p.stdoutText()), "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func nodeLines(stdout string) []string {
	var out []string
	for line := range strings.SplitSeq(stdout, "\n") {
		if strings.Contains(line, `"msg":"node lifecycle"`) {
			out = append(out, line)
		}
	}
	return out
}

func lastNodeEvent(t *testing.T, rs []nodeRec, node, event string) string {
	t.Helper()
	last := ""
	for _, r := range rs {
		if r.Node == node && r.Event == event {
			last = r.Timestamp
		}
	}
	if last == "" {
		t.Fatalf("no %s record of %s", event, node)
	}
	return last
}
