package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pod-ashiato/ashiato/e2e/fixture"
)

// TestOneshotPrintsEveryPodOnce: ~300 pods in 3 namespaces on 10 nodes; a
// oneshot run prints each pod of the cluster exactly once with its node and
// IPs, and nothing but records on stdout.
func TestOneshotPrintsEveryPodOnce(t *testing.T) {
	requireCluster(t)
	ns := []string{"oneshot-a", "oneshot-b", "oneshot-c"}
	var pods []fixture.PodSpec
	for i, n := range ns {
		pods = append(pods, fixture.PlacedPods(n, 90+10*i, nodes("oneshot", 10))...)
	}
	seed(t, ns, pods)

	// A small page size makes the run cross many pages.
	res := runAshiato(t, withKubeconfig("--oneshot", "--page-size", "37")...)
	if res.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
	}
	recs := parseRecords(t, res.stdout)
	live := livePods(t)
	if got, want := keysOnce(t, recs), sortedKeys(live); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("printed %d pods, the cluster has %d", len(got), len(want))
	}
	for _, r := range recs {
		p := live[r.key()]
		if r.Node != p.Spec.NodeName || r.PodIP != p.Status.PodIP || r.HostIP != p.Status.HostIP ||
			r.Phase != string(p.Status.Phase) || r.UID != string(p.UID) || r.Event != "snapshot" {
			t.Errorf("record %+v does not match the pod (node %s, ip %s, host %s, phase %s)", r, p.Spec.NodeName, p.Status.PodIP, p.Status.HostIP, p.Status.Phase)
		}
	}
	mine := 0
	for _, r := range recs {
		if strings.HasPrefix(r.Namespace, "oneshot-") {
			mine++
			if r.PodIP == "" || r.HostIP == "" || r.Phase != "Running" || len(r.Conditions) == 0 || r.StartTime == "" {
				t.Errorf("seeded pod printed without its status: %+v", r)
			}
		}
	}
	if mine != len(pods) {
		t.Errorf("printed %d of the %d seeded pods", mine, len(pods))
	}
}

// TestFilters: every filter and their combinations select exactly the pods a
// person would expect, computed here from the seeded specs.
func TestFilters(t *testing.T) {
	requireCluster(t)
	ns := []string{"flt-a", "flt-b"}
	var pods []fixture.PodSpec
	for _, n := range ns {
		for i := range 6 {
			for _, app := range []string{"web", "db"} {
				pods = append(pods, fixture.PodSpec{
					Namespace: n, Name: fmt.Sprintf("flt-%s-%d", app, i), NodeName: fmt.Sprintf("flt-node-%d", i%3),
					Labels: map[string]string{"flt-app": app, "flt-tier": []string{"gold", "silver"}[i%2]},
				})
			}
		}
	}
	seed(t, ns, pods)

	type sel func(p fixture.PodSpec) bool
	tests := []struct {
		name string
		args []string
		want sel
	}{
		{"namespace", []string{"--namespace", "flt-a", "--name", "flt-"}, func(p fixture.PodSpec) bool { return p.Namespace == "flt-a" }},
		{"name prefix", []string{"--name", "flt-web-"}, func(p fixture.PodSpec) bool { return strings.HasPrefix(p.Name, "flt-web-") }},
		{"label", []string{"--label", "flt-app=db"}, func(p fixture.PodSpec) bool { return p.Labels["flt-app"] == "db" }},
		{"set-based label", []string{"--label", "flt-app in (web,db),flt-tier!=gold"}, func(p fixture.PodSpec) bool { return p.Labels["flt-tier"] == "silver" }},
		{"namespace and label", []string{"--namespace", "flt-b", "--label", "flt-tier=gold"}, func(p fixture.PodSpec) bool {
			return p.Namespace == "flt-b" && p.Labels["flt-tier"] == "gold"
		}},
		{"namespace and name", []string{"--namespace", "flt-b", "--name", "flt-db-1"}, func(p fixture.PodSpec) bool {
			return p.Namespace == "flt-b" && strings.HasPrefix(p.Name, "flt-db-1")
		}},
		{"name and label", []string{"--name", "flt-web", "--label", "flt-tier=silver"}, func(p fixture.PodSpec) bool {
			return strings.HasPrefix(p.Name, "flt-web") && p.Labels["flt-tier"] == "silver"
		}},
		{"all three", []string{"--namespace", "flt-a", "--name", "flt-db-", "--label", "flt-tier=gold"}, func(p fixture.PodSpec) bool {
			return p.Namespace == "flt-a" && strings.HasPrefix(p.Name, "flt-db-") && p.Labels["flt-tier"] == "gold"
		}},
		{"matching nothing", []string{"--namespace", "flt-a", "--name", "flt-cache-"}, func(fixture.PodSpec) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runAshiato(t, withKubeconfig(append([]string{"--oneshot"}, tt.args...)...)...)
			if res.code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
			}
			var want []string
			for _, p := range pods {
				if tt.want(p) {
					want = append(want, p.Namespace+"/"+p.Name)
				}
			}
			sort.Strings(want)
			got := keysOnce(t, parseRecords(t, res.stdout))
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%v selected\n %v\nwant\n %v", tt.args, got, want)
			}
		})
	}
}

// TestStoreInConfigMap: the hour's ConfigMap holds exactly the pods of a run;
// a second run within the hour over other pods keeps the first run's keys.
func TestStoreInConfigMap(t *testing.T) {
	requireCluster(t)
	const history = "store-history"
	first := fixture.PlacedPods("store-a", 40, nodes("store", 4))
	second := fixture.PlacedPods("store-b", 25, nodes("store", 4))
	seed(t, []string{history, "store-a", "store-b"}, append(first, second...))
	want := map[string]string{}

	start := time.Now()
	for _, run := range []struct {
		namespace string
		pods      []fixture.PodSpec
	}{{"store-a", first}, {"store-b", second}} {
		res := runAshiato(t, withKubeconfig("--oneshot", "--namespace", run.namespace, "--store-in-cm", "--cm-namespace", history)...)
		if res.code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
		}
		for _, p := range run.pods {
			want[p.Namespace+"_"+p.Name] = p.NodeName
		}
		got := storedHours(t, history, start, time.Now())
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("after the run over %s the store holds %d pods, want %d:\n got %v\nwant %v", run.namespace, len(got), len(want), got, want)
		}
	}

	// The original tool's form is what a person reads: namespace_pod: node, with the original labels.
	cms, err := client.CoreV1().ConfigMaps(history).List(t.Context(), metav1.ListOptions{LabelSelector: "app=pod-ashiato,type=pod-node-mapping"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cms.Items) == 0 {
		t.Fatal("no ConfigMap labelled app=pod-ashiato,type=pod-node-mapping")
	}
	for _, cm := range cms.Items {
		if !strings.HasPrefix(cm.Name, "pod-ashiato-") || len(cm.Name) != len("pod-ashiato-2006010215") {
			t.Errorf("ConfigMap %s: want pod-ashiato-YYYYMMDDHH", cm.Name)
		}
		for _, p := range first[:3] {
			if v, ok := cm.Data[p.Namespace+"_"+p.Name]; ok && v != p.NodeName {
				t.Errorf("%s: %s_%s = %q, want %q", cm.Name, p.Namespace, p.Name, v, p.NodeName)
			}
		}
	}
}

// TestContinuous: with either source, a pod created while ashiato runs is
// printed within one interval; SIGTERM flushes to the store and exits 0.
func TestContinuous(t *testing.T) {
	requireCluster(t)
	for _, src := range []string{"watch", "list"} {
		t.Run(src, func(t *testing.T) {
			const interval = 2 * time.Second
			ns, history := "cont-"+src, "cont-"+src+"-history"
			seed(t, []string{ns, history}, fixture.PlacedPods(ns, 5, nodes("cont", 2)))

			p := startAshiato(t, withKubeconfig("--source", src, "--interval", interval.String(), "--namespace", ns,
				"--store-in-cm", "--cm-namespace", history, "--cm-flush-interval", "1h")...)
			p.waitFor(30*time.Second, "first listing", func(recs []rec) bool { return len(recs) >= 5 })

			late := fixture.PodSpec{Namespace: ns, Name: "late", NodeName: "cont-node-1"}
			created := time.Now()
			if err := fixture.CreatePlacedPods(t.Context(), client, []fixture.PodSpec{late}, 1); err != nil {
				t.Fatal(err)
			}
			p.waitFor(interval+5*time.Second, "record of the pod created while running", func(recs []rec) bool {
				for _, r := range recs {
					if r.Pod == "late" && r.Node == "cont-node-1" {
						return true
					}
				}
				return false
			})
			t.Logf("--source=%s: pod created while running was printed %s after creation (interval %s)", src, time.Since(created).Round(time.Millisecond), interval)

			// The flush interval is an hour: only the SIGTERM drain can have stored it.
			if code := p.stop(30 * time.Second); code != 0 {
				t.Fatalf("exit %d after SIGTERM; stderr:\n%s", code, p.stderrText())
			}
			parseRecords(t, p.stdoutText()) // stdout still nothing but records
			stored := storedHours(t, history, created.Add(-time.Minute), time.Now())
			if stored[ns+"_late"] != "cont-node-1" || len(stored) != 6 {
				t.Fatalf("after SIGTERM the store holds %v, want the 6 pods of namespace %s", stored, ns)
			}
		})
	}
}

// TestStartupErrors: each bad input exits 2 with one line naming it, before
// any work (nothing on stdout).
func TestStartupErrors(t *testing.T) {
	requireCluster(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte("apiVersion: v1\nclusters: [[["), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"invalid label selector", withKubeconfig("--oneshot", "--label", "app=a=b"), `invalid --label "app=a=b"`},
		{"zero interval", withKubeconfig("--interval", "0s"), "invalid --interval 0s"},
		{"negative interval", withKubeconfig("--interval=-1m"), "invalid --interval -1m0s"},
		{"invalid namespace name", withKubeconfig("--oneshot", "--namespace", "Not_A_Namespace"), `invalid --namespace "Not_A_Namespace"`},
		{"namespace that does not exist", withKubeconfig("--oneshot", "--namespace", "no-such-namespace"), `invalid --namespace "no-such-namespace": namespace not found`},
		{"namespace of a list that does not exist", withKubeconfig("--oneshot", "--namespace", "default,no-such-namespace"), `invalid --namespace "no-such-namespace": namespace not found`},
		{"unknown field selector field", withKubeconfig("--oneshot", "--field-selector", "status.hostIP=10.0.0.1"), `pods cannot be selected by field "status.hostIP"`},
		{"unknown owner kind", withKubeconfig("--oneshot", "--owner-kind", "Rollout"), `invalid --owner-kind "Rollout"`},
		{"cm namespace that does not exist", withKubeconfig("--oneshot", "--store-in-cm", "--cm-namespace", "no-such-namespace"), `invalid --cm-namespace "no-such-namespace": namespace not found`},
		{"missing kubeconfig", []string{"--oneshot", "--kubeconfig", filepath.Join(dir, "missing")}, "invalid --kubeconfig"},
		{"unreadable kubeconfig", []string{"--oneshot", "--kubeconfig", garbage}, "invalid kubeconfig"},
		{"unknown context", withKubeconfig("--oneshot", "--context", "nope"), `context "nope" does not exist`},
		{"unknown flag", withKubeconfig("--oneshot", "--nmespace", "x"), "flag provided but not defined: -nmespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runAshiato(t, tt.args...)
			if res.code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", res.code, res.stderr)
			}
			lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tt.want) {
				t.Errorf("stderr %q: want one line containing %q", res.stderr, tt.want)
			}
			if res.stdout != "" {
				t.Errorf("stdout %q: want nothing", res.stdout)
			}
		})
	}
}
