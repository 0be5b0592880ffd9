package serve

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pod-ashiato/ashiato/src/access"
	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/report"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

var h14 = time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)

func at(min int) time.Time { return h14.Add(time.Duration(min) * time.Minute) }

func newStore() *fakeStore {
	h := store.NewHour(h14)
	for m := 0; m < 60; m += 5 {
		h.Add(store.PodRef{Namespace: "shop", Name: "web-0"}, "n1", at(m))
		if m < 30 {
			h.Add(store.PodRef{Namespace: "shop", Name: "web-1"}, "n1", at(m))
		} else {
			h.Add(store.PodRef{Namespace: "shop", Name: "web-1"}, "n2", at(m))
		}
	}
	h.SetOwner(store.PodRef{Namespace: "shop", Name: "web-0"}, store.Owner{Kind: "ReplicaSet", Name: "web-7d9f"})
	h.AddNodeEvent(store.NodeEvent{Node: "n1", At: at(20), Event: "node_not_ready", Reason: "KubeletNotReady"})
	return &fakeStore{hours: []*store.Hour{h}}
}

func newServer(st storeio.Store) *httptest.Server {
	s := &Server{Store: st, Clock: clocktesting.NewFakePassiveClock(at(90)), Auth: access.Open().Wrap}
	return httptest.NewServer(s.Handler())
}

func get(t *testing.T, srv *httptest.Server, method, path string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(body)
}

func TestMethods(t *testing.T) {
	srv := newServer(newStore())
	defer srv.Close()
	for _, path := range []string{"/", "/node?node=n1&since=2h", "/pod?pod=shop/web-0", "/healthz", "/nope"} {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, "PROPFIND"} {
			code, h, _ := get(t, srv, m, path)
			if code != http.StatusMethodNotAllowed || h.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d Allow=%q, want 405 Allow=GET, HEAD", m, path, code, h.Get("Allow"))
			}
		}
	}
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		if code, _, _ := get(t, srv, m, "/node?node=n1&since=2h"); code != http.StatusOK {
			t.Errorf("%s: %d, want 200", m, code)
		}
	}
}

func TestEscapesWhatItEchoes(t *testing.T) {
	srv := newServer(newStore())
	defer srv.Close()
	const evil = `<script>alert(1)</script>"'`
	q := func(s string) string {
		return strings.NewReplacer("<", "%3C", ">", "%3E", `"`, "%22", "'", "%27", "(", "%28", ")", "%29").Replace(s)
	}
	tests := []struct {
		path   string
		status int
	}{
		{"/node?node=" + q(evil), 400},
		{"/node?node=n1&at=" + q(evil), 400},
		{"/node?node=n1&since=" + q(evil), 400},
		{"/pod?pod=" + q(evil), 400},
		{"/pod?pod=shop/" + q(evil), 400},
		{"/node?node=n1&format=" + q(evil), 400},
		{"/" + q(evil), 404},
		{"/?pod=" + q(evil) + "&node=" + q(evil), 200}, // echoed into the form
	}
	for _, tt := range tests {
		for _, format := range []string{"", "&format=json"} {
			path := tt.path
			if format != "" && strings.Contains(path, "?") && !strings.Contains(path, "format=") {
				path += format
			}
			code, h, body := get(t, srv, http.MethodGet, path)
			if code != tt.status {
				t.Errorf("%s: %d, want %d", path, code, tt.status)
			}
			if strings.Contains(body, "<script") || strings.Contains(body, "alert(1)</") {
				t.Errorf("%s: the script came back as markup:\n%s", path, body)
			}
			if ct := h.Get("Content-Type"); strings.HasPrefix(ct, "text/html") && !strings.Contains(body, "&lt;script&gt;") {
				t.Errorf("%s: the query is not shown back as text", path)
			}
			if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") || h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: security headers missing: %v", path, h)
			}
		}
	}
	// The store's warnings are echoed too.
	_, _, body := get(t, srv, http.MethodGet, "/node?node=n1&since=2h")
	if !strings.Contains(body, "x_&lt;b&gt;") || strings.Contains(body, "x_<b>") {
		t.Error("a warning from the store was not escaped")
	}
}

func TestNodePage(t *testing.T) {
	st := newStore()
	srv := newServer(st)
	defer srv.Close()
	code, h, body := get(t, srv, http.MethodGet, "/node?node=n1&since=2026-11-26T14:00:00Z&until=2026-11-26T15:00:00Z")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %s", code, h.Get("Content-Type"))
	}
	for _, want := range []string{
		`<svg xmlns="http://www.w3.org/2000/svg"`, // the timeline, inline
		`class="band" data-node="n1"`,             // the node's state band
		`data-lane="shop/web-0"`, `data-lane="shop/web-1"`,
		`<a href="/pod?pod=shop%2Fweb-0&amp;since=2026-11-26T14%3A00%3A00Z&amp;until=2026-11-26T15%3A00%3A00Z">web-0</a>`,
		`ReplicaSet/web-7d9f`, `node_not_ready`, `KubeletNotReady`,
		`href="/node?format=json&amp;node=n1&amp;since=`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the node page lacks %s", want)
		}
	}
	if strings.Contains(body, "http://") && strings.Count(body, "http://") != strings.Count(body, "http://www.w3.org/2000/svg") {
		t.Error("the page refers to another site")
	}
}

func TestJSONTwins(t *testing.T) {
	srv := newServer(newStore())
	defer srv.Close()

	var node report.NodeAnswer
	getJSON(t, srv, "/node?node=n1&at=2026-11-26T14:10:00Z&format=json", &node)
	if node.Node != "n1" || !node.Window.At || node.Window.Since != "2026-11-26T14:10:00Z" {
		t.Errorf("node twin %+v", node)
	}
	if len(node.Pods) != 2 || node.Pods[0].Pod != "web-0" || node.Pods[0].OwnerKind != "ReplicaSet" || node.Pods[1].OwnerName != "" {
		t.Errorf("node twin pods %+v", node.Pods)
	}
	if len(node.NodeEvents) != 1 || node.NodeEvents[0].Event != "node_not_ready" {
		t.Errorf("node twin events %+v", node.NodeEvents)
	}

	var pod report.PodAnswer
	getJSON(t, srv, "/pod?pod=shop/web-1&since=3h&format=json", &pod)
	if pod.Pod != "shop/web-1" || len(pod.Placements) != 2 || pod.Placements[0].Node != "n1" || pod.Placements[1].Node != "n2" {
		t.Errorf("pod twin %+v", pod)
	}

	var home homeJSON
	getJSON(t, srv, "/?format=json", &home)
	if home.Since != "2026-11-26T14:30:00Z" || len(home.Nodes) != 2 || home.Nodes[0] != (nodeJSONCount{Node: "n1", Pods: 2}) {
		t.Errorf("home twin %+v", home)
	}

	var e errorJSON
	code := getJSON(t, srv, "/node?node=n1&since=300h&format=json", &e)
	if code != 400 || !strings.Contains(e.Error, "longer than") {
		t.Errorf("%d %+v, want 400 and the reason", code, e)
	}

	code, h, body := get(t, srv, http.MethodGet, "/node?node=n1&since=2h&format=svg")
	if code != 200 || h.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(body, "<svg ") {
		t.Errorf("svg twin: %d %s %.40s", code, h.Get("Content-Type"), body)
	}
}

func getJSON(t *testing.T, srv *httptest.Server, path string, v any) int {
	t.Helper()
	code, h, body := get(t, srv, http.MethodGet, path)
	if h.Get("Content-Type") != "application/json" {
		t.Fatalf("%s: Content-Type %q", path, h.Get("Content-Type"))
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, body)
	}
	return code
}

func TestWindows(t *testing.T) {
	st := newStore()
	srv := newServer(st)
	defer srv.Close()
	tests := []struct {
		path   string
		status int
		want   history.Window
	}{
		{"/node?node=n1", 200, history.Window{Since: at(90 - 6*60), Until: at(90)}},
		{"/node?node=n1&at=30m", 200, history.At(at(60))},
		{"/node?node=n1&at=2026-11-26T14:02", 200, history.At(at(2))},
		{"/node?node=n1&since=2026-11-26+14:05&until=2026-11-26T14:50:00Z", 200, history.Window{Since: at(5), Until: at(50)}},
		{"/pod?pod=shop/web-0", 200, history.Window{Since: at(90 - 24*60), Until: at(90)}},
		{"/node?node=n1&at=now&since=1h", 400, history.Window{}},
		{"/node?node=n1&since=1h&until=2h", 400, history.Window{}},
		{"/node?node=n1&since=200h", 400, history.Window{}},
		{"/node?node=n1&at=yesterday", 400, history.Window{}},
	}
	for _, tt := range tests {
		st.asked = nil
		code, _, _ := get(t, srv, http.MethodGet, tt.path)
		if code != tt.status {
			t.Errorf("%s: %d, want %d", tt.path, code, tt.status)
			continue
		}
		if want := (hourRange{store.HourOf(tt.want.Since).Add(-time.Hour), store.HourOf(tt.want.Until)}); tt.status == 200 && (len(st.asked) == 0 || st.asked[0] != want) {
			t.Errorf("%s read %v, want %v", tt.path, st.asked, tt.want)
		}
		if tt.status != 200 && len(st.asked) != 0 {
			t.Errorf("%s read the store for a bad request", tt.path)
		}
	}
}

func TestStoreError(t *testing.T) {
	srv := newServer(&fakeStore{err: errors.New("connection refused")})
	defer srv.Close()
	code, _, body := get(t, srv, http.MethodGet, "/node?node=n1&since=1h")
	if code != http.StatusBadGateway || !strings.Contains(body, "connection refused") {
		t.Errorf("%d %s", code, body)
	}
}

func TestHTTPServerTimeouts(t *testing.T) {
	s := NewHTTPServer("127.0.0.1:0", http.NotFoundHandler())
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 {
		t.Errorf("a timeout or limit is not set: %+v", s)
	}
	if s.WriteTimeout <= readTimeout {
		t.Errorf("WriteTimeout %s would cut a page still reading the store (%s)", s.WriteTimeout, readTimeout)
	}
	if s.Addr != "127.0.0.1:0" {
		t.Errorf("Addr %q", s.Addr)
	}
}

func TestReadOnlyTransport(t *testing.T) {
	var methods []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { methods = append(methods, r.Method) }))
	defer api.Close()
	c := &http.Client{Transport: ReadOnly(http.DefaultTransport)}
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		req, _ := http.NewRequest(m, api.URL+"/api/v1/namespaces/hist/configmaps", nil)
		resp, err := c.Do(req)
		if m == http.MethodGet || m == http.MethodHead {
			if err != nil {
				t.Errorf("%s refused: %v", m, err)
				continue
			}
			resp.Body.Close()
		} else if err == nil || !strings.Contains(err.Error(), "only reads") {
			t.Errorf("%s went through (%v)", m, err)
		}
	}
	if strings.Join(methods, ",") != "GET,HEAD" {
		t.Errorf("the API server saw %v, want GET,HEAD", methods)
	}
}

func TestServeShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv := NewHTTPServer("127.0.0.1:0", http.NotFoundHandler())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, srv, srv.ListenAndServe) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}
