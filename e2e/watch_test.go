package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pod-ashiato/ashiato/e2e/fixture"
)

// freeAddr is a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// httpGet returns the status code and body, or 0 when nothing answers.
func httpGet(url string) (int, string) {
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitReady polls /readyz until it answers 200.
func waitReady(t *testing.T, addr string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		if code, _ := httpGet("http://" + addr + "/readyz"); code == http.StatusOK {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("/readyz on %s not ready within %s", addr, timeout)
	return 0
}

// metric reads one sample of ashiato's /metrics, e.g. `ashiato_records_emitted_total{event="scheduled"}`.
func metric(t *testing.T, addr, sample string) float64 {
	t.Helper()
	_, body := httpGet("http://" + addr + "/metrics")
	for _, line := range strings.Split(body, "\n") {
		if name, value, ok := strings.Cut(line, " "); ok && name == sample {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", line, err)
			}
			return v
		}
	}
	return 0
}

// writeKubeconfigFor writes a kubeconfig whose cluster is server.
func writeKubeconfigFor(t *testing.T, path, server string) {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: server, InsecureSkipTLSVerify: true}
	cfg.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: "nobody"}
	cfg.Contexts["x"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	cfg.CurrentContext = "x"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
}

// events groups the records of one pod by event.
func eventsOf(recs []rec, namespace, pod string) map[string][]rec {
	out := map[string][]rec{}
	for _, r := range recs {
		if r.Namespace == namespace && r.Pod == pod {
			out[r.Event] = append(out[r.Event], r)
		}
	}
	return out
}

func deletePod(t *testing.T, namespace, name string) {
	t.Helper()
	zero := int64(0)
	if err := client.CoreV1().Pods(namespace).Delete(context.Background(), name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
}

// TestWatchRecordsShortLivedPods: 30 pods that each live about a second,
// created while ashiato watches, are all recorded — with their node, when they
// were bound and when they were deleted — although --interval is an hour.
func TestWatchRecordsShortLivedPods(t *testing.T) {
	requireCluster(t)
	const ns = "wshort"
	seed(t, []string{ns}, nil)
	addr := freeAddr(t)
	p := startAshiato(t, withKubeconfig("--namespace", ns, "--interval", "1h", "--metrics-addr", addr)...)
	waitReady(t, addr, 60*time.Second)

	pods := fixture.PlacedPods(ns, 30, nodes("wshort", 3))
	var wg sync.WaitGroup
	for _, pod := range pods {
		wg.Go(func() {
			if err := fixture.CreatePlacedPods(context.Background(), client, []fixture.PodSpec{pod}, 1); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(time.Second)
			deletePod(t, pod.Namespace, pod.Name)
		})
	}
	wg.Wait()
	recs := p.waitFor(60*time.Second, "a deleted record for each of the 30 pods", func(recs []rec) bool {
		n := 0
		for _, r := range recs {
			if r.Event == "deleted" {
				n++
			}
		}
		return n >= len(pods)
	})
	for _, pod := range pods {
		ev := eventsOf(recs, pod.Namespace, pod.Name)
		if len(ev["scheduled"]) != 1 || ev["scheduled"][0].Node != pod.NodeName {
			t.Errorf("%s: want one scheduled record on %s, got %+v", pod.Name, pod.NodeName, ev["scheduled"])
		}
		if len(ev["deleted"]) != 1 || ev["deleted"][0].Node != pod.NodeName || ev["deleted"][0].PodIP == "" {
			t.Errorf("%s: want one deleted record on %s with its IP, got %+v", pod.Name, pod.NodeName, ev["deleted"])
		}
	}
	if code := p.stop(30 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
}

// TestWatchMove: a pod deleted and recreated under the same name on another
// node (a StatefulSet pod after a node failure) gives a moved record with the
// previous node, and the hour's store keeps both placements.
func TestWatchMove(t *testing.T) {
	requireCluster(t)
	const ns, history = "wmove", "wmove-history"
	first := fixture.PodSpec{Namespace: ns, Name: "db-0", NodeName: "wmove-node-a"}
	seed(t, []string{ns, history}, []fixture.PodSpec{first})
	addr := freeAddr(t)
	start := time.Now()
	p := startAshiato(t, withKubeconfig("--namespace", ns, "--interval", "1h", "--metrics-addr", addr,
		"--store-in-cm", "--cm-namespace", history, "--cm-flush-interval", "1s")...)
	waitReady(t, addr, 60*time.Second)

	deletePod(t, ns, "db-0")
	second := first
	second.NodeName = "wmove-node-b"
	if err := fixture.CreatePlacedPods(t.Context(), client, []fixture.PodSpec{second}, 1); err != nil {
		t.Fatal(err)
	}
	recs := p.waitFor(30*time.Second, "a moved record", func(recs []rec) bool { return len(eventsOf(recs, ns, "db-0")["moved"]) > 0 })
	moved := eventsOf(recs, ns, "db-0")["moved"][0]
	if moved.Node != "wmove-node-b" || moved.PreviousNode != "wmove-node-a" {
		t.Fatalf("moved record %+v: want node wmove-node-b, previous_node wmove-node-a", moved)
	}
	if got := metric(t, addr, "ashiato_pod_moves_total"); got != 1 {
		t.Errorf("ashiato_pod_moves_total = %v, want 1", got)
	}
	if code := p.stop(30 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
	stored := storedHours(t, history, start, time.Now())
	if got := stored[ns+"_db-0"]; got != "wmove-node-a,wmove-node-b" {
		t.Fatalf("store holds %q for the moved pod, want both placements wmove-node-a,wmove-node-b", got)
	}
}

// TestHealthAndMetrics: /healthz answers while /readyz waits for the first
// sync (shown against an API server that does not answer), and the counters
// move with the cluster.
func TestHealthAndMetrics(t *testing.T) {
	requireCluster(t)
	const ns, history = "wmetrics", "wmetrics-history"
	seed(t, []string{ns, history}, fixture.PlacedPods(ns, 12, nodes("wmetrics", 2)))

	// Nothing listens at the server of this kubeconfig: alive, never ready.
	dead := t.TempDir() + "/kubeconfig"
	writeKubeconfigFor(t, dead, "https://"+freeAddr(t))
	deadAddr := freeAddr(t)
	startAshiato(t, "--kubeconfig", dead, "--metrics-addr", deadAddr)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code, _ := httpGet("http://" + deadAddr + "/healthz"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/healthz never answered")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	if code, _ := httpGet("http://" + deadAddr + "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d with an unreachable API server, want 503", code)
	}

	addr := freeAddr(t)
	p := startAshiato(t, withKubeconfig("--namespace", ns, "--interval", "1h", "--metrics-addr", addr,
		"--store-in-cm", "--cm-namespace", history, "--cm-flush-interval", "1s")...)
	took := waitReady(t, addr, 60*time.Second)
	t.Logf("ready %s after start", took.Round(time.Millisecond))
	// Ready means the first sync is done and its snapshot handed on; the
	// emitter prints it just after, so a loaded machine may read stdout first.
	p.waitFor(10*time.Second, "12 snapshot records after ready", func(r []rec) bool { return len(r) >= 12 })
	if got := metric(t, addr, "ashiato_pods_tracked"); got != 12 {
		t.Errorf("ashiato_pods_tracked = %v, want 12", got)
	}
	if metric(t, addr, "ashiato_last_sync_timestamp_seconds") == 0 {
		t.Error("ashiato_last_sync_timestamp_seconds not set after sync")
	}
	before := metric(t, addr, `ashiato_records_emitted_total{event="scheduled"}`)
	extra := []fixture.PodSpec{{Namespace: ns, Name: "late-0", NodeName: "wmetrics-node-0"}, {Namespace: ns, Name: "late-1", NodeName: "wmetrics-node-1"}}
	if err := fixture.CreatePlacedPods(t.Context(), client, extra, 2); err != nil {
		t.Fatal(err)
	}
	p.waitFor(30*time.Second, "the scheduled records", func(recs []rec) bool {
		return len(eventsOf(recs, ns, "late-0")["scheduled"]) == 1 && len(eventsOf(recs, ns, "late-1")["scheduled"]) == 1
	})
	if got := metric(t, addr, `ashiato_records_emitted_total{event="scheduled"}`); got != before+2 {
		t.Errorf(`scheduled records went from %v to %v, want +2`, before, got)
	}
	deadline = time.Now().Add(30 * time.Second)
	for metric(t, addr, `ashiato_store_writes_total{backend="configmap",result="ok"}`) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("no store write counted")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if metric(t, addr, `ashiato_store_written_bytes_total{backend="configmap"}`) <= 0 {
		t.Error("ashiato_store_written_bytes_total did not move")
	}
	if code := p.stop(30 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
}

// TestLeaderElection: of two replicas with --leader-elect exactly one emits and
// writes; when it is killed the other takes over within the lease duration,
// and no placement is lost — not even of pods created while nobody led.
func TestLeaderElection(t *testing.T) {
	requireCluster(t)
	const ns, history = "wleader", "wleader-history"
	seed(t, []string{ns, history}, fixture.PlacedPods(ns, 10, nodes("wleader", 2)))
	start := time.Now()
	args := withKubeconfig("--namespace", ns, "--interval", "1h", "--leader-elect", "--store-in-cm",
		"--cm-namespace", history, "--cm-flush-interval", "1s")
	a := startAshiato(t, args...)
	b := startAshiato(t, args...)

	emitting := func() []*process {
		var out []*process
		for _, p := range []*process{a, b} {
			if len(parseRecords(t, p.stdoutText())) > 0 {
				out = append(out, p)
			}
		}
		return out
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(emitting()) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // give a second, wrong leader time to show itself
	leaders := emitting()
	if len(leaders) != 1 {
		t.Fatalf("%d replicas emit, want exactly 1", len(leaders))
	}
	leader, standby := leaders[0], a
	if leader == a {
		standby = b
	}
	deadline = time.Now().Add(30 * time.Second)
	for len(storedHours(t, history, start, time.Now())) < 10 {
		if time.Now().After(deadline) {
			t.Fatal("the leader did not store the 10 pods")
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Kill the leader without letting it release the Lease, then change the
	// cluster while nobody leads.
	_ = leader.cmd.Process.Signal(syscall.SIGKILL)
	killed := time.Now()
	var late []fixture.PodSpec
	for i := range 5 {
		late = append(late, fixture.PodSpec{Namespace: ns, Name: fmt.Sprintf("late-%d", i), NodeName: "wleader-node-0"})
	}
	if err := fixture.CreatePlacedPods(t.Context(), client, late, 5); err != nil {
		t.Fatal(err)
	}
	standby.waitFor(60*time.Second, "the standby's snapshot after the takeover", func(recs []rec) bool {
		n := 0
		for _, r := range recs {
			if r.Namespace == ns {
				n++
			}
		}
		return n >= 15
	})
	t.Logf("standby took over %s after the leader was killed (lease duration 15s)", time.Since(killed).Round(time.Millisecond))
	if code := standby.stop(30 * time.Second); code != 0 {
		t.Fatalf("new leader exit %d after SIGTERM", code)
	}
	stored := storedHours(t, history, start, time.Now())
	for _, pod := range append(fixture.PlacedPods(ns, 10, nodes("wleader", 2)), late...) {
		if stored[pod.Namespace+"_"+pod.Name] != pod.NodeName {
			t.Errorf("pod %s/%s lost: store holds %q, want %q", pod.Namespace, pod.Name, stored[pod.Namespace+"_"+pod.Name], pod.NodeName)
		}
	}
}
