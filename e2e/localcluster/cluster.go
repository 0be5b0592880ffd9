package main

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/pod-ashiato/ashiato/e2e/fixture"
)

const zoneLabel = "topology.kubernetes.io/zone"

// zones get the nodes alternately: kwok-a-0, kwok-b-0, kwok-a-1, ...
var zones = []string{"zone-a", "zone-b"}

// workloadNamespaces hold the demo workloads.
var workloadNamespaces = []string{"shop", "payments", "batch", "monitoring"}

// node is one kwok node and its zone.
type node struct{ name, zone string }

// createNodes creates n kwok nodes, alternately in each zone.
func createNodes(ctx context.Context, client kubernetes.Interface, n int) ([]node, error) {
	nodes := make([]node, n)
	names := make([]string, n)
	for i := range nodes {
		z := zones[i%len(zones)]
		nodes[i] = node{name: fmt.Sprintf("kwok-%c-%d", z[len(z)-1], i/len(zones)), zone: z}
		names[i] = nodes[i].name
	}
	if err := fixture.CreateKwokNodes(ctx, client, names); err != nil {
		return nil, err
	}
	for _, nd := range nodes {
		patch := []byte(`{"metadata":{"labels":{"` + zoneLabel + `":"` + nd.zone + `"}}}`)
		if _, err := client.CoreV1().Nodes().Patch(ctx, nd.name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return nil, fmt.Errorf("label node %s: %w", nd.name, err)
		}
	}
	return nodes, nil
}

// createWorkloads creates what a small cluster runs: in shop a Deployment web (4
// replicas spread over the zones) and a StatefulSet db (2); in payments a Deployment
// api (2, spread); in batch a Job report (3 pods, which kwok completes at once); in
// monitoring a DaemonSet node-agent. The pods tolerate an unreachable node for 5 s
// instead of the default 300 s, so a failed node's pods move within a minute.
func createWorkloads(ctx context.Context, client kubernetes.Interface) error {
	if err := fixture.CreateNamespaces(ctx, client, workloadNamespaces...); err != nil {
		return err
	}
	template := func(app string) corev1.PodTemplateSpec {
		var tolerations []corev1.Toleration
		for _, key := range []string{"node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"} {
			tolerations = append(tolerations, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists,
				Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](5)})
		}
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
			Spec: corev1.PodSpec{
				Containers:  []corev1.Container{{Name: app, Image: fixture.PauseImage}},
				Tolerations: tolerations,
				TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: zoneLabel,
					WhenUnsatisfiable: corev1.ScheduleAnyway, LabelSelector: selector(app)}},
			},
		}
	}
	for _, d := range []*appsv1.Deployment{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](4), Selector: selector("web"), Template: template("web")}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "api"}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: selector("api"), Template: template("api")}},
	} {
		if _, err := client.AppsV1().Deployments(d.Namespace).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create Deployment %s/%s: %w", d.Namespace, d.Name, err)
		}
	}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db"},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](2), ServiceName: "db", Selector: selector("db"), Template: template("db"),
			PodManagementPolicy: appsv1.ParallelPodManagement}}
	if _, err := client.AppsV1().StatefulSets(sts.Namespace).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create StatefulSet shop/db: %w", err)
	}
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: "node-agent"},
		Spec: appsv1.DaemonSetSpec{Selector: selector("node-agent"), Template: template("node-agent")}}
	// A DaemonSet's pods stay on a lost node (its controller adds tolerations for ever).
	ds.Spec.Template.Spec.Tolerations = nil
	ds.Spec.Template.Spec.TopologySpreadConstraints = nil
	if _, err := client.AppsV1().DaemonSets(ds.Namespace).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create DaemonSet monitoring/node-agent: %w", err)
	}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "batch", Name: "report"},
		Spec: batchv1.JobSpec{Parallelism: ptr.To[int32](3), Completions: ptr.To[int32](3), Template: template("report")}}
	job.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	if _, err := client.BatchV1().Jobs(job.Namespace).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create Job batch/report: %w", err)
	}
	return nil
}

func selector(app string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
}

// waitWorkloads waits until every workload has all its pods: the Deployments'
// and the StatefulSet's replicas available, the DaemonSet's scheduled
// everywhere it should run, the Job complete.
func waitWorkloads(ctx context.Context, client kubernetes.Interface) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		last = workloadsReady(ctx, client)
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("workloads not ready after 3 minutes: %v: %w", last, err)
	}
	return nil
}

func workloadsReady(ctx context.Context, client kubernetes.Interface) error {
	for _, ns := range []string{"shop", "payments"} {
		list, err := client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, d := range list.Items {
			if want := ptr.Deref(d.Spec.Replicas, 1); d.Status.AvailableReplicas != want || d.Status.UpdatedReplicas != want {
				return fmt.Errorf("Deployment %s/%s: %d of %d available", ns, d.Name, d.Status.AvailableReplicas, want)
			}
		}
	}
	sts, err := client.AppsV1().StatefulSets("shop").Get(ctx, "db", metav1.GetOptions{})
	if err != nil {
		return err
	}
	if want := ptr.Deref(sts.Spec.Replicas, 1); sts.Status.AvailableReplicas != want {
		return fmt.Errorf("StatefulSet shop/db: %d of %d available", sts.Status.AvailableReplicas, want)
	}
	ds, err := client.AppsV1().DaemonSets("monitoring").Get(ctx, "node-agent", metav1.GetOptions{})
	if err != nil {
		return err
	}
	if ds.Status.DesiredNumberScheduled == 0 || ds.Status.NumberAvailable != ds.Status.DesiredNumberScheduled {
		return fmt.Errorf("DaemonSet monitoring/node-agent: %d of %d available", ds.Status.NumberAvailable, ds.Status.DesiredNumberScheduled)
	}
	job, err := client.BatchV1().Jobs("batch").Get(ctx, "report", metav1.GetOptions{})
	if err != nil {
		return err
	}
	if job.Status.Succeeded != ptr.Deref(job.Spec.Completions, 1) {
		return fmt.Errorf("Job batch/report: %d succeeded", job.Status.Succeeded)
	}
	return nil
}
