package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/pod-ashiato/ashiato/e2e/fixture"
	"github.com/pod-ashiato/ashiato/src/store"
)

// historyRow is one row of `ashiato history -o json`, decoded strictly:
// the schema docs/history.md documents (package report).
type historyRow struct {
	Cluster   string  `json:"cluster,omitempty"` // across clusters only
	Namespace string  `json:"namespace"`
	Pod       string  `json:"pod_name"`
	Node      string  `json:"node_name"`
	OwnerKind string  `json:"owner_kind"`
	OwnerName string  `json:"owner_name"`
	Hour      string  `json:"hour"`
	FirstSeen *string `json:"first_seen"`
	LastSeen  *string `json:"last_seen"`
}

// historyAnswer is `ashiato history pod|node -o json`, decoded strictly:
// the rows are placements (pod) or pods (node).
type historyAnswer struct {
	Cluster    string        `json:"cluster,omitempty"`
	Node       string        `json:"node,omitempty"`
	Pod        string        `json:"pod,omitempty"`
	Window     any           `json:"window"`
	Pods       *[]historyRow `json:"pods,omitempty"`
	Placements *[]historyRow `json:"placements,omitempty"`
	NodeEvents []any         `json:"node_events,omitempty"`
	Warnings   []string      `json:"warnings"`
	Hidden     any           `json:"hidden"`
}

// decodeHistory reads an answer of history pod or node, strictly.
func decodeHistory(stdout string) (historyAnswer, []historyRow, error) {
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	var a historyAnswer
	if err := dec.Decode(&a); err != nil {
		return a, nil, err
	}
	switch {
	case a.Pods != nil:
		return a, *a.Pods, nil
	case a.Placements != nil:
		return a, *a.Placements, nil
	}
	return a, nil, fmt.Errorf("no pods or placements")
}

func (r historyRow) key() string { return r.Namespace + "/" + r.Pod }

func parseHistory(t *testing.T, res result) []historyRow {
	t.Helper()
	if res.code != 0 {
		t.Fatalf("history: exit %d; stderr:\n%s", res.code, res.stderr)
	}
	_, rows, err := decodeHistory(res.stdout)
	if err != nil {
		t.Fatalf("history -o json printed something else than an answer with rows (%v):\n%.2000s", err, res.stdout)
	}
	return rows
}

// rfc3339 is t as the command line takes it.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// valueBytes is what the API server counts against its 1 MiB ConfigMap limit.
func valueBytes(cm *corev1.ConfigMap) int {
	n := 0
	for k, v := range cm.Data {
		n += len(k) + len(v)
	}
	for k, v := range cm.BinaryData {
		n += len(k) + len(v)
	}
	return n
}

// hourObjects lists every stored object of the hours from..to, by name.
func hourObjects(t *testing.T, namespace string, from, to time.Time) map[time.Time][]corev1.ConfigMap {
	t.Helper()
	out := map[time.Time][]corev1.ConfigMap{}
	for hour := store.HourOf(from); !hour.After(to); hour = hour.Add(time.Hour) {
		list, err := client.CoreV1().ConfigMaps(namespace).List(t.Context(), metav1.ListOptions{LabelSelector: store.HourSelector(hour)})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) > 0 {
			out[hour] = list.Items
		}
	}
	return out
}

// TestHistoryAtScale: 20,000 pods with names near the 253-character limit in
// a 63-character namespace are stored by one --oneshot run; every object of
// the hour stays within the API server's limits, the shards decode to exactly
// those placements, and `ashiato history` answers from them, also with a
// shard damaged by hand.
func TestHistoryAtScale(t *testing.T) {
	requireCluster(t)
	if testing.Short() {
		t.Skip("seeds 20,000 pods")
	}
	const (
		nPods   = 20000
		nNodes  = 50
		history = "hist-scale-store"
	)
	podNS := ("hist-scale-" + strings.Repeat("abcdefghij", 6))[:63]
	var nodeNames []string
	for i := range nNodes {
		nodeNames = append(nodeNames, fmt.Sprintf("ip-10-0-%d-%d.eu-west-1.compute.internal", i/16, i%16))
	}
	// Names of 200 to 253 characters whose tail is random hex: close to the
	// worst case for the gzip of the packed form.
	rng := rand.New(rand.NewPCG(1, 2))
	pods := make([]fixture.PodSpec, nPods)
	onNode := map[string]string{} // namespace/pod -> node
	for i := range pods {
		name := fmt.Sprintf("statefulset-analytics-ingest-%06d-", i)
		for len(name) < 200+i%54 {
			name += fmt.Sprintf("%x", rng.Uint32()&0xf)
		}
		pods[i] = fixture.PodSpec{Namespace: podNS, Name: name, NodeName: nodeNames[i%nNodes]}
		onNode[podNS+"/"+name] = pods[i].NodeName
	}
	// Pod names over 63 characters draw an API warning each (the hostname
	// is cut); 20,000 of them would bury the test log.
	quiet := rest.CopyConfig(restConfig)
	quiet.WarningHandler = rest.NoWarnings{}
	seeder, err := kubernetes.NewForConfig(quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := fixture.CreateNamespaces(t.Context(), seeder, podNS, history); err != nil {
		t.Fatal(err)
	}
	seeding := time.Now()
	if err := fixture.CreatePlacedPods(t.Context(), seeder, pods, 32); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d pods in %s", nPods, time.Since(seeding).Round(time.Millisecond))
	t.Cleanup(func() {
		// Other tests list every pod of the cluster: leave them the cluster
		// they expect. One delete per pod, 32 at once, is several times
		// faster than a DeleteCollection (one worker on the server).
		start := time.Now()
		zero := int64(0)
		g := new(errgroup.Group)
		g.SetLimit(32)
		for _, p := range pods {
			g.Go(func() error {
				err := seeder.CoreV1().Pods(p.Namespace).Delete(context.Background(), p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
				if apierrors.IsNotFound(err) {
					return nil
				}
				return err
			})
		}
		if err := g.Wait(); err != nil {
			t.Errorf("deleting the pods: %v", err)
		}
		t.Logf("deleted the pods in %s", time.Since(start).Round(time.Millisecond))
	})

	start := time.Now()
	res := runAshiato(t, withKubeconfig("--oneshot", "--namespace", podNS, "--store-in-cm", "--cm-namespace", history)...)
	end := time.Now()
	if res.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
	}
	t.Logf("oneshot over %d pods, storing: %s", nPods, end.Sub(start).Round(time.Millisecond))
	if recs := parseRecords(t, res.stdout); len(recs) != nPods {
		t.Fatalf("printed %d records, want %d", len(recs), nPods)
	}

	// The run may cross an hour boundary: expectations cover every hour it spanned.
	byHour := hourObjects(t, history, start, end)
	stored := map[string]string{}
	shards := 0
	for hour, objs := range byHour {
		total, totalJSON := 0, 0
		for i := range objs {
			cm := &objs[i]
			raw, err := json.Marshal(cm)
			if err != nil {
				t.Fatal(err)
			}
			values := valueBytes(cm)
			total += values
			totalJSON += len(raw)
			// The API server refuses a ConfigMap over 1 MiB of values; etcd a
			// request over 1.5 MiB. A JSON write carries binaryData in base64.
			if values >= 1<<20 || len(raw) >= 3<<19 {
				t.Errorf("%s: %d bytes of values, %d bytes as JSON: over the limits", cm.Name, values, len(raw))
			}
			t.Logf("%s: %d bytes of values, %d as JSON", cm.Name, values, len(raw))
		}
		t.Logf("hour %s: %d objects, %d bytes of values, %d bytes as JSON (one LIST page at limit 100)", store.NameFor(hour), len(objs), total, totalJSON)
		h, _, warnings := store.Decode(t.Context(), hour, asShards(objs))
		if len(warnings) > 0 {
			t.Fatalf("hour %s is damaged: %v", store.NameFor(hour), warnings)
		}
		for ref, seen := range h.Pods {
			if stored[ref.String()] != "" {
				t.Errorf("pod %s stored in two hours of a oneshot run", ref)
			}
			for _, s := range seen {
				if s.First.Before(start.Truncate(time.Second)) || s.Last.After(end) {
					t.Errorf("pod %s seen %s..%s, outside the run %s..%s", ref, s.First, s.Last, start, end)
				}
				stored[ref.String()] += s.Node + " "
			}
		}
		shards += len(objs)
	}
	if len(stored) != nPods {
		t.Fatalf("the store holds %d pods, want %d", len(stored), nPods)
	}
	for key, node := range onNode {
		if stored[key] != node+" " {
			t.Fatalf("pod %s stored on %q, want %s", key, stored[key], node)
		}
	}
	if shards < 2 {
		t.Fatalf("%d shards: the test wants the packed form over several shards", shards)
	}

	// Which pods were on one node: --at now, unless the run crossed an hour or
	// was long ago enough that its placements fall out of the 5-minute rule.
	node := nodeNames[7]
	var want []string
	for key, n := range onNode {
		if n == node {
			want = append(want, key)
		}
	}
	sort.Strings(want)
	window := []string{"--at", "now"}
	if len(byHour) > 1 || store.HourOf(time.Now()) != store.HourOf(start) || time.Since(start) > 4*time.Minute {
		window = []string{"--since", rfc3339(start.Add(-time.Second)), "--until", "now"}
		t.Logf("the run spanned hours or took long; asking %v", window)
	}
	nodeQuery := append([]string{"history", "node", node, "-o", "json", "--cm-namespace", history, "--kubeconfig", kubeconfig}, window...)
	queried := time.Now()
	res = runAshiato(t, nodeQuery...)
	t.Logf("history node over %d pods: %s", nPods, time.Since(queried).Round(time.Millisecond))
	rows := parseHistory(t, res)
	if res.stderr != "" {
		t.Errorf("stderr %q, want nothing", res.stderr)
	}
	checkNodeRows(t, rows, node, want, start, end)

	// Where one pod ran: the last 24h by default, as JSON and as a table.
	pod := pods[12345]
	res = runAshiato(t, "history", "pod", pod.Namespace+"/"+pod.Name, "-o", "json", "--cm-namespace", history, "--kubeconfig", kubeconfig)
	if rows := parseHistory(t, res); len(rows) != 1 || rows[0].Node != pod.NodeName || rows[0].key() != pod.Namespace+"/"+pod.Name {
		t.Errorf("history pod: %+v, want one row on %s", rows, pod.NodeName)
	}
	res = runAshiato(t, "history", "pod", pod.Namespace+"/"+pod.Name, "--cm-namespace", history, "--kubeconfig", kubeconfig)
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if res.code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "HOUR ") || !strings.Contains(lines[0], "   NODE   ") ||
		!strings.Contains(lines[1], "   "+pod.NodeName+"   ") {
		t.Errorf("history pod table (exit %d):\n%s", res.code, res.stdout)
	}

	// kubectl runs it as a plugin when kubectl-ashiato is on PATH.
	bin := t.TempDir()
	if err := os.Symlink(ashiatoBin, filepath.Join(bin, "kubectl-ashiato")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), kubectlPath(t), append([]string{"ashiato"}, nodeQuery...)...)
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl ashiato: %v; stderr:\n%s", err, stderr.String())
	}
	checkNodeRows(t, parseHistory(t, result{stdout: stdout.String()}), node, want, start, end)

	// Damage by hand one shard holding pods of the node: the query warns,
	// naming the object and key, and still answers from every other shard.
	var victim *corev1.ConfigMap
	var lost map[string]bool
find:
	for hour, objs := range byHour {
		for i := range objs {
			h, _, _ := store.Decode(t.Context(), hour, asShards(objs[i:i+1]))
			on := h.OnNode(node)
			if len(on) > 0 && len(on) < len(want) && objs[i].BinaryData[store.KeyPacked] != nil {
				victim, lost = &objs[i], map[string]bool{}
				for ref := range on {
					lost[ref.String()] = true
				}
				break find
			}
		}
	}
	if victim == nil {
		t.Fatal("no packed shard holds some of the node's pods")
	}
	victim.BinaryData[store.KeyPacked] = []byte("edited by hand")
	if _, err := client.CoreV1().ConfigMaps(history).Update(t.Context(), victim, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	res = runAshiato(t, nodeQuery...)
	rows = parseHistory(t, res)
	warning := fmt.Sprintf("ConfigMap %s/%s, key %s", history, victim.Name, store.KeyPacked)
	if !strings.Contains(res.stderr, warning) {
		t.Errorf("stderr %q: want a warning naming %s", res.stderr, warning)
	}
	rest := slices.DeleteFunc(slices.Clone(want), func(k string) bool { return lost[k] })
	checkNodeRows(t, rows, node, rest, start, end)
	t.Logf("damaged %s (%d of the node's %d pods): %d still answered", victim.Name, len(lost), len(want), len(rows))
}

// checkNodeRows: rows are exactly the pods want, all on node, seen within the run.
func checkNodeRows(t *testing.T, rows []historyRow, node string, want []string, start, end time.Time) {
	t.Helper()
	var got []string
	for _, r := range rows {
		got = append(got, r.key())
		if r.Node != node || r.FirstSeen == nil || r.LastSeen == nil {
			t.Fatalf("row %+v: want node %s with its times", r, node)
		}
		first, err1 := time.Parse(time.RFC3339, *r.FirstSeen)
		hour, err2 := time.Parse(time.RFC3339, r.Hour)
		if err1 != nil || err2 != nil || first.Before(start.Truncate(time.Second)) || first.After(end) || store.HourOf(first) != hour {
			t.Fatalf("row %+v: times outside the run %s..%s", r, start, end)
		}
	}
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Fatalf("history node %s answered %d pods, want %d", node, len(got), len(want))
	}
}

// TestRetention: a --oneshot run with --cm-retention 168h deletes exactly the
// hours that ended more than 168h ago, in every form (packed shards, the
// original tool's unlabelled-hour object), and nothing else: not a recent
// hour, not an object of the store's labels with another name, not an hour's
// name without the labels, not another namespace. --cm-retention 0 keeps all.
func TestRetention(t *testing.T) {
	requireCluster(t)
	const (
		history = "ret-history"
		other   = "ret-other"
	)
	seed(t, []string{"ret-pods", history, other}, fixture.PlacedPods("ret-pods", 3, nodes("ret", 2)))
	now := time.Now()
	hourAgo := func(h int) time.Time { return store.HourOf(now.Add(-time.Duration(h) * time.Hour)) }
	encode := func(namespace string, hour time.Time, shards int) []*corev1.ConfigMap {
		h := store.NewHour(hour)
		for i := range 20 {
			h.Add(store.PodRef{Namespace: "shop", Name: fmt.Sprintf("web-%d", i)}, "node-a", hour.Add(time.Minute))
		}
		cms, err := store.Encode(h, shards)
		if err != nil {
			t.Fatal(err)
		}
		return configMaps(namespace, cms)
	}
	labels := map[string]string{store.LabelApp: store.LabelAppValue, store.LabelType: store.LabelTypeValue}
	var objs []*corev1.ConfigMap
	old200 := encode(history, hourAgo(200), 4) // packed, 4 shards
	objs = append(objs, old200...)
	old170 := &corev1.ConfigMap{ // the original tool's: no hour label
		ObjectMeta: metav1.ObjectMeta{Name: store.NameFor(hourAgo(170)), Namespace: history, Labels: labels},
		Data:       map[string]string{"shop_web-0": "node-a"},
	}
	objs = append(objs, old170)
	objs = append(objs, encode(history, hourAgo(10), 0)...)
	objs = append(objs,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pod-ashiato-notes", Namespace: history, Labels: labels}, Data: map[string]string{"a": "b"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: store.NameFor(hourAgo(300)), Namespace: history}, Data: map[string]string{"shop_web-0": "node-a"}},
	)
	objs = append(objs, encode(other, hourAgo(200), 0)...)
	for _, cm := range objs {
		if _, err := client.CoreV1().ConfigMaps(cm.Namespace).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	names := func(namespace string) []string {
		list, err := client.CoreV1().ConfigMaps(namespace).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, cm := range list.Items {
			out = append(out, cm.Name)
		}
		sort.Strings(out)
		return out
	}
	before, beforeOther := names(history), names(other)
	// What a run adds: the hours it spanned.
	added := func(start, end time.Time) []string {
		var out []string
		for hour := range hourObjects(t, history, start, end) {
			if !slices.Contains(before, store.NameFor(hour)) {
				out = append(out, store.NameFor(hour))
			}
		}
		return out
	}

	start := time.Now()
	res := runAshiato(t, withKubeconfig("--oneshot", "--namespace", "ret-pods", "--store-in-cm", "--cm-namespace", history, "--cm-retention", "0")...)
	if res.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
	}
	kept := append(slices.Clone(before), added(start, time.Now())...)
	sort.Strings(kept)
	if got := names(history); !slices.Equal(got, kept) {
		t.Fatalf("--cm-retention 0 left\n %v\nwant\n %v", got, kept)
	}

	start = time.Now()
	res = runAshiato(t, withKubeconfig("--oneshot", "--namespace", "ret-pods", "--store-in-cm", "--cm-namespace", history, "--cm-retention", "168h")...)
	if res.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
	}
	deleted := []string{old170.Name}
	for _, cm := range old200 {
		deleted = append(deleted, cm.Name)
	}
	want := slices.DeleteFunc(append(slices.Clone(kept), added(start, time.Now())...), func(n string) bool { return slices.Contains(deleted, n) })
	want = slices.Compact(slices.Sorted(slices.Values(want)))
	if got := names(history); !slices.Equal(got, want) {
		t.Errorf("--cm-retention 168h left\n %v\nwant\n %v", got, want)
	}
	if got := names(other); !slices.Equal(got, beforeOther) {
		t.Errorf("another namespace changed: %v, was %v", got, beforeOther)
	}
	for _, name := range deleted {
		if !strings.Contains(res.stderr, name) {
			t.Errorf("stderr does not report deleting %s:\n%s", name, res.stderr)
		}
	}

	// Continuous mode under --leader-elect: the leader deletes at start.
	expired := encode(history, hourAgo(190), 0)[0]
	if _, err := client.CoreV1().ConfigMaps(history).Create(t.Context(), expired, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := startAshiato(t, withKubeconfig("--namespace", "ret-pods", "--store-in-cm", "--cm-namespace", history,
		"--leader-elect", "--leader-elect-lease", "ret-lease", "--cm-retention", "168h")...)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := client.CoreV1().ConfigMaps(history).Get(t.Context(), expired.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("continuous mode did not delete %s within 30s; stderr:\n%s", expired.Name, p.stderrText())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code := p.stop(30 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM; stderr:\n%s", code, p.stderrText())
	}
	if got := names(other); !slices.Equal(got, beforeOther) {
		t.Errorf("another namespace changed: %v, was %v", got, beforeOther)
	}
}

// TestRetentionForbidden: run as a service account that may read and write
// ConfigMaps but not delete them. Continuous mode finds out at start and
// exits 1 saying how to fix it; a --oneshot run still prints and stores
// everything, then fails on the expired hour it may not delete.
func TestRetentionForbidden(t *testing.T) {
	requireCluster(t)
	if cp == nil {
		t.Skip("needs the suite's own control plane to mint a service-account token")
	}
	const (
		pods    = "ret-forbid-pods"
		history = "ret-forbid"
	)
	seed(t, []string{pods, history}, fixture.PlacedPods(pods, 3, nodes("ret-forbid", 1)))
	rules := map[string]rbacv1.PolicyRule{
		pods:    {APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list", "watch"}},
		history: {APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "create", "update"}},
	}
	for ns, rule := range rules {
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "recorder", Namespace: ns}, Rules: []rbacv1.PolicyRule{rule}}
		binding := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "recorder", Namespace: ns},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "recorder"},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: history, Name: "recorder"}},
		}
		if _, err := client.RbacV1().Roles(ns).Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.RbacV1().RoleBindings(ns).Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	grantNodeReader(t, history, "recorder") // continuous mode also watches nodes
	token, err := cp.ServiceAccountToken(t.Context(), history, "recorder", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	restricted := filepath.Join(t.TempDir(), "kubeconfig")
	if err := cp.KubeconfigForToken(restricted, token); err != nil {
		t.Fatal(err)
	}
	args := []string{"--kubeconfig", restricted, "--namespace", pods, "--store-in-cm", "--cm-namespace", history, "--cm-retention", "168h"}
	const hint = "or set --cm-retention 0"

	p := startAshiato(t, args...)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("continuous mode without delete rights kept running")
	}
	if code := p.stop(time.Second); code != 1 || !strings.Contains(p.stderrText(), hint) {
		t.Errorf("continuous: exit %d, want 1 with %q; stderr:\n%s", code, hint, p.stderrText())
	}

	expired := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: store.NameFor(time.Now().Add(-200 * time.Hour)), Namespace: history,
			Labels: map[string]string{store.LabelApp: store.LabelAppValue, store.LabelType: store.LabelTypeValue}},
		Data: map[string]string{"shop_web-0": "node-a"},
	}
	if _, err := client.CoreV1().ConfigMaps(history).Create(t.Context(), expired, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res := runAshiato(t, append(args, "--oneshot")...)
	if res.code != 1 || !strings.Contains(res.stderr, hint) {
		t.Errorf("oneshot: exit %d, want 1 with %q; stderr:\n%s", res.code, hint, res.stderr)
	}
	if recs := parseRecords(t, res.stdout); len(recs) != 3 {
		t.Errorf("oneshot printed %d records, want the 3 pods", len(recs))
	}
	if stored := storedHours(t, history, start, time.Now()); len(stored) != 3 {
		t.Errorf("oneshot stored %v, want the 3 pods", stored)
	}
	if _, err := client.CoreV1().ConfigMaps(history).Get(t.Context(), expired.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("the expired hour: %v, want it kept", err)
	}
}
