package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pod-ashiato/ashiato/e2e/fixture"
	"github.com/pod-ashiato/ashiato/src/access"
	"github.com/pod-ashiato/ashiato/src/configmapstore"
)

// serveAccessNS holds the history TestServeAccess serves: its own, so that
// no other test's hours mix into the counts. The serve ServiceAccount and
// the shop-viewer (the laptop user, who may read the store but list pods in
// shop only) may read its ConfigMaps.
const serveAccessNS = "serve-access-store"

const serveAccessRBAC = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: store-reader, namespace: ` + serveAccessNS + `}
rules:
  - apiGroups: [""]
    resources: [configmaps]
    verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: store-reader, namespace: ` + serveAccessNS + `}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: store-reader}
subjects:
  - {kind: ServiceAccount, name: pod-ashiato-serve, namespace: ` + deployNS + `}
  - {kind: ServiceAccount, name: shop-viewer, namespace: ` + accessNS + `}
`

// counts prints h as its JSON says it (h's String is the page's sentence).
func counts(h access.Hidden) string {
	return fmt.Sprintf("{pods:%d namespaces:%d node_events:%d}", h.Pods, h.Namespaces, h.NodeEvents)
}

// servedPage is what the tests read of a JSON twin.
type servedPage struct {
	Pods []struct {
		Namespace string `json:"namespace"`
		Pod       string `json:"pod_name"`
	} `json:"pods"`
	Placements []json.RawMessage  `json:"placements"`
	NodeEvents []json.RawMessage  `json:"node_events"`
	Hidden     access.Hidden      `json:"hidden"`
	HiddenText string             `json:"hidden_text"`
	Summary    struct{ Pods int } `json:"summary"`
}

// serveGet asks serve with header; it returns the status and the body.
func serveGet(t *testing.T, c *http.Client, method, u string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if header != nil {
		req.Header = header
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func servedJSON(t *testing.T, c *http.Client, u string, header http.Header) servedPage {
	t.Helper()
	code, body := serveGet(t, c, http.MethodGet, u, header)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", u, code, body)
	}
	var p servedPage
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("GET %s: %v\n%s", u, err, body)
	}
	return p
}

// waitHealthy waits for serve's /healthz through c.
func waitHealthy(t *testing.T, p *process, c *http.Client, u string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		select {
		case <-p.done:
			t.Fatalf("ashiato serve exited (%v):\n%s", p.err, p.stderrText())
		default:
		}
		resp, err := c.Get(u)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("ashiato serve not answering %s: %v\n%s", u, err, p.stderrText())
	}
}

// TestServeAccess runs the ashiato serve binary as components/serve runs it
// (--authentication=kubernetes, its ServiceAccount's kubeconfig), here over
// TLS with a front proxy's CA, against the real API server, over a stored
// incident on worker-2 whose pods are in shop, data, batch and monitoring:
// tokens from TokenRequest, the front proxy's client certificate from a CA
// of the test. Then the laptop mode (--authentication=self) with a
// kubeconfig whose user may list pods in shop only.
func TestServeAccess(t *testing.T) {
	requireCluster(t)
	_, tokens := accessSetup(t)
	pki := newAccessPKI(t)
	ctx := t.Context()
	if err := fixture.CreateNamespaces(ctx, client, serveAccessNS); err != nil {
		t.Fatal(err)
	}
	kubectl(t, []byte(serveAccessRBAC), "apply", "--server-side", "-f", "-")
	inc := newStoredIncident(time.Now())
	inc.write(t, &configmapstore.Store{Client: client.CoreV1(), Namespace: serveAccessNS})
	caFile := filepath.Join(t.TempDir(), "front-proxy-ca.crt")
	if err := os.WriteFile(caFile, pki.caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	saKubeconfig, _ := accountKubeconfig(t, "pod-ashiato-serve")
	addr := freeAddr(t)
	p := startAshiato(t, "serve", "--addr", addr, "--kubeconfig", saKubeconfig, "--cm-namespace", serveAccessNS,
		"--authentication", "kubernetes", "--tls-cert-file", pki.servingCert, "--tls-private-key-file", pki.servingKey,
		"--requestheader-client-ca-file", caFile, "--requestheader-allowed-names", "front-proxy")
	base := "https://" + strings.Replace(addr, "127.0.0.1", "localhost", 1)
	plain := pki.client(nil)
	waitHealthy(t, p, plain, base+"/healthz")

	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	nodeQ := url.Values{"node": {"worker-2"}, "since": {stamp(inc.From)}, "until": {stamp(inc.To)}}
	nodeURL := base + "/node?" + nodeQ.Encode()
	incQ := url.Values{"node": {"worker-2"}, "at": {stamp(inc.At)}}
	incidentURL := base + "/incident?" + incQ.Encode()
	podURL := func(ref string) string {
		return base + "/pod?" + url.Values{"pod": {ref}, "since": {stamp(inc.From)}, "until": {stamp(inc.To)}}.Encode()
	}
	shopOnNode, otherNS := 0, map[string]bool{}
	for _, ref := range inc.OnNode {
		if ref.Namespace == accessShop {
			shopOnNode++
		} else {
			otherNS[ref.Namespace] = true
		}
	}
	reader, shop, nobody := bearerHeader(tokens["reader"]), bearerHeader(tokens["shop-viewer"]), bearerHeader(tokens["nobody"])

	t.Run("no token: 401", func(t *testing.T) {
		for _, u := range []string{base + "/", nodeURL, incidentURL + "&format=json"} {
			if code, _ := serveGet(t, plain, http.MethodGet, u, nil); code != http.StatusUnauthorized {
				t.Errorf("GET %s without a token: %d, want 401", u, code)
			}
		}
	})
	t.Run("an invalid token: 401", func(t *testing.T) {
		if code, _ := serveGet(t, plain, http.MethodGet, nodeURL, bearerHeader("not-a-token")); code != http.StatusUnauthorized {
			t.Errorf("%d, want 401", code)
		}
	})
	t.Run("healthz is open", func(t *testing.T) {
		if code, _ := serveGet(t, plain, http.MethodGet, base+"/healthz", nil); code != http.StatusOK {
			t.Errorf("%d, want 200", code)
		}
	})
	t.Run("POST is 405 with or without a token", func(t *testing.T) {
		for _, h := range []http.Header{nil, reader} {
			if code, _ := serveGet(t, plain, http.MethodPost, nodeURL, h); code != http.StatusMethodNotAllowed {
				t.Errorf("POST: %d, want 405", code)
			}
		}
	})
	t.Run("a cluster-wide reader sees every pod of the node", func(t *testing.T) {
		page := servedJSON(t, plain, nodeURL+"&format=json", reader)
		for _, ref := range inc.OnNode {
			if !slices.ContainsFunc(page.Pods, func(r struct {
				Namespace string `json:"namespace"`
				Pod       string `json:"pod_name"`
			}) bool {
				return r.Namespace == ref.Namespace && r.Pod == ref.Name
			}) {
				t.Errorf("the node page does not list %s", ref)
			}
		}
		if page.Hidden.Any() || len(page.NodeEvents) == 0 {
			t.Errorf("hidden %s, %d node events; want nothing hidden, the node's events", counts(page.Hidden), len(page.NodeEvents))
		}
	})
	t.Run("a reader of shop sees only shop's pods, and how many are hidden", func(t *testing.T) {
		page := servedJSON(t, plain, nodeURL+"&format=json", shop)
		names := map[string]bool{}
		for _, r := range page.Pods {
			if r.Namespace != accessShop {
				t.Errorf("node page shows %s/%s", r.Namespace, r.Pod)
			}
			names[r.Pod] = true
		}
		if len(names) != shopOnNode || page.Hidden.Pods != len(inc.OnNode)-shopOnNode || page.Hidden.Namespaces != len(otherNS) || page.Hidden.NodeEvents == 0 || len(page.NodeEvents) != 0 {
			t.Errorf("node page: %d pods (want shop's %d), hidden %s (want %d pods in %d namespaces and the node events), %d node events shown",
				len(names), shopOnNode, counts(page.Hidden), len(inc.OnNode)-shopOnNode, len(otherNS), len(page.NodeEvents))
		}
		_, html := serveGet(t, plain, http.MethodGet, nodeURL, shop)
		want := access.Hidden{Pods: page.Hidden.Pods, Namespaces: page.Hidden.Namespaces, NodeEvents: page.Hidden.NodeEvents}.String()
		if !strings.Contains(html, want) || strings.Contains(html, "db-1") {
			t.Errorf("the node page does not say %q, or names a hidden pod", want)
		}

		if pod := servedJSON(t, plain, podURL("shop/search-0")+"&format=json", shop); len(pod.Placements) == 0 || pod.Hidden.Any() {
			t.Errorf("shop's pod page: %d placements, hidden %s", len(pod.Placements), counts(pod.Hidden))
		}

		all := servedJSON(t, plain, incidentURL+"&format=json", reader)
		var incident struct {
			Pods []struct {
				Namespace string `json:"namespace"`
				Pod       string `json:"pod_name"`
			} `json:"pods"`
			Summary struct{ Pods int } `json:"summary"`
			Hidden  access.Hidden      `json:"hidden"`
		}
		code, body := serveGet(t, plain, http.MethodGet, incidentURL+"&format=json", shop)
		if code != http.StatusOK || json.Unmarshal([]byte(body), &incident) != nil {
			t.Fatalf("incident page: %d\n%s", code, body)
		}
		shopLost := 0
		for _, ip := range incident.Pods {
			if ip.Namespace != accessShop {
				t.Errorf("incident page shows %s/%s", ip.Namespace, ip.Pod)
			}
			shopLost++
		}
		if incident.Summary.Pods != shopLost || shopLost == 0 || all.Summary.Pods <= shopLost {
			t.Errorf("incident summary counts %d pods, shows %d, the reader's %d", incident.Summary.Pods, shopLost, all.Summary.Pods)
		}
		if incident.Hidden.Pods < all.Summary.Pods-shopLost || incident.Hidden.Namespaces != len(otherNS) {
			t.Errorf("incident hidden %s, want at least %d pods (and their replacements) in %d namespaces", counts(incident.Hidden), all.Summary.Pods-shopLost, len(otherNS))
		}
		_, html = serveGet(t, plain, http.MethodGet, incidentURL, shop)
		if !strings.Contains(html, incident.Hidden.String()+". The counts below cover the pods you may see only.") {
			t.Errorf("the incident page does not say what it hid (%q)", incident.Hidden)
		}
	})
	t.Run("another namespace's pod page says it is hidden", func(t *testing.T) {
		text := access.PodHiddenText("data", "db-1")
		pod := servedJSON(t, plain, podURL("data/db-1")+"&format=json", shop)
		if len(pod.Placements) != 0 || pod.HiddenText != text {
			t.Errorf("pod page of data/db-1: %d placements, hidden_text %q", len(pod.Placements), pod.HiddenText)
		}
		if _, html := serveGet(t, plain, http.MethodGet, podURL("data/db-1"), shop); !strings.Contains(html, text) || strings.Contains(html, "worker-3") {
			t.Errorf("the pod page does not say %q, or shows where it ran", text)
		}
	})
	t.Run("an identity with no rights is told everything was hidden", func(t *testing.T) {
		page := servedJSON(t, plain, nodeURL+"&format=json", nobody)
		if len(page.Pods) != 0 || page.Hidden.Pods != len(inc.OnNode) {
			t.Errorf("%d pods shown, hidden %s; want none shown, %d hidden", len(page.Pods), counts(page.Hidden), len(inc.OnNode))
		}
	})
	t.Run("forged identity headers without the proxy's certificate are ignored", func(t *testing.T) {
		for name, c := range map[string]*http.Client{"no certificate": plain, "another CA's certificate": pki.client(&pki.impostor)} {
			if code, body := serveGet(t, c, http.MethodGet, nodeURL+"&format=json", identityHeaders("system:admin", "system:masters")); code != http.StatusUnauthorized {
				t.Errorf("%s: %d, want 401\n%.300s", name, code, body)
			}
		}
		// With a token, forged headers do not change who it is.
		h := identityHeaders("system:admin", "system:masters")
		h.Set("Authorization", "Bearer "+tokens["shop-viewer"])
		if page := servedJSON(t, plain, nodeURL+"&format=json", h); page.Hidden.Pods != len(inc.OnNode)-shopOnNode {
			t.Errorf("a shop token with forged headers: hidden %s", counts(page.Hidden))
		}
	})
	t.Run("the front proxy's identity headers are honoured", func(t *testing.T) {
		page := servedJSON(t, pki.client(&pki.proxy), nodeURL+"&format=json", identityHeaders("oidc:joe@example.com", proxiedGroup))
		if len(page.Pods) == 0 || page.Hidden.Any() {
			t.Errorf("a proxied member of the readers' group: %d pods, hidden %s", len(page.Pods), counts(page.Hidden))
		}
	})
	if code := p.stop(15 * time.Second); code != 0 {
		t.Errorf("ashiato serve exited %d after SIGTERM", code)
	}

	t.Run("the laptop mode filters by the kubeconfig user's own rights", func(t *testing.T) {
		path, _ := accountKubeconfigIn(t, accessNS, "shop-viewer")
		addr := freeAddr(t)
		p := startAshiato(t, "serve", "--addr", addr, "--kubeconfig", path, "--cm-namespace", serveAccessNS)
		base := "http://" + addr
		waitHealthy(t, p, http.DefaultClient, base+"/healthz")
		page := servedJSON(t, http.DefaultClient, base+"/node?"+nodeQ.Encode()+"&format=json", nil)
		for _, r := range page.Pods {
			if r.Namespace != accessShop {
				t.Errorf("the laptop view shows %s/%s", r.Namespace, r.Pod)
			}
		}
		if len(page.Pods) == 0 || page.Hidden.Pods != len(inc.OnNode)-shopOnNode || page.Hidden.NodeEvents == 0 {
			t.Errorf("the laptop view: %d rows, hidden %s", len(page.Pods), counts(page.Hidden))
		}
		if _, html := serveGet(t, http.DefaultClient, http.MethodGet, base+"/node?"+nodeQ.Encode(), nil); !strings.Contains(html, "system:serviceaccount:"+accessNS+":shop-viewer") {
			t.Error("the laptop view does not name its user")
		}
		if code := p.stop(15 * time.Second); code != 0 {
			t.Errorf("ashiato serve exited %d after SIGTERM", code)
		}
	})
}
