package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/e2e/s3server"
	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/s3store"
)

var screenshotDir = flag.String("screenshots", "", "TestBrowser: the folder to save its screenshots in (docs/serve.md shows those from docs/img); default: a temporary one")

// chromiumPath is the browser TestBrowser drives: $ASHIATO_CHROMIUM, else
// Debian's chromium, which tools/test.sh installs (tools/chromium.sh).
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("ASHIATO_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no browser at %s (%v): run bash tools/chromium.sh, or set ASHIATO_CHROMIUM", p, err)
	}
	return p
}

// chromium runs headless Chromium once with a fresh profile and no network
// of its own beyond the page, and returns its stdout.
func chromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--disable-quic", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// dom is the page at u as Chromium built it.
func dom(t *testing.T, bin, u string) string {
	t.Helper()
	return string(chromium(t, bin, "--dump-dom", u))
}

// screenshot saves the page at u as a PNG of 1400x900 and checks it is one.
func screenshot(t *testing.T, bin, u, path string) {
	t.Helper()
	chromium(t, bin, "--window-size=1400,900", "--screenshot="+path, u)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != 1400 || b.Dy() != 900 {
		t.Errorf("screenshot %s is %dx%d, want 1400x900", path, b.Dx(), b.Dy())
	}
}

// TestBrowser starts `ashiato serve` over a stored incident and looks at it
// with headless Chromium, once for each store: the ConfigMap store as
// components/serve runs it (its own ServiceAccount, allowed only to get and
// list ConfigMaps), and the S3 store (SeaweedFS, one cluster under the
// prefix, so serve needs no --cluster). The node page lists the node's pods
// under its state band and links the incident; the incident page links each
// replacement; a hostile query comes back as text. serve authenticates
// every request (--authentication=kubernetes, 401 without a token), and the
// browser reaches it through tokenProxy with a cluster-wide reader's token,
// as through a login proxy. The ConfigMap store's
// screenshots go where -screenshots says (docs/serve.md's: docs/img).
func TestBrowser(t *testing.T) {
	requireCluster(t)
	browser := chromiumPath(t)
	stores := []struct {
		name string
		// setup stores the incident and returns the flags ashiato serve and
		// ashiato history read that store with.
		setup func(t *testing.T, inc *storedIncident) (serve, history []string)
		shots string
	}{
		{"configmap", func(t *testing.T, inc *storedIncident) ([]string, []string) {
			kubectl(t, render(t, "base"), "apply", "--server-side", "-f", "-")
			var rbac []byte
			for _, f := range []string{"serviceaccount.yaml", "rbac.yaml"} {
				b, err := os.ReadFile(filepath.Join(repoRoot(), "k8s", "components", "serve", f))
				if err != nil {
					t.Fatal(err)
				}
				rbac = append(append(rbac, b...), []byte("\n---\n")...)
			}
			kubectl(t, rbac, "apply", "--server-side", "-f", "-")
			inc.write(t, &configmapstore.Store{Client: client.CoreV1(), Namespace: deployNS})
			saKubeconfig, _ := accountKubeconfig(t, "pod-ashiato-serve")
			return []string{"--kubeconfig", saKubeconfig, "--cm-namespace", deployNS, "--authentication", "kubernetes"}, []string{"--cm-namespace", deployNS, "--kubeconfig", kubeconfig}
		}, *screenshotDir},
		{"s3", func(t *testing.T, inc *storedIncident) ([]string, []string) {
			srv := s3server.StartT(t, s3server.Options{})
			s3Env(t, srv)
			const cluster = "e2e-browser"
			st, err := s3store.New(t.Context(), s3store.Options{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Prefix: s3Prefix, Cluster: cluster})
			if err != nil {
				t.Fatal(err)
			}
			inc.write(t, st)
			// The reviews go to the API server: the admin's kubeconfig may
			// send them (the store is S3, it reads nothing else there).
			return append(s3Flags(srv), "--kubeconfig", kubeconfig, "--authentication", "kubernetes"), append(s3Flags(srv), "--cluster", cluster)
		}, ""},
	}
	// serve authenticates every request as components/serve runs it; a
	// browser sends no token, so it goes through tokenProxy, which adds a
	// cluster-wide reader's, as a login proxy would.
	_, tokens := accessSetup(t)
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			inc := newStoredIncident(time.Now())
			serveArgs, historyArgs := st.setup(t, inc)
			dir := st.shots
			if dir == "" {
				dir = t.TempDir()
			}
			browse(t, browser, inc, serveArgs, historyArgs, dir, tokens["reader"])
		})
	}
}

// browse is TestBrowser on one store: serveArgs and historyArgs are the
// store's flags, shots the folder of the screenshots.
func browse(t *testing.T, browser string, inc *storedIncident, serveArgs, historyArgs []string, shots, token string) {
	addr := freeAddr(t)
	p := startAshiato(t, append([]string{"serve", "--addr", addr}, serveArgs...)...)
	waitServing(t, p, "http://"+addr+"/healthz")
	if code, _ := serveGet(t, http.DefaultClient, http.MethodGet, "http://"+addr+"/", nil); code != http.StatusUnauthorized {
		t.Fatalf("serve without a token: %d, want 401", code)
	}
	base := tokenProxy(t, "http://"+addr, token)

	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	nodeURL := base + "/node?" + url.Values{"node": {"worker-2"}, "since": {stamp(inc.From)}, "until": {stamp(inc.To)}}.Encode()
	incidentURL := base + "/incident?" + url.Values{"node": {"worker-2"}, "at": {stamp(inc.At)}}.Encode()

	t.Run("node page", func(t *testing.T) {
		d := dom(t, browser, nodeURL)
		rows := section(t, d, `<table id="rows">`, `</table>`)
		for _, ref := range inc.OnNode {
			if !strings.Contains(rows, ">"+ref.Name+"</a>") {
				t.Errorf("the node page does not list pod %s", ref)
			}
		}
		if !regexp.MustCompile(`<g class="band" data-node="worker-2">`).MatchString(d) {
			t.Error("no state band for worker-2")
		}
		for _, state := range []string{"Unknown", "Ready", "cordoned", "NoExecute"} {
			if !strings.Contains(d, `data-state="`+state+`"`) {
				t.Errorf("the band lacks the %s state", state)
			}
		}
		if !strings.Contains(d, `id="incident-link" href="/incident?at=`+url.QueryEscape(stamp(inc.At.Truncate(time.Second)))+`&amp;node=worker-2"`) {
			t.Errorf("the node page does not link the incident at %s", stamp(inc.At))
		}
		if n := strings.Count(d, `class="move"`); n < 2 {
			t.Errorf("%d move marks, want search-0's move in and out", n)
		}
	})

	t.Run("incident page", func(t *testing.T) {
		d := dom(t, browser, incidentURL)
		for lost, next := range inc.Replacements {
			re := regexp.MustCompile(`<td class="replacement"><a href="/pod\?pod=[a-z]+%2F` + regexp.QuoteMeta(next) + `&amp;[^"]*">` + regexp.QuoteMeta(next) + `</a></td>`)
			if !re.MatchString(d) {
				t.Errorf("the replacement of %s, %s, is not linked", lost, next)
			}
		}
		for _, lost := range inc.Lost {
			if !regexp.MustCompile(regexp.QuoteMeta(lost) + `</a></td><td>[^<]*</td><td class="lost">never came back</td>`).MatchString(d) {
				t.Errorf("%s is not shown as never came back", lost)
			}
		}
		for _, bound := range inc.NodeBound {
			if !regexp.MustCompile(regexp.QuoteMeta(bound) + `</a></td>(<td[^>]*>[^<]*</td>)*<td>node-bound: the node did not come back within the window</td>`).MatchString(d) {
				t.Errorf("%s is not shown as node-bound, its node not back", bound)
			}
		}
		if !strings.Contains(d, `<b>9</b><span>pods on the node</span>`) || !strings.Contains(d, `<b>7</b><span>rescheduled</span>`) {
			t.Errorf("summary: %s", section(t, d, `id="summary"`, `</div></div>`))
		}
	})

	t.Run("a hostile query comes back as text", func(t *testing.T) {
		d := dom(t, browser, base+"/node?node="+url.QueryEscape(`<script>document.title="owned"</script>`))
		if strings.Contains(d, "<script") || strings.Contains(d, "owned</title>") {
			t.Errorf("a script element got into the page:\n%s", d)
		}
		if !strings.Contains(section(t, d, `id="error"`, `</div>`), `&lt;script&gt;document.title=`) {
			t.Errorf("the query is not shown back as text")
		}
	})

	t.Run("history -o svg", func(t *testing.T) {
		node := append([]string{"history", "node", "worker-2", "--since", stamp(inc.From), "--until", stamp(inc.To), "-o", "svg"}, historyArgs...)
		first, again := runAshiato(t, node...), runAshiato(t, node...)
		if first.code != 0 || !strings.HasPrefix(first.stdout, "<svg ") {
			t.Fatalf("history node -o svg: exit %d\n%.200s\n%s", first.code, first.stdout, first.stderr)
		}
		if first.stdout != again.stdout {
			t.Error("two runs over the same store drew different pictures")
		}
		for _, ref := range inc.OnNode {
			if !strings.Contains(first.stdout, `data-lane="`+ref.String()+`"`) {
				t.Errorf("history node -o svg has no lane for %s", ref)
			}
		}
		if !strings.Contains(first.stdout, `data-state="Unknown"`) {
			t.Error("history node -o svg has no state band")
		}
		res := runAshiato(t, append([]string{"history", "incident", "worker-2", "--at", stamp(inc.At), "-o", "svg"}, historyArgs...)...)
		if res.code != 0 || !strings.Contains(res.stdout, "web-7d9f8c6b5-k4m2p on worker-1 (+1m30s)") || !strings.Contains(res.stdout, "back on worker-3 (+4m42s)") {
			t.Errorf("history incident -o svg: exit %d, replacements not drawn\n%s", res.code, res.stderr)
		}
	})

	t.Run("twins and methods", func(t *testing.T) {
		var twin struct {
			Summary struct{ Pods, Rescheduled, NotRescheduled int } `json:"summary"`
		}
		resp := fetchOK(t, incidentURL+"&format=json")
		if err := json.Unmarshal(resp, &twin); err != nil {
			t.Fatal(err)
		}
		if twin.Summary.Pods != 9 || twin.Summary.Rescheduled != 7 {
			t.Errorf("incident twin summary %+v, want 9 pods, 7 rescheduled", twin.Summary)
		}
		if svg := fetchOK(t, nodeURL+"&format=svg"); !bytes.HasPrefix(svg, []byte("<svg ")) {
			t.Errorf("the picture twin is not an SVG: %.60s", svg)
		}
		r, err := http.Post(nodeURL, "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST: %d, want 405", r.StatusCode)
		}
	})

	screenshot(t, browser, nodeURL, filepath.Join(shots, "node-view.png"))
	screenshot(t, browser, incidentURL, filepath.Join(shots, "incident-view.png"))

	if code := p.stop(15 * time.Second); code != 0 {
		t.Errorf("ashiato serve exited %d after SIGTERM", code)
	}
}

// waitServing waits until the server answers url, or fails with its stderr.
func waitServing(t *testing.T, p *process, u string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("ashiato serve exited (%v):\n%s", p.err, p.stderrText())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ashiato serve not answering %s within 30s: %v\n%s", u, err, p.stderrText())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func fetchOK(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", u, resp.StatusCode, err, b)
	}
	return b
}

// section is the part of s from the first start to the next end after it.
func section(t *testing.T, s, start, end string) string {
	t.Helper()
	i := strings.Index(s, start)
	if i < 0 {
		t.Fatalf("the page has no %s", start)
	}
	j := strings.Index(s[i:], end)
	if j < 0 {
		return s[i:]
	}
	return s[i : i+j+len(end)]
}

// tokenProxy is a reverse proxy in front of upstream that adds the bearer
// token to every request, as a login proxy does for a browser (Chromium
// cannot set a header on a navigation); it returns its URL.
func tokenProxy(t *testing.T, upstream, token string) string {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		r.Out.Host = r.In.Host
		r.Out.Header.Set("Authorization", "Bearer "+token)
	}}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}
