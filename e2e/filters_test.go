package e2e

import (
	"fmt"
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

// TestFilteredSnapshotCost: through a proxy that counts requests, a filtered
// --oneshot asks for pods no more often than an unfiltered one: filters the
// API server applies travel with the same LIST, client-side ones add none.
// The exception is a short --namespace list, read one LIST per namespace;
// that costs exactly one LIST per namespace, and is counted as such.
func TestFilteredSnapshotCost(t *testing.T) {
	requireCluster(t)
	namespaces, pods := filterPods()
	seed(t, namespaces, pods)

	var mu sync.Mutex
	podRequests := map[string]int{}
	proxy, err := faultproxy.NewHTTP(restConfig, faultproxy.Options{Match: func(verb, resource string) bool {
		if resource == "pods" {
			mu.Lock()
			podRequests[verb]++
			mu.Unlock()
		}
		return false // count only
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := proxy.WriteKubeconfig(kc); err != nil {
		t.Fatal(err)
	}
	// A page size that makes the unfiltered listing several pages, as in any
	// cluster of more than a thousand pods.
	const pageSize = "50"
	cost := func(args ...string) (lists, total int) {
		t.Helper()
		mu.Lock()
		clear(podRequests)
		mu.Unlock()
		res := runAshiato(t, append([]string{"--kubeconfig", kc, "--oneshot", "--page-size", pageSize}, args...)...)
		if res.code != 0 {
			t.Fatalf("%v: exit %d; stderr:\n%s", args, res.code, res.stderr)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, n := range podRequests {
			total += n
		}
		return podRequests["list"], total
	}
	unfiltered, unfilteredTotal := cost()
	t.Logf("unfiltered: %d LIST of pods (%d pod requests)", unfiltered, unfilteredTotal)
	if unfiltered < 2 {
		t.Fatalf("the unfiltered snapshot took %d LIST: want several pages to compare with", unfiltered)
	}
	for _, tt := range filterCases() {
		lists, total := cost(tt.args...)
		t.Logf("%-42s %d LIST of pods (%d pod requests)", tt.name, lists, total)
		if total != lists {
			t.Errorf("%s: %d pod requests other than LIST", tt.name, total-lists)
		}
		switch {
		case tt.perNamespace > 0 && lists != tt.perNamespace: // fewer than 50 pods each: one page
			t.Errorf("%s: %d LIST, want one per namespace: %d", tt.name, lists, tt.perNamespace)
		case lists > unfiltered:
			t.Errorf("%s: %d LIST of pods, more than the unfiltered %d", tt.name, lists, unfiltered)
		}
	}
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
