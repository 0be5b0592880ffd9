package source

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pod-ashiato/ashiato/src/record"
)

// realNode is a node as a kubelet and the cloud leave it: Ready, with the
// labels, annotations, images and status a real node carries, which the cache
// must not keep.
func realNode(i int) *corev1.Node {
	name := fmt.Sprintf("ip-10-0-%d-%d.eu-west-1.compute.internal", i/256%256, i%256)
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, UID: types.UID(fmt.Sprintf("8c1e2d3f-4a5b-4c6d-8e7f-%012d", i)), ResourceVersion: fmt.Sprint(1000 + i),
			Labels: map[string]string{
				"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
				"node.kubernetes.io/instance-type": "m6i.2xlarge", "topology.kubernetes.io/region": "eu-west-1",
				"topology.kubernetes.io/zone": fmt.Sprintf("eu-west-1%c", 'a'+i%3), "eks.amazonaws.com/nodegroup": "general",
			},
			Annotations: map[string]string{
				"node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true",
				"csi.volume.kubernetes.io/nodeid": `{"ebs.csi.aws.com":"i-0123456789abcdef0"}`,
			},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet", Operation: metav1.ManagedFieldsOperationUpdate}},
		},
		Spec: corev1.NodeSpec{PodCIDR: "10.244.0.0/24", ProviderID: "aws:///eu-west-1a/i-0123456789abcdef0"},
		Status: corev1.NodeStatus{
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("32Gi")},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("7910m"), corev1.ResourceMemory: resource.MustParse("31Gi")},
			Addresses:   []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}, {Type: corev1.NodeHostName, Address: name}},
			NodeInfo:    corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", OSImage: "Amazon Linux 2023", ContainerRuntimeVersion: "containerd://2.1.0"},
		},
	}
	for _, c := range []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure, corev1.NodeReady} {
		status, reason := corev1.ConditionFalse, "KubeletHasSufficient"+string(c)
		if c == corev1.NodeReady {
			status, reason = corev1.ConditionTrue, "KubeletReady"
		}
		n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: c, Status: status, Reason: reason, Message: "kubelet is posting ready status"})
	}
	for j := range 40 {
		n.Status.Images = append(n.Status.Images, corev1.ContainerImage{
			Names:     []string{fmt.Sprintf("registry.example.com/team/app-%d@sha256:%064d", j, j), fmt.Sprintf("registry.example.com/team/app-%d:v1.%d", j, j)},
			SizeBytes: 50_000_000,
		})
	}
	return n
}

type nodeRun struct {
	n    *Nodes
	out  chan record.Placement
	done chan error
}

func startNodes(t *testing.T, client *fake.Clientset, clock *clocktesting.FakePassiveClock) *nodeRun {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r := &nodeRun{n: &Nodes{Client: client, Clock: clock}, out: make(chan record.Placement, 100), done: make(chan error, 1)}
	go func() { r.done <- r.n.Run(ctx, r.out) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// next reads the next record, or fails after watchWait.
func (r *nodeRun) next(t *testing.T) string {
	t.Helper()
	select {
	case p := <-r.out:
		return fmt.Sprintf("%s %s %q %s", p.Node, p.Event, p.Reason, p.Timestamp.Format("15:04:05"))
	case <-time.After(watchWait):
		t.Fatal("no node record")
		return ""
	}
}

func (r *nodeRun) expect(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		if got := r.next(t); got != w {
			t.Errorf("record %q, want %q", got, w)
		}
	}
}

func waitTracked(t *testing.T, n *Nodes, want int) {
	t.Helper()
	deadline := time.Now().Add(watchWait)
	for n.Tracked() != want {
		if time.Now().After(deadline) {
			t.Fatalf("tracking %d nodes, want %d", n.Tracked(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNodesLifecycle(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 14, 2, 0, 0, time.UTC)
	clock := clocktesting.NewFakePassiveClock(t0)
	healthy := realNode(1)
	broken := realNode(2)
	broken.Spec.Unschedulable = true
	broken.Spec.Taints = []corev1.Taint{
		{Key: "node.kubernetes.io/unreachable", Effect: corev1.TaintEffectNoExecute},
		{Key: "node.kubernetes.io/unreachable", Effect: corev1.TaintEffectNoSchedule},
	}
	broken.Status.Conditions[3].Status, broken.Status.Conditions[3].Reason = corev1.ConditionUnknown, "NodeStatusUnknown"
	client := fake.NewClientset(healthy, broken)
	r := startNodes(t, client, clock)

	// The initial listing: only how a node differs from a healthy one.
	b := broken.Name
	r.expect(t,
		b+` node_unknown "NodeStatusUnknown" 14:02:00`,
		b+` node_cordoned "spec.unschedulable" 14:02:00`,
		b+` node_tainted "node.kubernetes.io/unreachable:NoExecute" 14:02:00`)
	waitTracked(t, r.n, 2)

	nodes := client.CoreV1().Nodes()
	update := func(n *corev1.Node, change func(*corev1.Node)) {
		t.Helper()
		change(n)
		var err error
		if n, err = nodes.Update(t.Context(), n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	a := healthy.Name
	clock.SetTime(t0.Add(time.Minute))
	update(healthy, func(n *corev1.Node) {
		n.Status.Conditions[3].Status, n.Status.Conditions[3].Reason = corev1.ConditionFalse, "KubeletNotReady"
		n.Spec.Taints = []corev1.Taint{{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoExecute}}
	})
	r.expect(t, a+` node_not_ready "KubeletNotReady" 14:03:00`, a+` node_tainted "node.kubernetes.io/not-ready:NoExecute" 14:03:00`)

	// A heartbeat that changes nothing of the lifecycle is no record.
	update(healthy, func(n *corev1.Node) { n.Status.Conditions[3].LastHeartbeatTime = metav1.NewTime(t0.Add(time.Minute)) })
	clock.SetTime(t0.Add(2 * time.Minute))
	update(healthy, func(n *corev1.Node) {
		n.Status.Conditions[3].Status, n.Status.Conditions[3].Reason = corev1.ConditionTrue, "KubeletReady"
		n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoExecute}}
	})
	r.expect(t, a+` node_ready "KubeletReady" 14:04:00`,
		a+` node_untainted "node.kubernetes.io/not-ready:NoExecute" 14:04:00`,
		a+` node_tainted "dedicated=gpu:NoExecute" 14:04:00`)
	update(broken, func(n *corev1.Node) { n.Spec.Unschedulable = false })
	r.expect(t, b+` node_uncordoned "spec.unschedulable" 14:04:00`)

	clock.SetTime(t0.Add(3 * time.Minute))
	if err := nodes.Delete(t.Context(), b, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r.expect(t, b+` node_deleted "" 14:05:00`)
	fresh := realNode(3)
	fresh.Status.Conditions = nil // as created, before its kubelet reports
	if _, err := nodes.Create(t.Context(), fresh, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.expect(t, fresh.Name+` node_added "" 14:05:00`)
	waitTracked(t, r.n, 2)
	select {
	case p := <-r.out:
		t.Errorf("unexpected record %+v", p)
	default:
	}
}

func TestNodesForbiddenFailsAtOnce(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "", fmt.Errorf("RBAC: no"))
	})
	errs := 0
	n := &Nodes{Client: client, OnError: func(error) { errs++ }}
	out := make(chan record.Placement, 1)
	done := make(chan error, 1)
	go func() { done <- n.Run(t.Context(), out) }()
	select {
	case err := <-done:
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "get, list and watch on nodes") {
			t.Errorf("Run = %v, want a Forbidden error that names the permission", err)
		}
	case <-time.After(watchWait):
		t.Fatal("Run still retries a Forbidden listing")
	}
	if _, open := <-out; open || errs != 1 {
		t.Errorf("out open %v, %d errors reported; want it closed and 1", open, errs)
	}
}

// TestNodeCacheBytes measures the heap the node cache costs per node: 5,000
// realistic nodes listed in pages through the informer, as Run does.
func TestNodeCacheBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	const n = 5000
	list := func(_ context.Context, opts metav1.ListOptions) (*corev1.NodeList, error) {
		// Pages of full nodes made on demand: garbage once trimmed, as a response is.
		from := 0
		fmt.Sscan(opts.Continue, &from)
		page := &corev1.NodeList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}
		for i := from; i < min(from+int(opts.Limit), n); i++ {
			page.Items = append(page.Items, *realNode(i))
		}
		if end := from + int(opts.Limit); end < n {
			page.Continue = fmt.Sprint(end)
		}
		return page, nil
	}
	tr := newNodeTrimmer()
	per := cachedBytes(t, n, "node", func() (cache.SharedIndexInformer, error) {
		return newNodeInformer(tr, &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (k8sruntime.Object, error) {
				return listNodes(ctx, list, opts, tr)
			},
			WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) {
				return watch.NewFake(), nil
			},
		})
	})
	if per > 1024 {
		t.Errorf("%d bytes per cached node, want at most 1 KiB", per)
	}
}

// TestNodesNameSelectsOneNode: with --node the recorder keeps one node's
// pods, so it asks the API server for that node's changes only.
func TestNodesNameSelectsOneNode(t *testing.T) {
	client := fake.NewClientset(realNode(1), realNode(2))
	ctx, cancel := context.WithCancel(t.Context())
	n := &Nodes{Client: client, Name: realNode(1).Name, Clock: clocktesting.NewFakePassiveClock(time.Now())}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx, make(chan record.Placement, 10)) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(watchWait)
	verbs := map[string]string{}
	for len(verbs) < 2 && time.Now().Before(deadline) {
		for _, a := range client.Actions() {
			switch a := a.(type) {
			case k8stesting.ListAction:
				verbs["list"] = a.GetListRestrictions().Fields.String()
			case k8stesting.WatchAction:
				verbs["watch"] = a.GetWatchRestrictions().Fields.String()
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	want := "metadata.name=" + realNode(1).Name
	for _, verb := range []string{"list", "watch"} {
		if got, ok := verbs[verb]; !ok || got != want {
			t.Errorf("%s of nodes with field selector %q (seen: %v), want %q", verb, got, ok, want)
		}
	}
}
