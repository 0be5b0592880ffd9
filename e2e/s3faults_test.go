package e2e

// The S3 store's fault suite: ashiato --store s3 against a real SeaweedFS
// (e2e/s3server) that stops for 30 s, or whose answers are replaced by S3's
// throttling and server errors for a share of requests (faultproxy.S3). The
// figures lines are those of faults_test.go (docs/faults.md).
//
// Run it alone with `go test -count=1 -v -run TestFaultS3 ./e2e/` (needs
// ASHIATO_SEAWEEDFS_BIN as well as the control plane).

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/e2e/faultproxy"
	"github.com/pod-ashiato/ashiato/e2e/fixture"
	"github.com/pod-ashiato/ashiato/e2e/s3server"
)

// s3FaultMaxFlushErrors bounds the failed flushes the sink may count in the
// first faultOutage of an outage at --cm-flush-interval 2s: it backs off
// across flushes rather than trying at every tick (15 in 30 s) or in a loop.
const s3FaultMaxFlushErrors = 10

// s3Store is where a scenario's ashiato stores: an endpoint (the server, or
// the proxy in front of it), a bucket and a cluster name of its own.
type s3Store struct {
	endpoint, bucket, cluster string
	// env is the AWS SDK environment of every process the scenario runs: the
	// server's keys and region, and a CA bundle that trusts the server and the
	// proxy.
	env []string
}

// newS3Store starts SeaweedFS for a test and describes the store a scenario
// writes in it.
func newS3Store(t *testing.T, cluster string) (*s3server.Server, *s3Store) {
	t.Helper()
	srv := s3server.StartT(t, s3server.Options{})
	return srv, s3StoreOf(t, srv, cluster)
}

// setenv puts the store's environment into the test process, which every
// ashiato it starts inherits (startAshiato takes no environment).
func (s *s3Store) setenv(t *testing.T) {
	for _, kv := range s.env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// recorderArgs are the flags that make the recorder store in S3.
func (s *s3Store) recorderArgs() []string {
	return []string{"--store", "s3", "--s3-endpoint", s.endpoint, "--s3-bucket", s.bucket, "--cluster-name", s.cluster}
}

// stored is what `ashiato history node` answers for each node over the last
// two hours, read through endpoint: namespace_pod -> the nodes it was on,
// comma-separated, as faultHasAll takes it. A failing history fails the test.
func (s *s3Store) stored(t *testing.T, endpoint string, nodeNames []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, node := range nodeNames {
		res := s.history(t, endpoint, "node", node, "--since", "2h")
		for _, r := range parseS3History(t, res, s.cluster) {
			k := r.Namespace + "_" + r.Pod
			if !slices.Contains(strings.Split(out[k], ","), r.Node) {
				out[k] = strings.TrimPrefix(out[k]+","+r.Node, ",")
			}
		}
	}
	return out
}

// history runs `ashiato history ARGS -o json` against the store through
// endpoint.
func (s *s3Store) history(t *testing.T, endpoint string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	argv := append([]string{"history"}, args...)
	argv = append(argv, "-o", "json", "--store", "s3", "--s3-endpoint", endpoint, "--s3-bucket", s.bucket, "--cluster", s.cluster)
	cmd := exec.CommandContext(ctx, ashiatoBin, argv...)
	cmd.Env = append(os.Environ(), s.env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("ashiato %v: %v", argv, err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// TestFaultS3Outage: the S3 server stops for 30 s while ashiato --store s3
// runs (--source=watch, --cm-flush-interval 2s) and the cluster goes on: 5
// pods created and 3 deleted during the outage, 5 more after. ashiato stays
// up and shows the outage with backoff: at least one warning line and at most
// faultMaxWarnings, at most s3FaultMaxFlushErrors failed flushes in the 30 s
// (metrics). After the restart every pod is stored on its node, those deleted
// during the outage included, and every change was printed.
func TestFaultS3Outage(t *testing.T) {
	requireCluster(t)
	fig := newFaultFigures(t, "s3-down/watch")
	ns := faultName("s3-down")
	srv, st := newS3Store(t, faultName("c"))
	st.setenv(t)
	nodeNames := nodes("s3-down", 3)
	pods := faultPods(ns, "p", 0, 20, nodeNames)
	during := faultPods(ns, "p", 20, 5, nodeNames)
	later := faultPods(ns, "p", 25, 5, nodeNames)
	gone := pods[:3]
	faultSeed(t, []string{ns}, pods)
	addr := freeAddr(t)
	args := withKubeconfig("--source", "watch", "--interval", "5s", "--namespace", ns, "--cm-flush-interval", "2s", "--metrics-addr", addr)
	p := startAshiato(t, append(args, st.recorderArgs()...)...)
	p.waitFor(time.Minute, "first records", func(recs []rec) bool { return faultPrintedAll(recs, pods) })
	faultWait(t, time.Minute, "first store", func() bool { return faultHasAll(st.stored(t, st.endpoint, nodeNames), pods) })

	stopOffset := faultStderrLen(p)
	flushErrors0 := metric(t, addr, `ashiato_store_flushes_total{result="error"}`)
	apiErrors0 := metricSum(t, addr, "ashiato_api_errors_total")
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	fig.injected = 1
	faultCreate(t, during)
	faultDelete(t, gone)
	// The outage itself: nothing to poll, the server is gone.
	time.Sleep(time.Until(down.Add(faultOutage)))
	windowWarnings, windowKlog := faultWarnings(p.stderrText()[stopOffset:])
	flushErrors := metric(t, addr, `ashiato_store_flushes_total{result="error"}`) - flushErrors0
	apiErrors := metricSum(t, addr, "ashiato_api_errors_total") - apiErrors0
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	t.Logf("seaweedfs down for %s", up.Sub(down).Round(time.Millisecond))
	exited := !faultRunning(p)
	if exited {
		t.Errorf("ashiato exited during the outage (%v); stderr:\n%s", p.err, p.stderrText())
	}
	faultCreate(t, later)

	all := slices.Concat(pods, during, later)
	printed := slices.Concat(during, later)
	recovered, ok := fig.await(t, 2*time.Minute, "every pod printed and stored after the restart", func() bool {
		recs := faultRecs(p)
		return faultPrintedAll(recs, printed) && faultDeletedAll(recs, gone) && faultHasAll(st.stored(t, st.endpoint, nodeNames), all)
	})
	fig.recovered(up.Sub(down)+recovered, ok)
	if code := p.stop(time.Minute); code != 0 || exited {
		t.Errorf("exit %d after SIGTERM", code)
	} else {
		fig.survived = 1
	}
	recs := faultRecs(p)
	stored := st.stored(t, st.endpoint, nodeNames)
	for _, pod := range printed {
		fig.expect("printed:"+pod.Name, faultPrintedAll(recs, []fixture.PodSpec{pod}))
	}
	for _, pod := range gone {
		fig.expect("deleted:"+pod.Name, faultDeletedAll(recs, []fixture.PodSpec{pod}))
	}
	for _, pod := range all {
		fig.expect("stored:"+pod.Name, faultHasAll(stored, []fixture.PodSpec{pod}))
	}
	fig.note("warnings_first_30s", windowWarnings+windowKlog)
	fig.note("flush_errors_first_30s", flushErrors)
	fig.note("api_errors_first_30s", apiErrors)
	if fig.lost > 0 {
		t.Errorf("%d of %d records lost after the outage: %v", fig.lost, fig.checked, fig.missing)
	}
	faultCheckWarnings(t, "s3-down", windowWarnings, windowKlog, p.stderrText()[stopOffset:])
	if flushErrors < 1 || flushErrors > s3FaultMaxFlushErrors {
		t.Errorf("%v failed flushes in the first %s of the outage, want 1 to %d (backoff, no hot loop)", flushErrors, faultOutage, s3FaultMaxFlushErrors)
	}
}

// TestFaultS3Errors: every 3rd request to the S3 server is answered by the
// proxy instead, in turn 503 SlowDown and 500 InternalError, while ashiato
// --store s3 runs (--source=watch, --cm-flush-interval 2s) and pods come and
// go; then `history` reads through the same proxy. Nothing is lost: every pod
// is stored on its node and every history answer is complete.
func TestFaultS3Errors(t *testing.T) {
	requireCluster(t)
	fig := newFaultFigures(t, "s3-errors/watch")
	ns := faultName("s3-err")
	// The server first, then the proxy in front of it, then the store, whose
	// CA bundle trusts both.
	srv := s3server.StartT(t, s3server.Options{})
	pool, err := srv.CertPool()
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := faultproxy.NewS3(srv.Endpoint, pool, faultproxy.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	st := s3StoreOf(t, srv, faultName("c"), proxy.CAPEM())
	st.endpoint = proxy.URL()
	st.setenv(t)

	nodeNames := nodes("s3-err", 3)
	pods := faultPods(ns, "p", 0, 30, nodeNames)
	faultSeed(t, []string{ns}, pods)
	args := withKubeconfig("--source", "watch", "--interval", "5s", "--namespace", ns, "--cm-flush-interval", "2s")
	p := startAshiato(t, append(args, st.recorderArgs()...)...)
	p.waitFor(time.Minute, "first records", func(recs []rec) bool { return faultPrintedAll(recs, pods) })
	faultWait(t, time.Minute, "first store", func() bool { return faultHasAll(st.stored(t, srv.Endpoint, nodeNames), pods) })

	// Every request, the start-up check (HeadBucket) of each history run
	// included: it asks again after a 5xx (docs/faults.md, finding 5).
	proxy.Set(faultproxy.S3Options{Every: 3, Faults: []faultproxy.S3Fault{faultproxy.SlowDown, faultproxy.InternalError}})
	var more []fixture.PodSpec
	for round := range 6 {
		batch := faultPods(ns, "p", 30+5*round, 5, nodeNames)
		faultCreate(t, batch)
		more = append(more, batch...)
		time.Sleep(2 * time.Second) // a flush between rounds, so that several writes meet faults
	}
	gone := pods[:5]
	faultDelete(t, gone)
	all := slices.Concat(pods, more)
	_, ok := fig.await(t, 2*time.Minute, "every pod stored despite the injected errors", func() bool {
		recs := faultRecs(p)
		return faultPrintedAll(recs, more) && faultDeletedAll(recs, gone) && faultHasAll(st.stored(t, srv.Endpoint, nodeNames), all)
	})
	if !ok {
		fig.note("recovered_after", "never")
	}
	// The readers meet the same faults: every answer must still be complete.
	historyFails := 0
	viaProxy := map[string]string{}
	for _, node := range nodeNames {
		res := st.history(t, proxy.URL(), "node", node, "--since", "2h")
		if res.code != 0 {
			historyFails++
			t.Errorf("history node %s through the proxy: exit %d\n%s", node, res.code, res.stderr)
			continue
		}
		for _, r := range parseS3History(t, res, st.cluster) {
			viaProxy[r.Namespace+"_"+r.Pod] = strings.TrimPrefix(viaProxy[r.Namespace+"_"+r.Pod]+","+r.Node, ",")
		}
	}
	code := p.stop(time.Minute)
	injected := proxy.Injected()
	proxy.Set(faultproxy.S3Options{})
	fig.injected = len(injected)
	if code == 0 && historyFails == 0 {
		fig.survived = fig.injected
	} else {
		t.Errorf("ashiato exit %d after SIGTERM, %d history runs failed", code, historyFails)
	}
	recs := faultRecs(p)
	stored := st.stored(t, srv.Endpoint, nodeNames)
	for _, pod := range more {
		fig.expect("printed:"+pod.Name, faultPrintedAll(recs, []fixture.PodSpec{pod}))
	}
	for _, pod := range all {
		fig.expect("stored:"+pod.Name, faultHasAll(stored, []fixture.PodSpec{pod}))
		fig.expect("history-through-proxy:"+pod.Name, faultHasAll(viaProxy, []fixture.PodSpec{pod}))
	}
	stats := proxy.Stats()
	fig.note("faults", s3FaultCodes(injected))
	fig.note("requests", s3FaultOps(stats.Requests))
	if fig.lost > 0 {
		t.Errorf("%d of %d records lost under injected errors: %v", fig.lost, fig.checked, fig.missing)
	}
	if len(injected) == 0 {
		t.Error("the proxy injected no fault: the scenario tested nothing")
	}
}

// parseS3History decodes `history -o json` of the S3 store, which names its
// cluster: every row must be cluster's.
func parseS3History(t *testing.T, res result, cluster string) []historyRow {
	t.Helper()
	if res.code != 0 {
		t.Fatalf("history: exit %d; stderr:\n%s", res.code, res.stderr)
	}
	answer, rows, err := decodeHistory(res.stdout)
	if err != nil {
		t.Fatalf("history -o json printed something else than an answer with rows (%v):\n%.2000s", err, res.stdout)
	}
	for i, r := range rows {
		// One cluster read: the answer names it; several: each row.
		if got := r.Cluster + answer.Cluster; got != cluster {
			t.Fatalf("history --cluster %s answered a row of cluster %q: %+v", cluster, got, r)
		}
		rows[i].Cluster = ""
	}
	return rows
}

// s3StoreOf describes the store of a server already started, with more
// certificates in its CA bundle.
func s3StoreOf(t *testing.T, srv *s3server.Server, cluster string, caPEMs ...[]byte) *s3Store {
	t.Helper()
	ca, err := os.ReadFile(srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, pem := range caPEMs {
		ca = append(ca, pem...)
	}
	bundle := filepath.Join(t.TempDir(), "ca-bundle.pem")
	if err := os.WriteFile(bundle, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	env := slices.DeleteFunc(srv.Env(), func(kv string) bool { return strings.HasPrefix(kv, "AWS_CA_BUNDLE=") })
	return &s3Store{endpoint: srv.Endpoint, bucket: srv.Bucket, cluster: cluster, env: append(env, "AWS_CA_BUNDLE="+bundle)}
}

// faultDeletedAll reports whether every pod has a deleted record among recs.
func faultDeletedAll(recs []rec, pods []fixture.PodSpec) bool {
	byPod := faultPrinted(recs)
	for _, p := range pods {
		if !slices.ContainsFunc(byPod[p.Namespace+"/"+p.Name], func(r rec) bool { return r.Event == "deleted" }) {
			return false
		}
	}
	return true
}

// metricSum adds every sample of a metric, whatever its labels.
func metricSum(t *testing.T, addr, name string) float64 {
	t.Helper()
	_, body := httpGet("http://" + addr + "/metrics")
	var sum float64
	for _, line := range strings.Split(body, "\n") {
		sample, value, ok := strings.Cut(line, " ")
		if !ok || (sample != name && !strings.HasPrefix(sample, name+"{")) {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(value, &v); err != nil {
			t.Fatalf("metric %s: %v", line, err)
		}
		sum += v
	}
	return sum
}

// s3FaultCodes counts injected faults by status: "503x4,500x3".
func s3FaultCodes(in []faultproxy.Injected) string {
	n := map[int]int{}
	for _, f := range in {
		n[f.Code]++
	}
	var parts []string
	for _, code := range []int{503, 500} {
		if n[code] > 0 {
			parts = append(parts, fmt.Sprintf("%dx%d", code, n[code]))
		}
	}
	return strings.Join(parts, ",")
}

// s3FaultOps prints requests by operation: "GET:12,LIST:40,PUT:9".
func s3FaultOps(ops map[string]int) string {
	keys := make([]string, 0, len(ops))
	for k := range ops {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, ops[k])
	}
	return strings.Join(parts, ",")
}
