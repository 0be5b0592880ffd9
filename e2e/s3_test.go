package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pod-ashiato/ashiato/e2e/fixture"
	"github.com/pod-ashiato/ashiato/e2e/s3server"
	"github.com/pod-ashiato/ashiato/src/store"
)

// s3Prefix is the key prefix of this file's tests.
const (
	s3Prefix       = "e2e"
	s3CheckTimeout = 10 * time.Second
)

// s3Env points every ashiato this test starts (and the test's own SDK) at
// the server through the standard AWS chain, and at nothing of the machine's.
func s3Env(t *testing.T, srv *s3server.Server) {
	t.Helper()
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kv := range append(srv.Env(), "AWS_CONFIG_FILE="+empty, "AWS_SHARED_CREDENTIALS_FILE="+empty,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PROFILE=", "AWS_SESSION_TOKEN=", "AWS_ENDPOINT_URL=", "AWS_ENDPOINT_URL_S3=") {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// s3Flags are the store flags of the server's bucket; the recorder adds
// --cluster-name, history --cluster.
func s3Flags(srv *s3server.Server) []string {
	return []string{"--store", "s3", "--s3-endpoint", srv.Endpoint, "--s3-bucket", srv.Bucket, "--s3-prefix", s3Prefix}
}

// s3Keys lists the bucket's keys under the cluster's prefix.
func s3Keys(t *testing.T, srv *s3server.Server, cluster string) []string {
	t.Helper()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(srv.Bucket), Prefix: aws.String(s3Prefix + "/" + cluster + "/")})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// historyJSON runs ashiato history ... -o json and decodes the rows; rows
// read from S3 carry "cluster", which must be the one asked for.
func historyJSON(t *testing.T, cluster string, args ...string) []historyRow {
	t.Helper()
	res := runAshiato(t, append(args, "-o", "json")...)
	if res.code != 0 {
		t.Fatalf("ashiato %v: exit %d; stderr:\n%s", args, res.code, res.stderr)
	}
	answer, rows, err := decodeHistory(res.stdout)
	if err != nil {
		t.Fatalf("ashiato %v: %v\n%.2000s", args, err, res.stdout)
	}
	for i, r := range rows {
		// One cluster read: the answer names it; several: each row.
		if got := r.Cluster + answer.Cluster; got != cluster {
			t.Fatalf("ashiato %v: row of cluster %q, want %q: %v", args, got, cluster, r)
		}
		rows[i].Cluster = ""
	}
	return rows
}

// sameRows compares two answers: the same pods, nodes and hours, and times
// within tolerance (two recorders see the same pods a moment apart).
func sameRows(a, b []historyRow, tolerance time.Duration) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d rows against %d", len(a), len(b))
	}
	near := func(x, y *string) bool {
		if x == nil || y == nil {
			return x == y
		}
		tx, _ := time.Parse(time.RFC3339, *x)
		ty, _ := time.Parse(time.RFC3339, *y)
		return tx.Sub(ty).Abs() <= tolerance
	}
	for i := range a {
		if a[i].key() != b[i].key() || a[i].Node != b[i].Node || a[i].Hour != b[i].Hour || !near(a[i].FirstSeen, b[i].FirstSeen) || !near(a[i].LastSeen, b[i].LastSeen) {
			return fmt.Sprintf("row %d: %+v against %+v", i, a[i], b[i])
		}
	}
	return ""
}

func podNames(pods []fixture.PodSpec) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.Namespace + "/" + p.Name
	}
	return out
}

// TestS3Store records into a real S3 server (SeaweedFS, TLS with its own CA,
// credentials from the AWS chain) through the ashiato binary and reads it
// back with ashiato history.
func TestS3Store(t *testing.T) {
	requireCluster(t)
	srv := s3server.StartT(t, s3server.Options{})
	s3Env(t, srv)
	s3 := s3Flags(srv)

	t.Run("watch mode answers as the ConfigMap store of the same run", func(t *testing.T) {
		ns, cmNS, cluster := "s3-watch", "s3-watch-cm", "e2e-watch"
		nodeNames := nodes("s3w", 3)
		if err := fixture.CreateNodes(t.Context(), client, nodeNames); err != nil {
			t.Fatal(err)
		}
		if err := fixture.CreateNamespaces(t.Context(), client, cmNS); err != nil {
			t.Fatal(err)
		}
		pods := fixture.PlacedPods(ns, 30, nodeNames)
		seed(t, []string{ns}, pods)
		common := []string{"--namespace", ns, "--interval", "2s", "--cm-flush-interval", "1s"}
		toS3 := startAshiato(t, withKubeconfig(append(append(common, s3...), "--cluster-name", cluster)...)...)
		toCM := startAshiato(t, withKubeconfig(append(common, "--store-in-cm", "--cm-namespace", cmNS)...)...)
		all := func(want int) func([]rec) bool {
			return func(recs []rec) bool { return len(keysSeen(recs)) >= want }
		}
		toS3.waitFor(time.Minute, "the first pods", all(len(pods)))
		toCM.waitFor(time.Minute, "the first pods", all(len(pods)))
		// Churn: some pods go, new ones come.
		deletePods(t, pods[:5])
		more := fixture.PlacedPods(ns+"-x", 5, nodeNames)
		for i := range more {
			more[i].Namespace = ns
		}
		if err := fixture.CreatePlacedPods(t.Context(), client, more, 4); err != nil {
			t.Fatal(err)
		}
		toS3.waitFor(time.Minute, "the new pods", all(len(pods)+len(more)))
		toCM.waitFor(time.Minute, "the new pods", all(len(pods)+len(more)))
		time.Sleep(3 * time.Second) // a flush or two of both
		if code := toS3.stop(time.Minute); code != 0 {
			t.Fatalf("S3 recorder exit %d; stderr:\n%s", code, toS3.stderrText())
		}
		if code := toCM.stop(time.Minute); code != 0 {
			t.Fatalf("ConfigMap recorder exit %d", code)
		}
		if keys := s3Keys(t, srv, cluster); len(keys) == 0 {
			t.Fatalf("nothing stored under %s/%s/", s3Prefix, cluster)
		}
		fromS3 := append(append([]string{}, s3...), "--cluster", cluster)
		fromCM := withKubeconfig("--cm-namespace", cmNS)
		since := []string{"--since", "2h"}
		for _, pod := range podNames(append(pods, more...)) {
			a := historyJSON(t, cluster, append(append([]string{"history", "pod", pod}, since...), fromS3...)...)
			b := historyJSON(t, "", append(append([]string{"history", "pod", pod}, since...), fromCM...)...)
			if len(a) == 0 {
				t.Fatalf("history pod %s from S3: no rows", pod)
			}
			if d := sameRows(a, b, 5*time.Second); d != "" {
				t.Fatalf("history pod %s: S3 and ConfigMaps differ: %s", pod, d)
			}
		}
		for _, node := range nodeNames {
			a := historyJSON(t, cluster, append(append([]string{"history", "node", node}, since...), fromS3...)...)
			b := historyJSON(t, "", append(append([]string{"history", "node", node}, since...), fromCM...)...)
			if d := sameRows(a, b, 5*time.Second); d != "" || len(a) < 10 {
				t.Fatalf("history node %s: %d rows from S3: %s", node, len(a), d)
			}
			at := rfc3339(time.Now())
			incS3 := runAshiato(t, append([]string{"history", "incident", node, "--at", at, "-o", "json"}, fromS3...)...)
			incCM := runAshiato(t, append([]string{"history", "incident", node, "--at", at, "-o", "json"}, fromCM...)...)
			if incS3.code != 0 || incCM.code != 0 {
				t.Fatalf("history incident: exit %d/%d\n%s\n%s", incS3.code, incCM.code, incS3.stderr, incCM.stderr)
			}
			var a2, b2 struct {
				Cluster string `json:"cluster"`
				Pods    []struct {
					Namespace string `json:"namespace"`
					Pod       string `json:"pod_name"`
				} `json:"pods"`
			}
			if err := json.Unmarshal([]byte(incS3.stdout), &a2); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(incCM.stdout), &b2); err != nil {
				t.Fatal(err)
			}
			if a2.Cluster != cluster || b2.Cluster != "" || len(a2.Pods) == 0 || fmt.Sprint(a2.Pods) != fmt.Sprint(b2.Pods) {
				t.Fatalf("history incident %s: S3 (cluster %q) %v\nConfigMaps %v", node, a2.Cluster, a2.Pods, b2.Pods)
			}
		}
	})

	t.Run("a restart, even a kill, loses nothing", func(t *testing.T) {
		ns, cluster := "s3-restart", "e2e-restart"
		nodeNames := nodes("s3r", 2)
		first := fixture.PlacedPods(ns, 20, nodeNames)
		seed(t, []string{ns}, first)
		args := withKubeconfig(append(append([]string{"--namespace", ns, "--interval", "2s", "--cm-flush-interval", "1s"}, s3...), "--cluster-name", cluster)...)
		stored := func(pods []fixture.PodSpec) bool {
			rows := 0
			for _, node := range nodeNames {
				res := runAshiato(t, append([]string{"history", "node", node, "--since", "2h", "--cluster", cluster, "-o", "json"}, s3...)...)
				_, got, err := decodeHistory(res.stdout)
				if res.code != 0 || err != nil {
					return false
				}
				rows += len(got)
			}
			return rows >= len(pods)
		}
		p := startAshiato(t, args...)
		p.waitFor(time.Minute, "the pods", func(recs []rec) bool { return len(keysSeen(recs)) >= len(first) })
		deadline := time.Now().Add(time.Minute)
		for !stored(first) {
			if time.Now().After(deadline) {
				t.Fatalf("the first pods are not in S3 within a minute")
			}
			time.Sleep(500 * time.Millisecond)
		}
		_ = p.cmd.Process.Kill() // SIGKILL: no final flush
		<-p.done
		second := fixture.PlacedPods(ns+"-b", 10, nodeNames)
		for i := range second {
			second[i].Namespace = ns
		}
		if err := fixture.CreatePlacedPods(t.Context(), client, second, 4); err != nil {
			t.Fatal(err)
		}
		q := startAshiato(t, args...)
		q.waitFor(time.Minute, "every pod", func(recs []rec) bool { return len(keysSeen(recs)) >= len(first)+len(second) })
		if code := q.stop(time.Minute); code != 0 {
			t.Fatalf("exit %d", code)
		}
		for _, pod := range podNames(append(first, second...)) {
			rows := historyJSON(t, cluster, append([]string{"history", "pod", pod, "--since", "2h", "--cluster", cluster}, s3...)...)
			if len(rows) == 0 {
				t.Fatalf("%s lost across the kill and restart", pod)
			}
		}
	})

	t.Run("an hour grows past one shard", func(t *testing.T) {
		ns, cluster := "s3-growth", "e2e-growth"
		nodeNames := nodes("s3g", 2)
		small := fixture.PlacedPods(ns, 50, nodeNames)
		seed(t, []string{ns}, small)
		args := withKubeconfig(append(append([]string{"--oneshot", "--namespace", ns}, s3...), "--cluster-name", cluster)...)
		if res := runAshiato(t, args...); res.code != 0 {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		hourKeys := func() []string {
			prefix := s3Prefix + "/" + cluster + "/" + store.HourOf(time.Now()).Format("2006/01/02/15") + "/"
			return slices.DeleteFunc(s3Keys(t, srv, cluster), func(k string) bool { return !strings.HasPrefix(k, prefix) })
		}
		if keys := hourKeys(); len(keys) != 1 {
			t.Fatalf("before the growth the hour has %v, want one shard", keys)
		}
		// Long random names compress poorly: 6,000 of them need several
		// shards (and namespace_name is too long for a plain key).
		rng := rand.New(rand.NewPCG(17, 17))
		big := make([]fixture.PodSpec, 6000)
		for i := range big {
			name := []byte(fmt.Sprintf("g%04d-", i))
			for len(name) < 250 {
				name = append(name, "abcdefghijklmnopqrstuvwxyz0123456789"[rng.IntN(36)])
			}
			big[i] = fixture.PodSpec{Namespace: ns, Name: string(name), NodeName: nodeNames[i%2]}
		}
		if err := fixture.CreatePlacedPods(t.Context(), client, big, 16); err != nil {
			t.Fatal(err)
		}
		if res := runAshiato(t, args...); res.code != 0 {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		keys := hourKeys()
		if len(keys) < 2 {
			t.Fatalf("after the growth the hour has %v, want several shards", keys)
		}
		t.Logf("the hour grew to %d shards", len(keys))
		total := 0
		for _, node := range nodeNames {
			rows := historyJSON(t, cluster, append([]string{"history", "node", node, "--at", "now", "--cluster", cluster}, s3...)...)
			total += len(rows)
		}
		if total != len(small)+len(big) {
			t.Fatalf("history node finds %d pods, want %d", total, len(small)+len(big))
		}
		for _, p := range append(small[:3], big[0], big[2999], big[5999]) {
			rows := historyJSON(t, cluster, append([]string{"history", "pod", p.Namespace + "/" + p.Name, "--cluster", cluster}, s3...)...)
			if len(rows) != 1 || rows[0].Node != p.NodeName {
				t.Fatalf("history pod %s: %v", p.Name, rows)
			}
		}
	})

	t.Run("two writers of one hour race through conditional writes", func(t *testing.T) {
		nsA, nsB, cluster := "s3-two-a", "s3-two-b", "e2e-two"
		nodeNames := nodes("s3t", 2)
		if err := fixture.CreateNamespaces(t.Context(), client, nsA, nsB); err != nil {
			t.Fatal(err)
		}
		addrA, addrB := freeAddr(t), freeAddr(t)
		writer := func(ns, addr string) *process {
			return startAshiato(t, withKubeconfig(append(append([]string{"--namespace", ns, "--interval", "2s", "--cm-flush-interval", "1s", "--metrics-addr", addr}, s3...), "--cluster-name", cluster)...)...)
		}
		a, b := writer(nsA, addrA), writer(nsB, addrB)
		waitReady(t, addrA, time.Minute)
		waitReady(t, addrB, time.Minute)
		// Both write the hour's shard 0 every second for 15 s: each write
		// makes the other's remembered ETag stale.
		var all []fixture.PodSpec
		for i := range 30 {
			for _, ns := range []string{nsA, nsB} {
				p := fixture.PodSpec{Namespace: ns, Name: fmt.Sprintf("%s-%d", ns, i), NodeName: nodeNames[i%2]}
				if err := fixture.CreatePlacedPods(t.Context(), client, []fixture.PodSpec{p}, 1); err != nil {
					t.Fatal(err)
				}
				all = append(all, p)
			}
			time.Sleep(500 * time.Millisecond)
		}
		time.Sleep(3 * time.Second)
		lost := func(addr string) float64 {
			return metric(t, addr, `ashiato_api_errors_total{reason="Conflict"}`) + metric(t, addr, `ashiato_api_errors_total{reason="AlreadyExists"}`)
		}
		refused := lost(addrA) + lost(addrB)
		for _, p := range []*process{a, b} {
			if code := p.stop(time.Minute); code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, p.stderrText())
			}
		}
		var missing []string
		for _, node := range nodeNames {
			rows := historyJSON(t, cluster, append([]string{"history", "node", node, "--since", "1h", "--cluster", cluster}, s3...)...)
			seen := map[string]bool{}
			for _, r := range rows {
				seen[r.key()] = true
			}
			for _, p := range all {
				if p.NodeName == node && !seen[p.Namespace+"/"+p.Name] {
					missing = append(missing, p.Name)
				}
			}
		}
		t.Logf("two writers: %d pods, %.0f conditional writes refused (Conflict/AlreadyExists), %d lost", len(all), refused, len(missing))
		if len(missing) > 0 {
			t.Fatalf("lost %d placements (%.0f conditional writes refused): %v", len(missing), refused, missing)
		}
		if refused == 0 {
			t.Fatalf("no conditional write was refused: the writers did not race")
		}
	})

	t.Run("store copy moves the ConfigMap history into S3", func(t *testing.T) {
		ns, cmNS, cluster := "s3-mig", "s3-mig-cm", "e2e-mig"
		nodeNames := nodes("s3m", 2)
		pods := fixture.PlacedPods(ns, 25, nodeNames)
		seed(t, []string{ns, cmNS}, pods)
		if res := runAshiato(t, withKubeconfig("--oneshot", "--namespace", ns, "--store-in-cm", "--cm-namespace", cmNS)...); res.code != 0 {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		// An hour the original tool wrote: no hour label, no times.
		old := store.HourOf(time.Now()).Add(-3 * time.Hour)
		legacy := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: store.NameFor(old), Labels: map[string]string{"app": "pod-ashiato", "type": "pod-node-mapping"}},
			Data: map[string]string{ns + "_legacy-0": nodeNames[0], ns + "_legacy-1": nodeNames[0] + "," + nodeNames[1]}}
		if _, err := client.CoreV1().ConfigMaps(cmNS).Create(t.Context(), legacy, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		copyArgs := append(append([]string{"store", "copy", "--kubeconfig", kubeconfig, "--cm-namespace", cmNS}, s3[2:]...), "--cluster-name", cluster)
		summary := regexp.MustCompile(`hours=(\d+) copied=(\d+) merged=(\d+) skipped=(\d+)`)
		for i, want := range []string{"hours=2 copied=2 merged=0 skipped=0", "hours=2 copied=0 merged=0 skipped=2"} {
			res := runAshiato(t, copyArgs...)
			if res.code != 0 || summary.FindString(res.stdout) != want {
				t.Fatalf("store copy run %d: exit %d, stdout %q, want %s; stderr:\n%s", i+1, res.code, res.stdout, want, res.stderr)
			}
			t.Logf("store copy run %d: %s", i+1, strings.TrimSpace(res.stdout))
		}
		fromS3 := append(append([]string{}, s3...), "--cluster", cluster)
		fromCM := withKubeconfig("--cm-namespace", cmNS)
		for _, node := range nodeNames {
			args := []string{"history", "node", node, "--since", "4h"}
			a := historyJSON(t, cluster, append(args, fromS3...)...)
			b := historyJSON(t, "", append(args, fromCM...)...)
			if d := sameRows(a, b, 0); d != "" || len(a) < len(pods)/2 {
				t.Fatalf("history node %s after the copy: %d rows: %s", node, len(a), d)
			}
		}
		rows := historyJSON(t, cluster, append([]string{"history", "pod", ns + "/legacy-1", "--since", "4h"}, fromS3...)...)
		if len(rows) != 2 || rows[0].FirstSeen != nil {
			t.Fatalf("the original tool's hour in S3: %+v, want two rows with unknown times", rows)
		}
	})

	t.Run("bad input exits 2 in one line", func(t *testing.T) {
		tests := []struct {
			name string
			env  map[string]string
			args []string
			want string
		}{
			{"no bucket", nil, []string{"--store", "s3"}, "--store s3 needs --s3-bucket"},
			{"bad endpoint URL", nil, []string{"--store", "s3", "--s3-bucket", srv.Bucket, "--s3-endpoint", "ftp://" + strings.TrimPrefix(srv.Endpoint, "https://")}, "invalid --s3-endpoint"},
			{"unreachable endpoint", nil, []string{"--store", "s3", "--s3-bucket", srv.Bucket, "--s3-endpoint", "https://127.0.0.1:1"}, "cannot use"},
			{"no such bucket", nil, []string{"--store", "s3", "--s3-bucket", "no-such-bucket", "--s3-endpoint", srv.Endpoint}, "no such bucket"},
			{"CA not trusted", map[string]string{"AWS_CA_BUNDLE": ""}, s3, "certificate"},
			{"wrong secret", map[string]string{"AWS_SECRET_ACCESS_KEY": "wrong"}, s3, "refused access"},
		}
		for _, tt := range tests {
			for _, cmd := range [][]string{{"--oneshot"}, {"history", "pod", "shop/a"}} {
				t.Run(tt.name+"/"+cmd[0], func(t *testing.T) {
					for k, v := range tt.env {
						t.Setenv(k, v)
					}
					args := append(append(append([]string{}, cmd...), "--kubeconfig", kubeconfig), tt.args...)
					res := runAshiato(t, args...)
					lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
					if res.code != 2 || len(lines) != 1 || !strings.Contains(lines[0], tt.want) || res.stdout != "" {
						t.Fatalf("exit %d, stderr %q; want exit 2 and one line with %q", res.code, res.stderr, tt.want)
					}
				})
			}
		}
	})
}

// keysSeen is the set of namespace/name the records name.
func keysSeen(recs []rec) map[string]bool {
	out := map[string]bool{}
	for _, r := range recs {
		out[r.key()] = true
	}
	return out
}
