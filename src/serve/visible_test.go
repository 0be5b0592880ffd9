package serve

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pod-ashiato/ashiato/src/access"
	"github.com/pod-ashiato/ashiato/src/report"
	"github.com/pod-ashiato/ashiato/src/store"
)

// fakeViewer may list pods in the namespaces it names, get nodes if nodes,
// and fails every question when err is set.
type fakeViewer struct {
	namespaces map[string]bool
	nodes      bool
	err        error
}

func (v fakeViewer) Name() string { return "fake" }
func (v fakeViewer) MayListPods(_ context.Context, ns string) (bool, error) {
	return v.namespaces[ns], v.err
}
func (v fakeViewer) MayGetNodes(context.Context) (bool, error) { return v.nodes, v.err }

// as is the middleware that makes every request v's; it checks no token,
// so that a POST reaching it would be answered (the guard must say 405
// first).
func as(v access.Viewer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(access.WithViewer(r.Context(), v)))
		})
	}
}

func serverAs(st *fakeStore, v access.Viewer) *httptest.Server {
	s := &Server{Store: st, Clock: clocktesting.NewFakePassiveClock(at(90)), Auth: as(v)}
	return httptest.NewServer(s.Handler())
}

// mixedStore is newStore with a pod of namespace bank on n1 too.
func mixedStore() *fakeStore {
	st := newStore()
	for m := 0; m < 60; m += 5 {
		st.hours[0].Add(store.PodRef{Namespace: "bank", Name: "ledger-0"}, "n1", at(m))
	}
	return st
}

func pageJSON(t *testing.T, srv *httptest.Server, path string, v any) {
	t.Helper()
	code, _, body := get(t, srv, http.MethodGet, path)
	if code != http.StatusOK {
		t.Fatalf("%s: %d\n%s", path, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, body)
	}
}

// TestPagesShowOnlyWhatTheViewerMaySee: a viewer of shop only sees shop's
// pods on the node page and the home page's counts, and each page says
// (and its JSON counts) what it left out; without get nodes the node
// events are left out and counted.
func TestPagesShowOnlyWhatTheViewerMaySee(t *testing.T) {
	srv := serverAs(mixedStore(), fakeViewer{namespaces: map[string]bool{"shop": true}})
	defer srv.Close()

	var node report.NodeAnswer
	pageJSON(t, srv, "/node?node=n1&since=2026-11-26T14:00:00Z&until=2026-11-26T15:00:00Z&format=json", &node)
	for _, row := range node.Pods {
		if row.Namespace != "shop" {
			t.Errorf("node page shows %s/%s", row.Namespace, row.Pod)
		}
	}
	if len(node.Pods) == 0 || len(node.NodeEvents) != 0 {
		t.Errorf("node page: %d rows, %d node events; want shop's rows and no node event", len(node.Pods), len(node.NodeEvents))
	}
	if want := (report.Hidden{Pods: 1, Namespaces: 1, NodeEvents: 1}); node.Hidden != want {
		t.Errorf("node page hidden %+v, want %+v", node.Hidden, want)
	}
	_, _, body := get(t, srv, http.MethodGet, "/node?node=n1&since=2026-11-26T14:00:00Z&until=2026-11-26T15:00:00Z")
	if want := "1 pod in 1 namespace you may not list is not shown; 1 node lifecycle event is not shown: you may not get nodes."; !strings.Contains(body, want) {
		t.Errorf("node page does not say %q", want)
	}
	if strings.Contains(body, "ledger-0") {
		t.Error("node page names the hidden pod")
	}

	var home homeJSON
	pageJSON(t, srv, "/?format=json", &home)
	counts := map[string]int{}
	for _, n := range home.Nodes {
		counts[n.Node] = n.Pods
	}
	if counts["n1"] != 2 || counts["n2"] != 1 {
		t.Errorf("home counts %v, want n1:2 n2:1 (shop's only)", counts)
	}
	if want := (report.Hidden{Pods: 1, Namespaces: 1}); home.Hidden != want {
		t.Errorf("home hidden %+v, want %+v", home.Hidden, want)
	}

	var pod report.PodAnswer
	pageJSON(t, srv, "/pod?pod=bank/ledger-0&since=2026-11-26T14:00:00Z&until=2026-11-26T15:00:00Z&format=json", &pod)
	if len(pod.Placements) != 0 || pod.HiddenText != access.PodHiddenText("bank", "ledger-0") || pod.Hidden.Pods != 1 {
		t.Errorf("hidden pod's page: %+v", pod)
	}
	_, _, body = get(t, srv, http.MethodGet, "/pod?pod=bank/ledger-0&since=2026-11-26T14:00:00Z&until=2026-11-26T15:00:00Z")
	if !strings.Contains(body, access.PodHiddenText("bank", "ledger-0")) || strings.Contains(body, `id="timeline"`) {
		t.Errorf("hidden pod's page does not say so, or draws it:\n%s", body)
	}
	pageJSON(t, srv, "/pod?pod=shop/web-0&since=2026-11-26T14:00:00Z&until=2026-11-26T15:00:00Z&format=json", &pod)
	if len(pod.Placements) == 0 || pod.Hidden.Any() {
		t.Errorf("shop's pod page: %+v", pod)
	}
}

// TestEveryoneSeesEverything: the open viewer (--authentication none)
// hides nothing, and says nothing.
func TestEveryoneSeesEverything(t *testing.T) {
	srv := serverAs(mixedStore(), access.Everyone)
	defer srv.Close()
	var node report.NodeAnswer
	pageJSON(t, srv, "/node?node=n1&since=2026-11-26T14:00:00Z&until=2026-11-26T15:00:00Z&format=json", &node)
	if node.Hidden.Any() || len(node.NodeEvents) != 1 {
		t.Errorf("hidden %+v, %d node events", node.Hidden, len(node.NodeEvents))
	}
}

// TestIncidentShowsOnlyVisiblePods: the lost pods and replacements of a
// namespace the viewer may not list are left out and counted, and the
// summary counts the visible pods only.
func TestIncidentShowsOnlyVisiblePods(t *testing.T) {
	st := incidentStore()
	h := st.hours[0]
	bankA, bankB := store.PodRef{Namespace: "bank", Name: "api-a"}, store.PodRef{Namespace: "bank", Name: "api-b"}
	for m := 0; m <= 2; m++ {
		h.Add(bankA, "n1", at(m))
	}
	for m := 5; m <= 40; m++ {
		h.Add(bankB, "n2", at(m))
	}
	h.SetOwner(bankA, store.Owner{Kind: "ReplicaSet", Name: "api-1"})
	h.SetOwner(bankB, store.Owner{Kind: "ReplicaSet", Name: "api-1"})
	srv := serverAs(st, fakeViewer{namespaces: map[string]bool{"shop": true}, nodes: true})
	defer srv.Close()
	var inc report.IncidentAnswer
	pageJSON(t, srv, "/incident?node=n1&at=2026-11-26T14:02:00Z&format=json", &inc)
	if inc.Summary.Pods != 2 || inc.Summary.Rescheduled != 1 {
		t.Errorf("summary %+v, want 2 pods, 1 rescheduled (shop's)", inc.Summary)
	}
	for _, p := range inc.Pods {
		if p.Namespace != "shop" {
			t.Errorf("incident shows %s", p.Pod)
		}
	}
	if want := (report.Hidden{Pods: 2, Namespaces: 1}); inc.Hidden != want {
		t.Errorf("hidden %+v, want %+v", inc.Hidden, want)
	}
	_, _, body := get(t, srv, http.MethodGet, "/incident?node=n1&at=2026-11-26T14:02:00Z")
	if !strings.Contains(body, "2 pods in 1 namespace you may not list are not shown. The counts below cover the pods you may see only.") || strings.Contains(body, "api-a") {
		t.Errorf("incident page does not say what it hid, or shows it:\n%s", body)
	}
}

// TestNobodySeesNothing: a viewer with no rights sees a home page that says
// everything was hidden.
func TestNobodySeesNothing(t *testing.T) {
	srv := serverAs(mixedStore(), fakeViewer{})
	defer srv.Close()
	var home homeJSON
	pageJSON(t, srv, "/?format=json", &home)
	if len(home.Nodes) != 0 || home.Hidden.Pods != 3 || home.Hidden.Namespaces != 2 {
		t.Errorf("home %+v", home)
	}
}

// TestViewerErrorIs503: when the API server cannot be asked, every page is
// 503, and nothing is shown.
func TestViewerErrorIs503(t *testing.T) {
	srv := serverAs(mixedStore(), fakeViewer{namespaces: map[string]bool{"shop": true}, err: errors.New("connection refused")})
	defer srv.Close()
	for _, path := range []string{"/", "/?format=json", "/node?node=n1&since=2h", "/node?node=n1&since=2h&format=json",
		"/pod?pod=shop/web-0", "/incident?node=n1&at=2026-11-26T14:20:00Z&format=json"} {
		code, h, body := get(t, srv, http.MethodGet, path)
		if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || strings.Contains(body, "web-0</a>") {
			t.Errorf("%s: %d Retry-After=%q\n%s", path, code, h.Get("Retry-After"), body)
		}
		if !strings.Contains(body, "asking the API server what you may see: connection refused") {
			t.Errorf("%s does not say why:\n%s", path, body)
		}
	}
}

// TestPostIs405BeforeAuthentication: the method guard stands before the
// authentication: a POST without a token is 405, not 401; /healthz is open.
func TestPostIs405BeforeAuthentication(t *testing.T) {
	deny := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "401", http.StatusUnauthorized)
		})
	}
	s := &Server{Store: newStore(), Clock: clocktesting.NewFakePassiveClock(at(90)), Auth: deny}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	if code, _, _ := get(t, srv, http.MethodPost, "/node?node=n1"); code != http.StatusMethodNotAllowed {
		t.Errorf("POST without a token: %d, want 405", code)
	}
	if code, _, _ := get(t, srv, http.MethodGet, "/node?node=n1"); code != http.StatusUnauthorized {
		t.Errorf("GET without a token: %d, want 401", code)
	}
}

// TestNoAuthShowsNothing: a Server without Auth has no viewer in its
// requests' contexts: access.Nobody, who sees nothing.
func TestNoAuthShowsNothing(t *testing.T) {
	s := &Server{Store: mixedStore(), Clock: clocktesting.NewFakePassiveClock(at(90))}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	var node report.NodeAnswer
	pageJSON(t, srv, "/node?node=n1&since=2026-11-26T14:00:00Z&until=2026-11-26T15:00:00Z&format=json", &node)
	if len(node.Pods) != 0 || node.Hidden.Pods != 3 {
		t.Errorf("%+v", node)
	}
}
