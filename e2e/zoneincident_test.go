package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/pod-ashiato/ashiato/e2e/controlplane"
	"github.com/pod-ashiato/ashiato/e2e/fixture"
)

const zoneLabel = "topology.kubernetes.io/zone"

// TestZoneIncident plays issue 25's zone outage on a control plane with the
// controller-manager, the scheduler and kwok: zone-1's two nodes, whose
// kubelets this test plays, stop their heartbeats together; the node
// lifecycle controller marks them Unknown, taints them and evicts their pods
// by taint (the pods tolerate the taint for 5 s, set in their specs); the
// evicted pods linger Terminating on the unreachable nodes, as they do. A
// Deployment with replicas in both zones is degraded and replaced in zone-2;
// one that runs only in zone-1 (a nodeSelector) loses every replica until
// the zone is back; the StatefulSet's pod is force-deleted after a pause, as
// an operator does, and comes back in zone-2; the Job's pod is replaced; the
// DaemonSet's pods never move and are there when the nodes return. Then
// `history incident --node-selector topology.kubernetes.io/zone=zone-1` must
// give exactly what the recorder printed.
func TestZoneIncident(t *testing.T) {
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
	// --interval 5s: the store hears every 5 s that a pod is still where it
	// was, so the pods that stayed are seen on their nodes after the return.
	recorder := startAshiato(t, "--kubeconfig", plane.KubeconfigPath(), "--store-in-cm", "--cm-namespace", history,
		"--cm-flush-interval", "1s", "--interval", "5s", "--metrics-addr", addr)
	waitReady(t, addr, time.Minute)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("recorder stdout:\n%s", recorder.stdoutText())
		}
	})

	// Zone 1 first, so that every workload starts there.
	zone1 := []*testKubelet{
		newLabelledKubelet(t, kc, "z1-a", false, map[string]string{zoneLabel: "zone-1"}),
		newLabelledKubelet(t, kc, "z1-b", false, map[string]string{zoneLabel: "zone-1"}),
	}
	web, api := createZoneWorkloads(t, kc, ns)
	waitUntil(t, 2*time.Minute, "the 8 pods in zone-1", func() error {
		n := 0
		for _, node := range []string{"z1-a", "z1-b"} {
			list, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
			if err != nil {
				return err
			}
			n += len(list.Items)
		}
		if n != 8 { // web 2, api 2, db-0, agent 2, batch 1
			return fmt.Errorf("%d pods in zone-1, want 8", n)
		}
		return nil
	})
	// Zone 2: kwok's nodes. web's third replica goes there (zone-1 cordoned
	// meanwhile), and the DaemonSet's pods.
	if err := fixture.CreateKwokNodes(ctx, kc, []string{"z2-a", "z2-b"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"z2-a", "z2-b"} {
		patch := []byte(`{"metadata":{"labels":{"` + zoneLabel + `":"zone-2"}}}`)
		if _, err := kc.CoreV1().Nodes().Patch(ctx, n, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cordon(t, kc, "z1-a")
	cordon(t, kc, "z1-b")
	if _, err := kc.AppsV1().Deployments(ns).Patch(ctx, "web", types.MergePatchType, []byte(`{"spec":{"replicas":3}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 2*time.Minute, "web's third pod and the DaemonSet's in zone-2", func() error {
		n := 0
		for _, node := range []string{"z2-a", "z2-b"} {
			list, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
			if err != nil {
				return err
			}
			n += len(list.Items)
		}
		if n != 3 {
			return fmt.Errorf("%d pods in zone-2, want 3", n)
		}
		return nil
	})
	for _, n := range []string{"z1-a", "z1-b"} {
		if _, err := kc.CoreV1().Nodes().Patch(ctx, n, types.MergePatchType, []byte(`{"spec":{"unschedulable":false}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	recorder.waitFor(time.Minute, "placements of the 11 pods", func(rs []rec) bool {
		placed := map[string]bool{}
		for _, r := range rs {
			if r.Namespace == ns && r.Node != "" {
				placed[r.Pod] = true
			}
		}
		return len(placed) == 11
	})

	// The outage: zone-1's kubelets stop.
	for _, k := range zone1 {
		k.stop()
	}
	first := recorder.waitForNode(2*incidentGrace+time.Minute, "z1-a Unknown", nodeEvent("z1-a", "node_unknown", 1))
	second := recorder.waitForNode(2*incidentGrace+time.Minute, "z1-b Unknown", nodeEvent("z1-b", "node_unknown", 1))
	at := min(first.Timestamp, second.Timestamp)
	t.Logf("zone-1 lost at %s (z1-a %s, z1-b %s)", at, first.Timestamp, second.Timestamp)
	for _, n := range []string{"z1-a", "z1-b"} {
		recorder.waitForNode(2*time.Minute, n+" tainted", nodeEvent(n, "node_tainted", 1))
	}
	// Evicted by taint: every pod of zone-1 but the DaemonSet's is
	// Terminating, and stays so (no kubelet confirms).
	waitUntil(t, 2*time.Minute, "the evictions", func() error {
		for _, node := range []string{"z1-a", "z1-b"} {
			list, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
			if err != nil {
				return err
			}
			for _, p := range list.Items {
				if len(p.OwnerReferences) > 0 && p.OwnerReferences[0].Kind == "DaemonSet" {
					if p.DeletionTimestamp != nil {
						return fmt.Errorf("DaemonSet pod %s evicted", p.Name)
					}
				} else if p.DeletionTimestamp == nil {
					return fmt.Errorf("%s on %s not evicted yet", p.Name, node)
				}
			}
		}
		return nil
	})
	// An operator, after a pause, force-deletes the StatefulSet's pod: its
	// controller waits for it to be gone.
	time.Sleep(10 * time.Second)
	if err := kc.CoreV1().Pods(ns).Delete(ctx, "db-0", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 2*time.Minute, "web's and db's replacements in zone-2", func() error {
		db, err := kc.CoreV1().Pods(ns).Get(ctx, "db-0", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !strings.HasPrefix(db.Spec.NodeName, "z2-") {
			return fmt.Errorf("db-0 on %q", db.Spec.NodeName)
		}
		list, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return err
		}
		n := 0
		for _, p := range list.Items {
			if strings.HasPrefix(p.Spec.NodeName, "z2-") {
				n++
			}
		}
		if n != 3 {
			return fmt.Errorf("%d web pods in zone-2, want 3", n)
		}
		return nil
	})
	// api cannot run anywhere else: its replacements wait for zone-1.
	time.Sleep(5 * time.Second)
	for _, k := range zone1 {
		k.resume()
	}
	for _, n := range []string{"z1-a", "z1-b"} {
		recorder.waitForNode(2*time.Minute, n+" Ready again", nodeEvent(n, "node_ready", 2))
	}
	recorder.waitFor(2*time.Minute, "api's replacements", func(rs []rec) bool {
		placed := map[string]bool{}
		for _, r := range rs {
			if r.OwnerName == api && r.Node != "" && r.Timestamp > at {
				placed[r.Pod] = true
			}
		}
		return len(placed) >= 2
	})
	time.Sleep(12 * time.Second) // two --interval: the store sees the pods that stayed after the return
	if got := metric(t, addr, `ashiato_reschedule_after_node_loss_seconds_count{owner_kind="StatefulSet"}`); got != 1 {
		t.Errorf(`ashiato_reschedule_after_node_loss_seconds_count{owner_kind="StatefulSet"} = %v, want 1 (db-0, force-deleted)`, got)
	}
	if code := recorder.stop(30 * time.Second); code != 0 {
		t.Fatalf("recorder exit %d; stderr:\n%s", code, recorder.stderrText())
	}
	recs := parseRecords(t, recorder.stdoutText())
	nodeRecs := parseNodeRecords(t, recorder.stdoutText())

	// The nodes of zone-1 that failed in the window, by the records' labels.
	var failed []string
	for _, r := range nodeRecs {
		if r.Labels[zoneLabel] == "zone-1" && (r.Event == "node_unknown" || r.Event == "node_not_ready" || r.Event == "node_deleted") && !slices.Contains(failed, r.Node) {
			failed = append(failed, r.Node)
		}
	}
	slices.Sort(failed)
	if strings.Join(failed, ",") != "z1-a,z1-b" {
		t.Fatalf("zone-1's failed nodes by the records: %v", failed)
	}
	query := func(args ...string) result {
		res := runAshiato(t, append([]string{"history", "incident", "--at", at, "--kubeconfig", plane.KubeconfigPath(), "--cm-namespace", history}, args...)...)
		if res.code != 0 {
			t.Fatalf("history incident %v: exit %d; stderr:\n%s", args, res.code, res.stderr)
		}
		return res
	}
	selector := zoneLabel + "=zone-1"

	t.Run("the zone", func(t *testing.T) {
		want := expectIncident(t, incidentQuery{selector: selector, nodes: failed, at: at}, ns, recs, nodeRecs)
		answer := query("--node-selector", selector, "-o", "json").stdout
		checkIncident(t, answer, want)
		t.Logf("ashiato history incident --node-selector %s --at %s -o json\n%s", selector, at, answer)
		// The incident played is the one expected.
		outcomes := map[string]int{}
		for _, p := range want.Pods {
			outcomes[p.OwnerKind+" "+p.Outcome]++
		}
		for _, w := range []string{"DaemonSet node_bound_stayed", "ReplicaSet rescheduled", "StatefulSet rescheduled"} {
			if outcomes[w] == 0 {
				t.Errorf("no %s in the expected answer: %v", w, outcomes)
			}
		}
		byOwner := map[string]workloadJSON{}
		for _, w := range want.Workloads {
			byOwner[w.OwnerName] = w
		}
		if w := byOwner[web]; w.Lost != 2 || w.Total != 3 || w.Outage {
			t.Errorf("web: %+v, want 2 of 3 lost and no outage", w)
		}
		if w := byOwner[api]; w.Lost != 2 || w.Total != 2 || !w.Outage || w.NoneUntil == nil {
			t.Errorf("api: %+v, want 2 of 2 lost, an outage that ended", w)
		}
		if w := byOwner["db"]; !w.Outage || w.Back != 1 {
			t.Errorf("db: %+v, want an outage that ended", w)
		}
		table := query("--node-selector", selector).stdout
		t.Logf("ashiato history incident --node-selector %s --at %s\n%s", selector, at, table)
		for _, line := range []string{"Nodes " + selector, "z1-a, z1-b", "node-bound: stayed", "DaemonSet/agent: 2 of 4 lost",
			"ReplicaSet/" + web + ": 2 of 3 lost, all back after", "ReplicaSet/" + api + ": 2 of 2 lost, all back after", "OUTAGE: none ran from " + at,
			"workload(s) lost every replica", "2 node-bound"} {
			if !strings.Contains(table, line) {
				t.Errorf("table lacks %q", line)
			}
		}
	})
	t.Run("one node of it", func(t *testing.T) {
		want := expectIncident(t, incidentQuery{node: "z1-a", at: at}, ns, recs, nodeRecs)
		checkIncident(t, query("z1-a", "-o", "json").stdout, want)
	})
	t.Run("bad input", func(t *testing.T) {
		for _, args := range [][]string{{"--node-selector", "zone in ("}, {"z1-a", "--node-selector", selector}} {
			res := runAshiato(t, append([]string{"history", "incident", "--at", at, "--kubeconfig", plane.KubeconfigPath()}, args...)...)
			if res.code != 2 || strings.Count(strings.TrimSpace(res.stderr), "\n") > 0 {
				t.Errorf("history incident %v: exit %d, stderr %q; want 2 and one line", args, res.code, res.stderr)
			}
		}
	})
}

// createZoneWorkloads makes, in ns: a Deployment web of 2 pods, a Deployment
// api of 2 pinned to zone-1, a StatefulSet db of 1, a DaemonSet agent and a
// Job batch. The pods tolerate an unreachable or not-ready node for 5 s and
// take 30 s to terminate. It returns the ReplicaSets of web and api.
func createZoneWorkloads(t *testing.T, client kubernetes.Interface, ns string) (web, api string) {
	t.Helper()
	ctx := t.Context()
	template := func(app string, selector map[string]string) corev1.PodTemplateSpec {
		tolerations := []corev1.Toleration{}
		for _, key := range []string{"node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"} {
			tolerations = append(tolerations, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](5)})
		}
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: fixture.PauseImage}}, TerminationGracePeriodSeconds: ptr.To[int64](30),
				Tolerations: tolerations, NodeSelector: selector},
		}
	}
	labels := func(app string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
	}
	for _, d := range []*appsv1.Deployment{
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: labels("web"), Template: template("web", nil)}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "api"}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: labels("api"), Template: template("api", map[string]string{zoneLabel: "zone-1"})}},
	} {
		if _, err := client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](1), ServiceName: "db", Selector: labels("db"), Template: template("db", nil), PodManagementPolicy: appsv1.ParallelPodManagement}}
	if _, err := client.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "agent"},
		Spec: appsv1.DaemonSetSpec{Selector: labels("agent"), Template: template("agent", nil)}}
	ds.Spec.Template.Spec.Tolerations = nil // a DaemonSet's pods tolerate a lost node for ever (its controller adds that)
	if _, err := client.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "batch"},
		Spec: batchv1.JobSpec{Template: template("batch", nil), BackoffLimit: ptr.To[int32](6)}}
	job.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	if _, err := client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for app, out := range map[string]*string{"web": &web, "api": &api} {
		waitUntil(t, 2*time.Minute, app+"'s ReplicaSet", func() error {
			list, err := client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
			if err != nil || len(list.Items) != 1 {
				return fmt.Errorf("ReplicaSets of %s: %d (%v)", app, len(list.Items), err)
			}
			*out = list.Items[0].Name
			return nil
		})
	}
	return web, api
}
