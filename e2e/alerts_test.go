package e2e

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pod-ashiato/ashiato/e2e/fixture"
	"github.com/pod-ashiato/ashiato/e2e/monitoring"
)

// shortFor is the for: of every rule in this test. The shipped rules wait
// minutes; the test loads the same file with only for: changed
// (monitoring.Groups.WithFor), thresholds and expressions as shipped.
const shortFor = 5 * time.Second

// TestAlertsFireInPrometheus: a real Prometheus scrapes ashiato running
// against the real API server and evaluates the shipped rules. A reschedule
// storm (pods recreated by their owner after their node went NotReady in two
// namespaces, StatefulSet pods moved in a third: more than 20 in each, more
// than 100 in all) and a NotReady node that keeps pods make PodReschedulesHigh
// (per namespace and for the cluster) and NodeLostWithPods fire, as
// /api/v1/alerts shows; the alerts about ashiato itself stay silent. Then
// every dashboard query is evaluated against that Prometheus.
func TestAlertsFireInPrometheus(t *testing.T) {
	requireCluster(t)
	ctx := t.Context()
	const (
		shop, bank, cache, storeNS        = "alerts-shop", "alerts-bank", "alerts-cache", "alerts-store"
		lost, healthy, cacheFrom, cacheTo = "alerts-lost", "alerts-healthy", "alerts-cache-from", "alerts-cache-to"
		perNamespace                      = 40 // > 20 in each; 120 > 100 in all
		stuck                             = 3  // StatefulSet pods that stay bound to the lost node
	)
	nodes := []string{lost, healthy, cacheFrom, cacheTo}
	if err := fixture.CreateNamespaces(ctx, client, shop, bank, cache, storeNS); err != nil {
		t.Fatal(err)
	}
	if err := fixture.CreateNodes(ctx, client, nodes); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			_ = client.CoreV1().Nodes().Delete(t.Context(), n, metav1.DeleteOptions{})
		}
	})
	owner := func(ns, kind, name string) *metav1.OwnerReference {
		yes := true
		return &metav1.OwnerReference{APIVersion: "apps/v1", Kind: kind, Name: name, UID: types.UID(ns + "-" + name), Controller: &yes}
	}
	pods := func(ns, prefix, node string, n int, o *metav1.OwnerReference) []fixture.PodSpec {
		specs := make([]fixture.PodSpec, n)
		for i := range specs {
			specs[i] = fixture.PodSpec{Namespace: ns, Name: fmt.Sprintf("%s-%d", prefix, i), NodeName: node, Owner: o}
		}
		return specs
	}
	var before []fixture.PodSpec
	before = append(before, pods(shop, "web-old", lost, perNamespace, owner(shop, "ReplicaSet", "web"))...)
	before = append(before, pods(bank, "api-old", lost, perNamespace, owner(bank, "ReplicaSet", "api"))...)
	before = append(before, pods(cache, "cache", cacheFrom, perNamespace, owner(cache, "StatefulSet", "cache"))...)
	before = append(before, pods(cache, "db", lost, stuck, owner(cache, "StatefulSet", "db"))...)
	if err := fixture.CreatePlacedPods(ctx, client, before, 16); err != nil {
		t.Fatal(err)
	}

	metricsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freeLoopbackPort(t)))
	startAshiato(t, withKubeconfig("--namespace="+shop+","+bank+","+cache, "--interval=2s",
		"--store-in-cm", "--cm-namespace="+storeNS, "--cm-flush-interval=2s", "--metrics-addr="+metricsAddr)...)
	rules, err := monitoring.ReadRules(repoRoot())
	if err != nil {
		t.Fatal(err)
	}
	rulesPath := filepath.Join(t.TempDir(), "short.rules.yaml")
	if err := rules.WithFor(shortFor).WriteFile(rulesPath); err != nil {
		t.Fatal(err)
	}
	prom := startPrometheus(t, metricsAddr, rulesPath)

	// Before the storm Prometheus must hold samples of the namespaces' series
	// at 0, or increase() could not see the storm.
	waitQuery(t, prom, time.Minute, "the reschedule series at 0, scraped twice",
		`count_over_time(ashiato_reschedules_total{job="pod-ashiato", namespace=~"alerts-.*"}[1m]) >= 2`, 6)

	setNodeReady(t, lost, corev1.ConditionFalse)
	// The node's loss must be counted before its pods' deletions are.
	waitQuery(t, prom, time.Minute, "the lost node's pods",
		fmt.Sprintf(`ashiato_node_lost_pods{node=%q} == %d`, lost, 2*perNamespace+stuck), 1)

	// The storm: the ReplicaSets' pods on the lost node are replaced on a
	// healthy node (new names, same owner); the StatefulSet cache's pods are
	// deleted and come back under their names on another node.
	var gone []fixture.PodSpec
	gone = append(gone, before[:3*perNamespace]...)
	deletePods(t, gone)
	var after []fixture.PodSpec
	after = append(after, pods(shop, "web-new", healthy, perNamespace, owner(shop, "ReplicaSet", "web"))...)
	after = append(after, pods(bank, "api-new", healthy, perNamespace, owner(bank, "ReplicaSet", "api"))...)
	after = append(after, pods(cache, "cache", cacheTo, perNamespace, owner(cache, "StatefulSet", "cache"))...)
	if err := fixture.CreatePlacedPods(ctx, client, after, 16); err != nil {
		t.Fatal(err)
	}

	want := []string{
		"NodeLostWithPods node=" + lost,
		"PodReschedulesHigh scope=cluster",
		"PodReschedulesHigh scope=namespace namespace=" + bank,
		"PodReschedulesHigh scope=namespace namespace=" + cache,
		"PodReschedulesHigh scope=namespace namespace=" + shop,
	}
	firing := waitAlerts(t, prom, 2*time.Minute, want)
	for _, a := range firing {
		if strings.HasPrefix(a, "PodAshiato") {
			t.Errorf("alert about ashiato itself: %s", a)
		}
	}
	// What fired carries the numbers of the storm.
	causes := map[string]string{}
	for _, s := range mustQuery(t, prom, `sum by (namespace, cause) (ashiato_reschedules_total{job="pod-ashiato", namespace=~"alerts-.*"})`) {
		causes[s.Metric["namespace"]+" "+s.Metric["cause"]] = fmt.Sprint(s.Value[1])
	}
	wantCauses := map[string]string{
		shop + " recreated": "40", shop + " moved": "0",
		bank + " recreated": "40", bank + " moved": "0",
		cache + " recreated": "0", cache + " moved": "40",
	}
	if fmt.Sprint(causes) != fmt.Sprint(wantCauses) {
		t.Errorf("reschedules by namespace and cause:\n got %v\nwant %v", causes, wantCauses)
	}
	if got := mustQuery(t, prom, fmt.Sprintf(`ashiato_node_lost_pods{node=%q}`, lost)); len(got) != 1 || fmt.Sprint(got[0].Value[1]) != strconv.Itoa(stuck) {
		t.Errorf("pods still bound to the lost node: %v, want %d", got, stuck)
	}

	checkDashboardQueries(t, prom)
}

// setNodeReady sets the node's Ready condition, as the node lifecycle
// controller does when the kubelet's heartbeats stop (there is no kubelet).
func setNodeReady(t *testing.T, name string, status corev1.ConditionStatus) {
	t.Helper()
	node, err := client.CoreV1().Nodes().Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			node.Status.Conditions[i].Status = status
			node.Status.Conditions[i].Reason = "NodeStatusNeverUpdated"
			node.Status.Conditions[i].LastTransitionTime = metav1.Now()
		}
	}
	if _, err := client.CoreV1().Nodes().UpdateStatus(t.Context(), node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// deletePods deletes the pods at once (the fixture's grace period is 0).
func deletePods(t *testing.T, pods []fixture.PodSpec) {
	t.Helper()
	var g errgroup.Group
	g.SetLimit(16)
	for _, p := range pods {
		g.Go(func() error {
			return client.CoreV1().Pods(p.Namespace).Delete(t.Context(), p.Name, metav1.DeleteOptions{})
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

func mustQuery(t *testing.T, prom *prometheus, expr string) []sample {
	t.Helper()
	v, err := prom.query(expr)
	if err != nil {
		t.Fatalf("query %s: %v", expr, err)
	}
	return v
}

// waitQuery polls expr until it returns n series.
func waitQuery(t *testing.T, prom *prometheus, timeout time.Duration, what, expr string, n int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v, err := prom.query(expr)
		if err != nil {
			t.Fatalf("query %s: %v", expr, err)
		}
		if len(v) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s: %s returned %d series, want %d: %v", what, timeout, expr, len(v), n, v)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// waitAlerts polls /api/v1/alerts until every alert of want is firing, and
// returns what fires then, as "name label=value ..." sorted.
func waitAlerts(t *testing.T, prom *prometheus, timeout time.Duration, want []string) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		alerts, err := prom.alerts()
		if err != nil {
			t.Fatal(err)
		}
		var firing []string
		for _, a := range alerts {
			if a.State == "firing" {
				firing = append(firing, describeAlert(a))
			}
		}
		slices.Sort(firing)
		all := true
		for _, w := range want {
			all = all && slices.Contains(firing, w)
		}
		if all {
			return firing
		}
		if time.Now().After(deadline) {
			t.Fatalf("within %s, firing:\n  %s\nwant at least:\n  %s\nall alerts: %+v", timeout,
				strings.Join(firing, "\n  "), strings.Join(want, "\n  "), alerts)
		}
		time.Sleep(time.Second)
	}
}

// describeAlert is the alert's name and the labels that tell alerts apart.
func describeAlert(a alert) string {
	s := a.Labels["alertname"]
	for _, l := range []string{"scope", "namespace", "node"} {
		if v, ok := a.Labels[l]; ok {
			s += " " + l + "=" + v
		}
	}
	return s
}

// checkDashboardQueries evaluates every query of the dashboard, with
// Grafana's variables substituted; each must succeed, and each but the API
// errors (none happened) must return data.
func checkDashboardQueries(t *testing.T, prom *prometheus) {
	t.Helper()
	panels, err := monitoring.ReadDashboard(filepath.Join(repoRoot(), monitoring.Dashboard))
	if err != nil {
		t.Fatal(err)
	}
	queries := 0
	for _, p := range panels {
		for _, expr := range p.Exprs {
			queries++
			q := monitoring.Substitute(expr)
			v, err := prom.query(q)
			switch {
			case err != nil:
				t.Errorf("panel %q: %s: %v", p.Title, q, err)
			case len(v) == 0 && !strings.Contains(q, "ashiato_api_errors_total"):
				t.Errorf("panel %q: %s returned no data", p.Title, q)
			}
		}
	}
	t.Logf("%d dashboard queries of %d panels evaluated", queries, len(panels))
}
