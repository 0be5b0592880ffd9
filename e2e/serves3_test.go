package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/e2e/fixture"
	"github.com/pod-ashiato/ashiato/e2e/s3server"
	"github.com/pod-ashiato/ashiato/src/s3store"
)

// TestServeS3 runs `ashiato serve --store s3` against a real SeaweedFS over
// what the recorder stored there from the real API server (--oneshot, two
// clusters under one prefix) and a stored incident, and checks each page's
// JSON twin against `ashiato history` asking the same question: the pod,
// node and incident pages answer from S3 what the CLI answers. With several
// clusters under the prefix ?cluster= picks one and --cluster pins it; with
// one it is implicit.
func TestServeS3(t *testing.T) {
	requireCluster(t)
	srv := s3server.StartT(t, s3server.Options{})
	s3Env(t, srv)
	s3 := s3Flags(srv)
	const clusterA, clusterB = "e2e-serve-a", "e2e-serve-b"
	nodeNames := nodes("s3v", 2)
	if err := fixture.CreateNodes(t.Context(), client, nodeNames); err != nil {
		t.Fatal(err)
	}
	podsA := fixture.PlacedPods("s3-serve-a", 12, nodeNames)
	podsB := fixture.PlacedPods("s3-serve-b", 7, nodeNames)
	seed(t, []string{"s3-serve-a", "s3-serve-b"}, append(podsA, podsB...))
	record := func(ns, cluster string, store []string) {
		t.Helper()
		res := runAshiato(t, withKubeconfig(append(append([]string{"--oneshot", "--namespace", ns}, store...), "--cluster-name", cluster)...)...)
		if res.code != 0 {
			t.Fatalf("recording %s into %s: exit %d\n%s", ns, cluster, res.code, res.stderr)
		}
	}
	record("s3-serve-a", clusterA, s3)
	record("s3-serve-b", clusterB, s3)
	inc := newStoredIncident(time.Now())
	st, err := s3store.New(t.Context(), s3store.Options{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Prefix: s3Prefix, Cluster: clusterA})
	if err != nil {
		t.Fatal(err)
	}
	inc.write(t, st)

	// One window for both: from before the incident to after the recording.
	since, until := rfc3339(inc.From), rfc3339(time.Now().Add(time.Minute))
	window := []string{"--since", since, "--until", until}
	query := func(kv ...string) string {
		v := url.Values{"since": {since}, "until": {until}, "format": {"json"}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				v.Set(kv[i], kv[i+1])
			}
		}
		return v.Encode()
	}
	incidentNodes := []string{"worker-1", "worker-2", "worker-3"}
	allNodes := append(append([]string{}, nodeNames...), incidentNodes...)
	// samePages checks the pod and node pages of cluster (the ?cluster= of
	// pick, when not empty) against history with --cluster cluster.
	samePages := func(t *testing.T, base string, store []string, cluster, pick string, pods []string, nodes []string) {
		t.Helper()
		from := append(append(append([]string{}, window...), store...), "--cluster", cluster)
		for _, pod := range pods {
			got := servedRows(t, base+"/pod?"+query("pod", pod, "cluster", pick))
			want := historyJSON(t, cluster, append([]string{"history", "pod", pod}, from...)...)
			if len(want) == 0 {
				t.Fatalf("history pod %s --cluster %s: no rows", pod, cluster)
			}
			if d := sameRows(got, want, 0); d != "" {
				t.Errorf("pod page %s of cluster %s: %s", pod, cluster, d)
			}
		}
		for _, node := range nodes {
			got := servedRows(t, base+"/node?"+query("node", node, "cluster", pick))
			want := historyJSON(t, cluster, append([]string{"history", "node", node}, from...)...)
			if len(want) == 0 {
				t.Fatalf("history node %s --cluster %s: no rows", node, cluster)
			}
			if d := sameRows(got, want, 0); d != "" {
				t.Errorf("node page %s of cluster %s: %s", node, cluster, d)
			}
		}
	}

	t.Run("pages answer from S3 what the CLI answers", func(t *testing.T) {
		base := startServe(t, append(append([]string{}, s3...), "--cluster", clusterA)...)
		pods := append(podNames(podsA), "shop/web-7d9f8c6b5-x2x9q", "shop/search-0", "data/db-1", "monitoring/node-exporter-7xk2p")
		samePages(t, base, s3, clusterA, "", pods, allNodes)

		at := rfc3339(inc.At)
		res := runAshiato(t, append([]string{"history", "incident", "worker-2", "--at", at, "-o", "json", "--cluster", clusterA}, s3...)...)
		if res.code != 0 {
			t.Fatalf("history incident: exit %d\n%s", res.code, res.stderr)
		}
		twin := fetchOK(t, base+"/incident?"+url.Values{"node": {"worker-2"}, "at": {at}, "format": {"json"}}.Encode())
		got := incidentDoc(t, twin)
		// The twin says what the viewer could not see: the admin sees all.
		if h := got["hidden"]; !reflect.DeepEqual(h, map[string]any{"pods": 0.0, "namespaces": 0.0, "node_events": 0.0}) {
			t.Errorf("the admin's incident page hid %v", h)
		}
		if res.stdout != string(twin) {
			t.Errorf("the incident page's twin differs from history incident -o json:\n%s\n%s", twin, res.stdout)
		}
		if pods, _ := got["pods"].([]any); len(pods) < 9 {
			t.Errorf("the incident has %d pods, want the 9 on worker-2", len(pods))
		}
		// The other cluster's pods are not this one's.
		if rows := servedRows(t, base+"/pod?"+query("pod", podNames(podsB)[0])); len(rows) != 0 {
			t.Errorf("serve --cluster %s shows %s of cluster %s: %v", clusterA, podNames(podsB)[0], clusterB, rows)
		}
		for _, path := range []string{"/pod?pod=" + url.QueryEscape(podNames(podsA)[0]), "/node?node=" + nodeNames[0], "/incident?node=worker-2&at=" + url.QueryEscape(at)} {
			if html := fetchOK(t, base+path); !strings.Contains(string(html), "<html") {
				t.Errorf("%s is not a page: %.200s", path, html)
			}
		}
	})

	t.Run("--cluster pins it", func(t *testing.T) {
		base := startServe(t, append(append([]string{}, s3...), "--cluster", clusterA)...)
		node := nodeNames[0]
		want := historyJSON(t, clusterA, append(append(append([]string{"history", "node", node}, window...), s3...), "--cluster", clusterA)...)
		status, body := fetchAny(t, base+"/node?"+query("node", node, "cluster", clusterB))
		if status >= 400 && status < 500 {
			return // refused: the pinned server shows no other cluster
		}
		if status != http.StatusOK {
			t.Fatalf("?cluster=%s on serve --cluster %s: %d %.300s", clusterB, clusterA, status, body)
		}
		if d := sameRows(pageRows(t, body), want, 0); d != "" {
			t.Errorf("serve --cluster %s asked for ?cluster=%s answered neither its own cluster's rows nor a refusal: %s", clusterA, clusterB, d)
		}
	})

	t.Run("one cluster under the prefix is implicit", func(t *testing.T) {
		one := []string{"--store", "s3", "--s3-endpoint", srv.Endpoint, "--s3-bucket", srv.Bucket, "--s3-prefix", "e2e-one"}
		record("s3-serve-b", clusterB, one)
		base := startServe(t, one...)
		samePages(t, base, one, clusterB, "", podNames(podsB), nodeNames)
	})

	t.Run("several clusters: ?cluster= picks one", func(t *testing.T) {
		// The prefix holds two clusters and serve pins none: the pages
		// offer both and ?cluster= picks one.
		base := startServe(t, s3...)
		home := string(fetchOK(t, base+"/"))
		for _, c := range []string{clusterA, clusterB} {
			if !strings.Contains(home, "cluster="+c) {
				t.Errorf("the home page offers no link to cluster %s", c)
			}
		}
		samePages(t, base, s3, clusterA, clusterA, podNames(podsA)[:3], nodeNames)
		samePages(t, base, s3, clusterB, clusterB, podNames(podsB)[:3], nodeNames)
	})
}

// startServe starts ashiato serve with args on a free address and returns
// its base URL once /healthz answers. It runs in the laptop mode with the
// admin's kubeconfig (--authentication self, the default with a
// kubeconfig): the pages ask the API server what the admin may see, which
// is everything.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	addr := freeAddr(t)
	p := startAshiato(t, append([]string{"serve", "--addr", addr, "--kubeconfig", kubeconfig}, args...)...)
	waitServing(t, p, "http://"+addr+"/healthz")
	return "http://" + addr
}

// fetchAny is one GET: the status and the body.
func fetchAny(t *testing.T, u string) (int, []byte) {
	t.Helper()
	status, body := httpGet(u)
	if status == 0 {
		t.Fatalf("GET %s: no answer", u)
	}
	return status, []byte(body)
}

// servedRows is the rows of a pod or node page's JSON twin.
func servedRows(t *testing.T, u string) []historyRow {
	t.Helper()
	return pageRows(t, fetchOK(t, u))
}

// pageRows reads the rows of a pod page's twin (placements) or a node
// page's (pods), in the CLI's row schema (package report is both).
func pageRows(t *testing.T, body []byte) []historyRow {
	t.Helper()
	var page struct {
		Placements *[]historyRow `json:"placements"`
		Pods       *[]historyRow `json:"pods"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatalf("not a page's JSON twin (%v): %.500s", err, body)
	}
	switch {
	case page.Placements != nil:
		return *page.Placements
	case page.Pods != nil:
		return *page.Pods
	}
	t.Fatalf("no placements or pods in %.500s", body)
	return nil
}

// incidentDoc is an incident as JSON, without the cluster it names when
// read from S3.
func incidentDoc(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("not an incident (%v): %.500s", err, b)
	}
	delete(doc, "cluster")
	return doc
}
