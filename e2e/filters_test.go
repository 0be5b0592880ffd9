package e2e

import (
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pod-ashiato/ashiato/e2e/faultproxy"
	"github.com/pod-ashiato/ashiato/e2e/fixture"
)

// filterPods is the cluster of the filter table: namespaces fx-a, fx-b and
// fx-c hold pods of every owner kind on three nodes, some finished, some
// labelled canary; fx-m0 .. fx-m11 hold two pods each, for a --namespace list
// longer than the API server is asked for one by one.
var filterPods = sync.OnceValues(func() ([]string, []fixture.PodSpec) {
	owners := []struct {
		prefix string
		owner  *metav1.OwnerReference
	}{
		{"web", controller("apps/v1", "ReplicaSet", "web-7d9f8c6b5")},
		{"db", controller("apps/v1", "StatefulSet", "db")},
		{"ds", controller("apps/v1", "DaemonSet", "ds")},
		{"job", controller("batch/v1", "Job", "migrate-1")},
		{"cron", controller("batch/v1", "Job", "backup-29412345")}, // a CronJob's Job: <cronjob>-<minutes>
		{"bare", nil},
	}
	namespaces := []string{"fx-a", "fx-b", "fx-c"}
	var pods []fixture.PodSpec
	for _, ns := range namespaces {
		for _, o := range owners {
			for i := range 3 {
				p := fixture.PodSpec{
					Namespace: ns, Name: fmt.Sprintf("%s-%d", o.prefix, i), NodeName: fmt.Sprintf("fx-node-%d", i),
					Labels: map[string]string{"fx-app": o.prefix, "fx-tier": []string{"gold", "silver"}[i%2]},
					Owner:  o.owner,
				}
				if i == 2 {
					p.Labels["fx-canary"] = "true"
				}
				if (o.prefix == "job" || o.prefix == "cron") && i > 0 {
					p.Phase = corev1.PodSucceeded
				}
				pods = append(pods, p)
			}
		}
	}
	for m := range 12 {
		ns := fmt.Sprintf("fx-m%d", m)
		namespaces = append(namespaces, ns)
		pods = append(pods, fixture.PlacedPods(ns, 2, []string{"fx-node-0"})...)
	}
	return namespaces, pods
})

func controller(apiVersion, kind, name string) *metav1.OwnerReference {
	yes := true
	return &metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: types.UID("fx-" + strings.ToLower(kind) + "-" + name), Controller: &yes}
}

type filterCase struct {
	name string
	args []string
	want func(p fixture.PodSpec) bool
	// perNamespace is how many namespaces are read each on its own (a short
	// --namespace list); 0 is one read.
	perNamespace int
}

// filterCases: each filter alone, then in combinations. want is what a person
// expects from the pods as created.
func filterCases() []filterCase {
	in := func(p fixture.PodSpec, ns ...string) bool { return slices.Contains(ns, p.Namespace) }
	kind := func(p fixture.PodSpec) string {
		if p.Owner == nil {
			return "None"
		}
		return p.Owner.Kind
	}
	isCron := func(p fixture.PodSpec) bool { return p.Owner != nil && p.Owner.Name == "backup-29412345" }
	running := func(p fixture.PodSpec) bool { return p.Phase == "" }
	manyNS := []string{"fx-a"}
	for m := range 12 {
		manyNS = append(manyNS, fmt.Sprintf("fx-m%d", m))
	}
	return []filterCase{
		{"two namespaces", []string{"--namespace", "fx-a,fx-c"}, func(p fixture.PodSpec) bool { return in(p, "fx-a", "fx-c") }, 2},
		{"namespace list minus an exclusion", []string{"--namespace", "fx-a,fx-b", "--namespace", "fx-c", "--exclude-namespace", "fx-b"},
			func(p fixture.PodSpec) bool { return in(p, "fx-a", "fx-c") }, 2},
		{"13 namespaces: one read, kept client-side", []string{"--namespace", strings.Join(manyNS, ",")}, func(p fixture.PodSpec) bool { return in(p, manyNS...) }, 0},
		{"excluded namespaces", []string{"--exclude-namespace", "fx-b,fx-c"}, func(p fixture.PodSpec) bool { return !in(p, "fx-b", "fx-c") }, 0},
		{"node", []string{"--node", "fx-node-1"}, func(p fixture.PodSpec) bool { return p.NodeName == "fx-node-1" }, 0},
		{"field selector: phase", []string{"--field-selector", "status.phase!=Succeeded"}, running, 0},
		{"field selector: name", []string{"--field-selector", "metadata.name=web-0"}, func(p fixture.PodSpec) bool { return p.Name == "web-0" }, 0},
		{"field selector: two fields", []string{"--field-selector", "status.phase==Succeeded,spec.nodeName=fx-node-2"},
			func(p fixture.PodSpec) bool { return !running(p) && p.NodeName == "fx-node-2" }, 0},
		{"excluded names", []string{"--exclude-name", "web-", "--exclude-name", "db-,ds-"},
			func(p fixture.PodSpec) bool {
				return !strings.HasPrefix(p.Name, "web-") && !strings.HasPrefix(p.Name, "db-") && !strings.HasPrefix(p.Name, "ds-")
			}, 0},
		{"name and excluded name", []string{"--name", "cron-", "--exclude-name", "cron-1"}, func(p fixture.PodSpec) bool { return p.Name == "cron-0" || p.Name == "cron-2" }, 0},
		{"owner kinds", []string{"--owner-kind", "StatefulSet,daemonset"}, func(p fixture.PodSpec) bool { return kind(p) == "StatefulSet" || kind(p) == "DaemonSet" }, 0},
		{"owner Job, a CronJob's included", []string{"--owner-kind", "Job"}, func(p fixture.PodSpec) bool { return kind(p) == "Job" }, 0},
		{"owner CronJob", []string{"--owner-kind", "CronJob"}, isCron, 0},
		{"Jobs made by hand", []string{"--owner-kind", "Job", "--exclude-owner-kind", "CronJob"}, func(p fixture.PodSpec) bool { return kind(p) == "Job" && !isCron(p) }, 0},
		{"bare pods", []string{"--owner-kind", "None"}, func(p fixture.PodSpec) bool { return kind(p) == "None" }, 0},
		{"batch excluded", []string{"--exclude-owner-kind", "Job"}, func(p fixture.PodSpec) bool { return kind(p) != "Job" }, 0},
		{"label exclusion", []string{"--label", "!fx-canary"}, func(p fixture.PodSpec) bool { return p.Labels["fx-canary"] == "" }, 0},
		{"label notin", []string{"--label", "fx-app,fx-tier notin (gold)"}, func(p fixture.PodSpec) bool { return p.Labels["fx-tier"] == "silver" }, 0},
		{"namespaces, node and owner", []string{"--namespace", "fx-a,fx-b", "--node", "fx-node-0", "--exclude-owner-kind", "ReplicaSet,None"},
			func(p fixture.PodSpec) bool {
				return in(p, "fx-a", "fx-b") && p.NodeName == "fx-node-0" && kind(p) != "ReplicaSet" && kind(p) != "None"
			}, 2},
		{"exclusions of every kind", []string{"--exclude-namespace", "fx-a", "--exclude-name", "bare-", "--exclude-owner-kind", "CronJob", "--label", "!fx-canary",
			"--field-selector", "status.phase!=Succeeded"},
			func(p fixture.PodSpec) bool {
				return !in(p, "fx-a") && !strings.HasPrefix(p.Name, "bare-") && !isCron(p) && p.Labels["fx-canary"] == "" && running(p)
			}, 0},
		{"everything at once", []string{"--namespace", "fx-a,fx-c", "--node", "fx-node-0", "--label", "fx-tier=gold", "--name", "j", "--owner-kind", "Job",
			"--field-selector", "status.phase=Running", "--exclude-name", "job-1"},
			func(p fixture.PodSpec) bool {
				return in(p, "fx-a", "fx-c") && p.NodeName == "fx-node-0" && p.Labels["fx-tier"] == "gold" && strings.HasPrefix(p.Name, "j") &&
					kind(p) == "Job" && running(p) && !strings.HasPrefix(p.Name, "job-1")
			}, 2},
		{"matching nothing", []string{"--namespace", "fx-a,fx-b", "--owner-kind", "Node"}, func(fixture.PodSpec) bool { return false }, 2},
	}
}

// TestFilterTable: every filter, alone and combined, selects exactly the pods
// created for it, with --oneshot and with the watch's initial snapshot.
// Pods of other tests' namespaces are ignored, except that a namespace the
// filter excludes must print nothing.
func TestFilterTable(t *testing.T) {
	requireCluster(t)
	namespaces, pods := filterPods()
	seed(t, namespaces, pods)

	for _, tt := range filterCases() {
		t.Run(tt.name, func(t *testing.T) {
			want := wantedKeys(pods, tt.want)
			res := runAshiato(t, withKubeconfig(append([]string{"--oneshot"}, tt.args...)...)...)
			if res.code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
			}
			if got := ownKeys(t, parseRecords(t, res.stdout), namespaces); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("--oneshot %v selected %d pods\n %v\nwant %d\n %v", tt.args, len(got), got, len(want), want)
			}
		})
	}

	// The watch source reads several namespaces at once too: its initial snapshot is the same selection.
	for _, tt := range filterCases()[:3] {
		t.Run("watch/"+tt.name, func(t *testing.T) {
			want := wantedKeys(pods, tt.want)
			p := startAshiato(t, withKubeconfig(append([]string{"--source", "watch", "--interval", "1h"}, tt.args...)...)...)
			// Settle: the snapshot of every reader, then nothing more (interval 1h).
			var last int
			p.waitFor(30*time.Second, "the initial snapshot", func(recs []rec) bool {
				mine := 0
				for _, r := range recs {
					if slices.Contains(namespaces, r.Namespace) {
						mine++
					}
				}
				done := mine >= len(want) && mine == last
				last = mine
				return done && strings.Contains(p.stderrText(), "initial snapshot sent")
			})
			if code := p.stop(30 * time.Second); code != 0 {
				t.Fatalf("exit %d after SIGTERM", code)
			}
			if got := ownKeys(t, parseRecords(t, p.stdoutText()), namespaces); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("watch %v selected %d pods\n %v\nwant %d\n %v", tt.args, len(got), got, len(want), want)
			}
		})
	}
}

func wantedKeys(pods []fixture.PodSpec, want func(fixture.PodSpec) bool) []string {
	var keys []string
	for _, p := range pods {
		if want(p) {
			keys = append(keys, p.Namespace+"/"+p.Name)
		}
	}
	sort.Strings(keys)
	return keys
}

// ownKeys is the sorted namespace/name of the records of these namespaces;
// it fails on a pod printed twice.
func ownKeys(t *testing.T, recs []rec, namespaces []string) []string {
	t.Helper()
	var own []rec
	for _, r := range recs {
		if slices.Contains(namespaces, r.Namespace) {
			own = append(own, r)
		}
	}
	return keysOnce(t, own)
}

// TestFilteredSnapshotCost: through a proxy that counts the requests for
// pods and the bytes of their answers, a filtered --oneshot costs no more than
// an unfiltered one: no more bytes for any filter, and no more requests
// either (server-side filters travel with the same LIST, client-side ones add
// none), except a short --namespace list, read with exactly one LIST per
// namespace, each a fraction of the whole.
func TestFilteredSnapshotCost(t *testing.T) {
	requireCluster(t)
	namespaces, pods := filterPods()
	seed(t, namespaces, pods)
	traffic, kc := startPodTraffic(t)

	cost := func(args ...string) podCost {
		t.Helper()
		traffic.reset()
		res := runAshiato(t, append([]string{"--kubeconfig", kc, "--oneshot"}, args...)...)
		if res.code != 0 {
			t.Fatalf("%v: exit %d; stderr:\n%s", args, res.code, res.stderr)
		}
		return traffic.cost()
	}
	unfiltered := cost()
	t.Logf("%-42s %s", "unfiltered", unfiltered)
	for _, tt := range filterCases() {
		c := cost(tt.args...)
		t.Logf("%-42s %s", tt.name, c)
		if c.requests != c.lists {
			t.Errorf("%s: %d pod requests other than LIST", tt.name, c.requests-c.lists)
		}
		switch {
		case c.bytes > unfiltered.bytes:
			t.Errorf("%s: %d bytes of pods, more than the unfiltered %d", tt.name, c.bytes, unfiltered.bytes)
		case onServer(tt.args) && c.bytes >= unfiltered.bytes:
			t.Errorf("%s: %d bytes of pods, as many as unfiltered: the API server did not filter", tt.name, c.bytes)
		}
		switch {
		case tt.perNamespace > 0 && c.lists != tt.perNamespace:
			t.Errorf("%s: %d LIST, want one per namespace: %d", tt.name, c.lists, tt.perNamespace)
		case tt.perNamespace == 0 && c.lists > unfiltered.lists:
			t.Errorf("%s: %d LIST of pods, more than the unfiltered %d", tt.name, c.lists, unfiltered.lists)
		}
	}
}

// onServer tells whether every filter of args runs on the API server, so
// that it sends fewer pods (a --namespace list longer than 10 does not).
func onServer(args []string) bool {
	for i := 0; i < len(args); i += 2 {
		switch args[i] {
		case "--namespace":
			if strings.Count(args[i+1], ",") >= 10 {
				return false
			}
		case "--exclude-namespace", "--label", "--field-selector", "--node":
		default:
			return false
		}
	}
	return true
}

// podTraffic is a proxy to the API server that counts the requests for pods
// and the bytes of their answers.
type podTraffic struct {
	mu sync.Mutex
	c  podCost
}

type podCost struct {
	requests, lists int
	bytes           int64
}

func (c podCost) String() string {
	return fmt.Sprintf("%d LIST of pods (%d pod requests), %d bytes", c.lists, c.requests, c.bytes)
}

func (p *podTraffic) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.c = podCost{}
}

func (p *podTraffic) cost() podCost {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.c
}

// startPodTraffic starts the proxy and returns it with a kubeconfig that
// reaches the API server through it.
func startPodTraffic(t *testing.T) (*podTraffic, string) {
	t.Helper()
	target, err := url.Parse(restConfig.Host)
	if err != nil {
		t.Fatal(err)
	}
	transport, err := rest.TransportFor(restConfig)
	if err != nil {
		t.Fatal(err)
	}
	p := &podTraffic{}
	srv := httptest.NewUnstartedServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Header.Del("Authorization") // the upstream transport authenticates
			// Count what the API server encoded, not what gzip made of it:
			// it compresses only large answers. Go's transport asks for gzip
			// itself and hands on the body decompressed.
			r.Out.Header.Del("Accept-Encoding")
		},
		Transport: transport,
		ModifyResponse: func(resp *http.Response) error {
			verb, resource := faultproxy.RequestVerb(resp.Request)
			if resource != "pods" {
				return nil
			}
			p.mu.Lock()
			p.c.requests++
			if verb == "list" {
				p.c.lists++
			}
			p.mu.Unlock()
			resp.Body = &countingBody{ReadCloser: resp.Body, p: p}
			return nil
		},
	})
	srv.StartTLS()
	t.Cleanup(srv.Close)
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["traffic"] = &clientcmdapi.Cluster{Server: srv.URL,
		CertificateAuthorityData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})}
	cfg.AuthInfos["traffic"] = &clientcmdapi.AuthInfo{}
	cfg.Contexts["traffic"] = &clientcmdapi.Context{Cluster: "traffic", AuthInfo: "traffic"}
	cfg.CurrentContext = "traffic"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return p, path
}

type countingBody struct {
	io.ReadCloser
	p *podTraffic
}

func (b *countingBody) Read(buf []byte) (int, error) {
	n, err := b.ReadCloser.Read(buf)
	b.p.mu.Lock()
	b.p.c.bytes += int64(n)
	b.p.mu.Unlock()
	return n, err
}

// TestHistoryNodeFilters: history node keeps to the namespaces and names
// asked for, over what a run stored.
func TestHistoryNodeFilters(t *testing.T) {
	requireCluster(t)
	const hist, node = "fxh-history", "fxh-node-0"
	namespaces := []string{"fxh-shop", "fxh-kube", "fxh-other"}
	var pods []fixture.PodSpec
	for _, ns := range namespaces {
		for _, name := range []string{"web-0", "web-canary-0", "db-0"} {
			pods = append(pods, fixture.PodSpec{Namespace: ns, Name: name, NodeName: node})
		}
	}
	seed(t, append([]string{hist}, namespaces...), pods)
	res := runAshiato(t, withKubeconfig("--oneshot", "--namespace", strings.Join(namespaces, ","), "--store-in-cm", "--cm-namespace", hist)...)
	if res.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
	}

	tests := []struct {
		args []string
		want func(p fixture.PodSpec) bool
	}{
		{nil, func(fixture.PodSpec) bool { return true }},
		{[]string{"--namespace", "fxh-shop"}, func(p fixture.PodSpec) bool { return p.Namespace == "fxh-shop" }},
		{[]string{"--namespace", "fxh-shop,fxh-other"}, func(p fixture.PodSpec) bool { return p.Namespace != "fxh-kube" }},
		{[]string{"--exclude-namespace", "fxh-kube"}, func(p fixture.PodSpec) bool { return p.Namespace != "fxh-kube" }},
		{[]string{"--name", "web", "--exclude-name", "web-canary"}, func(p fixture.PodSpec) bool { return p.Name == "web-0" }},
		{[]string{"--exclude-namespace", "fxh-kube,fxh-other", "--exclude-name", "db-"}, func(p fixture.PodSpec) bool {
			return p.Namespace == "fxh-shop" && p.Name != "db-0"
		}},
	}
	for _, tt := range tests {
		args := append([]string{"history", "node", node, "--kubeconfig", kubeconfig, "--at", "now", "--cm-namespace", hist, "-o", "json"}, tt.args...)
		var got []string
		for _, r := range parseHistory(t, runAshiato(t, args...)) {
			got = append(got, r.key())
		}
		sort.Strings(got)
		if want := wantedKeys(pods, tt.want); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("history node %v:\n got %v\nwant %v", tt.args, got, want)
		}
	}
	// An empty answer names the filters.
	res = runAshiato(t, "history", "node", node, "--kubeconfig", kubeconfig, "--at", "now", "--cm-namespace", hist, "--namespace", "fxh-shop", "--name", "cache-")
	if res.code != 0 || res.stdout != "" || !strings.Contains(res.stderr, `no pods matching --namespace="fxh-shop" --name="cache-" on node fxh-node-0`) {
		t.Errorf("empty answer: exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}
}

// TestWatchLeavingTheSelection: in watch mode, a pod whose phase stops
// matching --field-selector leaves the selection and is printed as deleted
// (docs/recorder.md, Filters); a pod that starts matching is printed as scheduled.
func TestWatchLeavingTheSelection(t *testing.T) {
	requireCluster(t)
	const ns = "fxw"
	seed(t, []string{ns}, []fixture.PodSpec{
		{Namespace: ns, Name: "stays", NodeName: "fxw-node-0"},
		{Namespace: ns, Name: "finishes", NodeName: "fxw-node-0"},
		{Namespace: ns, Name: "done", NodeName: "fxw-node-1", Phase: corev1.PodSucceeded},
	})
	p := startAshiato(t, withKubeconfig("--namespace", ns, "--field-selector", "status.phase!=Succeeded", "--interval", "1h")...)
	p.waitFor(30*time.Second, "the initial snapshot", func(recs []rec) bool { return len(recs) == 2 })

	setPhase := func(name string, phase corev1.PodPhase) {
		t.Helper()
		pod, err := client.CoreV1().Pods(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pod.Status.Phase = phase
		if _, err := client.CoreV1().Pods(ns).UpdateStatus(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	setPhase("finishes", corev1.PodSucceeded)
	setPhase("done", corev1.PodRunning) // unusual, but it now matches
	recs := p.waitFor(30*time.Second, "the pods leaving and entering the selection", func(recs []rec) bool { return len(recs) >= 4 })
	if code := p.stop(30 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
	var got []string
	for _, r := range parseRecords(t, p.stdoutText()) {
		got = append(got, r.Pod+":"+r.Event+":"+r.Node)
	}
	sort.Strings(got)
	want := "done:scheduled:fxw-node-1 finishes:deleted:fxw-node-0 finishes:snapshot:fxw-node-0 stays:snapshot:fxw-node-0"
	if strings.Join(got, " ") != want {
		t.Errorf("printed %v (of %d at first wait)\nwant %s", got, len(recs), want)
	}
}
