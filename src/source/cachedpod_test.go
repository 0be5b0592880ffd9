package source

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	"github.com/pod-ashiato/ashiato/src/internal/heaptest"
)

// maxCachedPodBytes is what TestCachedPodBytes allows a cached pod to cost,
// informer and store included: a little above what it measures, so that a
// field kept as its own string again (16 bytes of header and an allocation)
// fails it. docs/benchmarks.md has the measurement and where the bytes go.
const maxCachedPodBytes = 320

// realPod is a pod as a large cluster has it: a Deployment's pod (ReplicaSet
// owner, generated name), the five conditions a kubelet sets, labels,
// annotations, managed fields and a container status the cache drops.
func realPod(i int) *corev1.Pod {
	start := metav1.NewTime(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second))
	app := fmt.Sprintf("checkout-api-%03d", i/25%1000)
	rs := app + "-7d9f8c6b5"
	yes := true
	node := fmt.Sprintf("ip-10-0-%d-%d.eu-west-1.compute.internal", i%5000/250, i%250)
	conds := []corev1.PodCondition{
		{Type: "PodReadyToStartContainers", Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(start.Add(2 * time.Second))},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: start},
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(start.Add(9 * time.Second))},
		{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(start.Add(9 * time.Second))},
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: start},
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: fmt.Sprintf("team-%02d", i/25%50), Name: fmt.Sprintf("%s-%05x", rs, i),
			UID: types.UID(fmt.Sprintf("6f1c2a3e-4b5d-4e6f-8a9b-%012x", i)), ResourceVersion: fmt.Sprint(48_000_000 + i),
			Labels:          map[string]string{"app": app, "pod-template-hash": "7d9f8c6b5"},
			Annotations:     map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-11-20T10:00:00Z"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs, Controller: &yes}},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubelet", Operation: metav1.ManagedFieldsOperationUpdate}},
		},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/checkout:1.42.0"}}},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: fmt.Sprintf("10.%d.%d.%d", 64+i>>16&63, i>>8&255, i&255),
			HostIP: fmt.Sprintf("10.0.%d.%d", i%5000/250, i%250), StartTime: &start, Conditions: conds,
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true, Image: "registry.example.com/checkout:1.42.0"}},
		},
	}
}

// TestCachedPodBytes measures the heap the watch's cache costs per pod:
// 20,000 realistic pods on 5,000 nodes listed in pages through the informer
// Watch builds, with its trimming transform, as Run does. It pins the
// per-pod cost, so that it cannot creep back.
func TestCachedPodBytes(t *testing.T) {
	const n = 20_000
	client := fake.NewClientset()
	client.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, k8sruntime.Object, error) {
		// Pages of full pods made on demand: garbage once trimmed, as a response is.
		opts := a.(k8stesting.ListActionImpl).ListOptions
		from := 0
		fmt.Sscan(opts.Continue, &from)
		page := &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}
		for i := from; i < min(from+int(opts.Limit), n); i++ {
			page.Items = append(page.Items, *realPod(i))
		}
		if end := from + int(opts.Limit); end < n {
			page.Continue = fmt.Sprint(end)
		}
		return true, page, nil
	})
	w := &Watch{Client: client}
	per := cachedBytes(t, n, "pod", func() (cache.SharedIndexInformer, error) {
		return w.newInformer(newTrimmer(), func(error) {})
	})
	if per > maxCachedPodBytes {
		t.Errorf("%d bytes per cached pod, want at most %d", per, maxCachedPodBytes)
	}
}

// cachedBytes is the heap each of the n objects the informer caches costs,
// from before newInformer makes it until it has synced; what names the
// kind of object in the log and errors.
func cachedBytes(t *testing.T, n int, what string, newInformer func() (cache.SharedIndexInformer, error)) int64 {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	before := heaptest.Settled()
	informer, err := newInformer()
	if err != nil {
		t.Fatal(err)
	}
	go informer.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		t.Fatal("no sync")
	}
	if got := len(informer.GetStore().ListKeys()); got != n {
		t.Fatalf("%d %ss cached, want %d", got, what, n)
	}
	after := heaptest.Settled()
	runtime.KeepAlive(informer)
	per := (int64(after) - int64(before)) / int64(n)
	t.Logf("%d %ss: about %d bytes of heap per cached %s (informer, store and index included)", n, what, per, what)
	return per
}
