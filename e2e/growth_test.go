package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pod-ashiato/ashiato/e2e/fixture"
	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/sink"
)

// TestShardGrowthRefusedByQuota is the scenario on the real API
// server: an hour of 1,000 pods is stored in the plain form; then enough pods
// with long random names arrive to grow it to several shards, while a
// ResourceQuota lets only one more ConfigMap be created. The flush fails (a
// refused write is permanent), and must leave the hour complete: history
// still finds every one of the first 1,000 pods, without a warning. Once the
// quota is lifted, a new flush completes the growth.
func TestShardGrowthRefusedByQuota(t *testing.T) {
	requireCluster(t)
	ns := fmt.Sprintf("growth-%d", rand.IntN(1_000_000))
	if err := fixture.CreateNamespaces(t.Context(), client, ns); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Second)
	var first, burst []record.Placement
	for i := range 1000 {
		first = append(first, record.Placement{Namespace: "a", Pod: fmt.Sprintf("a-%d", i), Node: fmt.Sprintf("node-%d", i%10), Timestamp: at, Event: record.EventSnapshot})
	}
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	for range 7000 {
		b := make([]byte, 253)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		burst = append(burst, record.Placement{Namespace: "b", Pod: string(b), Node: "node-long", Timestamp: at, Event: record.EventSnapshot})
	}
	store := func(ps []record.Placement) error {
		in := make(chan record.Placement, len(ps))
		for _, p := range ps {
			in <- p
		}
		close(in)
		s := &sink.Writer{Store: configmapstore.New(client.CoreV1(), ns), FlushInterval: time.Hour, FinalTimeout: time.Minute,
			Retry: retry.Policy{Backoff: wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Steps: 10, Cap: time.Second}}}
		return s.Run(t.Context(), in)
	}
	if err := store(first); err != nil {
		t.Fatal(err)
	}

	// One more ConfigMap may be created. No controller-manager runs here, so
	// the quota's status is set by hand, as its controller would.
	quotas := client.CoreV1().ResourceQuotas(ns)
	count := corev1.ResourceName("count/configmaps")
	q, err := quotas.Create(t.Context(), &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "configmaps"},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{count: resource.MustParse("2")}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q.Status = corev1.ResourceQuotaStatus{Hard: q.Spec.Hard, Used: corev1.ResourceList{count: resource.MustParse("1")}}
	if _, err := quotas.UpdateStatus(t.Context(), q, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = store(burst)
	if err == nil || !strings.Contains(err.Error(), "exceeded quota") {
		t.Fatalf("storing the burst under the quota: %v, want the quota's refusal", err)
	}
	t.Logf("refused as expected: %.200s", err)

	// The user's view: every pod of the first 1,000 is still answered, and
	// node-3 still had its 100 pods.
	res := runAshiato(t, append([]string{"history"}, withKubeconfig("pod", "a/a-5", "--cm-namespace", ns, "-o", "json")...)...)
	if rows := parseHistory(t, res); len(rows) != 1 || rows[0].Node != "node-5" || res.stderr != "" {
		t.Errorf("history pod a/a-5 after the refused growth: %v, stderr %q; want one row on node-5 and no warning", rows, res.stderr)
	}
	res = runAshiato(t, append([]string{"history"}, withKubeconfig("node", "node-3", "--at", rfc3339(at), "--cm-namespace", ns, "-o", "json")...)...)
	if rows := parseHistory(t, res); len(rows) != 100 || res.stderr != "" {
		t.Errorf("history node node-3 after the refused growth: %d pods, stderr %q; want all 100 and no warning", len(rows), res.stderr)
	}

	// Quota lifted: the next flush completes the growth.
	if err := quotas.Delete(context.Background(), "configmaps", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := store(burst); err != nil {
		t.Fatalf("storing the burst without the quota: %v", err)
	}
	res = runAshiato(t, append([]string{"history"}, withKubeconfig("node", "node-long", "--at", rfc3339(at), "--cm-namespace", ns, "-o", "json")...)...)
	if rows := parseHistory(t, res); len(rows) != len(burst) || res.stderr != "" {
		t.Errorf("history node node-long: %d pods, stderr %q; want %d", len(rows), res.stderr, len(burst))
	}
	cms, err := client.CoreV1().ConfigMaps(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cms.Items) < 4 {
		t.Errorf("%d objects after the growth, want at least 4 shards", len(cms.Items))
	}
}
