package serve

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pod-ashiato/ashiato/src/access"
	"github.com/pod-ashiato/ashiato/src/report"
)

// TestReadsBeyondTheLimitGet503: with MaxReads reads under way (held in the
// store), the next page is answered 503 with Retry-After at once, without
// touching the store; once one ends, a page reads again.
func TestReadsBeyondTheLimitGet503(t *testing.T) {
	st := newStore()
	st.entered, st.block = make(chan struct{}), make(chan struct{})
	s := &Server{Store: st, MaxReads: 2, Clock: clocktesting.NewFakePassiveClock(at(90)), Auth: access.Open().Wrap}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := srv.Client().Get(srv.URL + "/node?node=n1&since=1h")
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	<-st.entered // both reads hold their slot, waiting in the store
	<-st.entered
	code, h, body := get(t, srv, http.MethodGet, "/pod?pod=shop/web-0&format=json")
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, "busy") {
		t.Errorf("beyond the limit: %d Retry-After=%q %s, want 503 with Retry-After", code, h.Get("Retry-After"), body)
	}
	if code, _, _ := get(t, srv, http.MethodGet, "/healthz"); code != 200 {
		t.Errorf("healthz %d while busy", code)
	}
	st.entered = nil
	close(st.block)
	wg.Wait()
	if code, _, _ := get(t, srv, http.MethodGet, "/pod?pod=shop/web-0"); code != 200 {
		t.Errorf("after the reads ended: %d, want 200", code)
	}
}

// TestBudget: a page whose window holds more stored bytes than the budget
// answers 422 and asks for a narrower window.
func TestBudget(t *testing.T) {
	s := &Server{Store: newStore(), Budget: 100, Clock: clocktesting.NewFakePassiveClock(at(90)), Auth: access.Open().Wrap}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, path := range []string{"/node?node=n1&since=2h", "/pod?pod=shop/web-0", "/", "/incident?node=n1&at=2026-11-26T14:02:00Z"} {
		code, _, body := get(t, srv, http.MethodGet, path)
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, "ask for a narrower window") {
			t.Errorf("%s: %d %.300s, want 422 and a narrower window", path, code, body)
		}
	}
	s.Budget = -1 // no bound
	if code, _, _ := get(t, srv, http.MethodGet, "/node?node=n1&since=2h"); code != 200 {
		t.Errorf("without a budget: %d", code)
	}
}

// TestClusterPicker: in a store of several clusters, the home page offers
// them; a page reads the cluster it names and its links keep it; a page
// that names none is asked to pick; one cluster is implicit; a pinned one
// offers no choice.
func TestClusterPicker(t *testing.T) {
	east, west := newStore(), incidentStore()
	east.name, west.name = "s3://b/p/east/", "s3://b/p/west/"
	multi := &clusterStore{fakeStore: &fakeStore{name: "s3://b/p/"}, clusters: map[string]*fakeStore{"east": east, "west": west}}
	srv := newServer(multi)
	defer srv.Close()

	code, _, body := get(t, srv, http.MethodGet, "/")
	if code != 200 || !strings.Contains(body, `id="clusters"`) || !strings.Contains(body, `href="/?cluster=east"`) || !strings.Contains(body, `href="/?cluster=west"`) {
		t.Errorf("home: %d, no picker:\n%s", code, body)
	}
	var home homeJSON
	getJSON(t, srv, "/?format=json", &home)
	if strings.Join(home.Clusters, ",") != "east,west" || len(home.Nodes) != 0 {
		t.Errorf("home twin %+v", home)
	}

	code, _, body = get(t, srv, http.MethodGet, "/node?node=n1&since=2h")
	if code != 400 || !strings.Contains(body, "pick one (east, west)") || !strings.Contains(body, `href="/?cluster=west"`) {
		t.Errorf("no cluster named: %d\n%s", code, body)
	}
	code, _, body = get(t, srv, http.MethodGet, "/node?node=n1&since=2h&cluster=east")
	if code != 200 || !strings.Contains(body, "s3://b/p/east/") || !strings.Contains(body, `cluster=east&amp;node=n2`) && !strings.Contains(body, "cluster=east") ||
		!strings.Contains(body, `<input type="hidden" name="cluster" value="east">`) || !strings.Contains(body, `class="current" aria-current="page">east`) {
		t.Errorf("east: %d\n%s", code, body)
	}
	if !strings.Contains(body, `href="/pod?cluster=east&amp;pod=shop%2Fweb-0`) {
		t.Errorf("the links do not keep the cluster")
	}
	var node report.NodeAnswer
	getJSON(t, srv, "/node?node=n1&at=2026-11-26T14:10:00Z&cluster=east&format=json", &node)
	if node.Cluster != "east" || len(node.Pods) != 2 {
		t.Errorf("east twin %+v", node)
	}
	getJSON(t, srv, "/node?node=n1&at=2026-11-26T14:01:00Z&cluster=west&format=json", &node)
	if node.Cluster != "west" || len(node.Pods) != 2 || node.Pods[0].Pod != "bare" {
		t.Errorf("west twin %+v", node)
	}
	var e errorJSON
	if code := getJSON(t, srv, "/pod?pod=shop/web-0&cluster=north&format=json", &e); code != 400 || !strings.Contains(e.Error, `no cluster "north"`) {
		t.Errorf("unknown cluster: %d %+v", code, e)
	}

	one := &clusterStore{fakeStore: &fakeStore{name: "s3://b/p/"}, clusters: map[string]*fakeStore{"east": east}}
	srv1 := newServer(one)
	defer srv1.Close()
	code, _, body = get(t, srv1, http.MethodGet, "/node?node=n1&since=2h")
	if code != 200 || strings.Contains(body, `id="clusters"`) || strings.Contains(body, "cluster=") {
		t.Errorf("one cluster: %d, picker or cluster links shown", code)
	}

	pinned := &Server{Store: east, Cluster: "east", Clock: clocktesting.NewFakePassiveClock(at(90)), Auth: access.Open().Wrap}
	srv2 := httptest.NewServer(pinned.Handler())
	defer srv2.Close()
	resp, err := srv2.Client().Get(srv2.URL + "/?format=json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pin homeJSON
	if err := json.NewDecoder(resp.Body).Decode(&pin); err != nil || len(pin.Clusters) != 0 || len(pin.Nodes) != 2 {
		t.Errorf("pinned: %+v %v", pin, err)
	}
}

// TestOneClientAfterAnother: the slot is free again before a page's answer
// reaches its client, so a client asking again at once is not refused.
func TestOneClientAfterAnother(t *testing.T) {
	s := &Server{Store: newStore(), MaxReads: 1, Clock: clocktesting.NewFakePassiveClock(at(90)), Auth: access.Open().Wrap}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for i := range 50 {
		if code, _, _ := get(t, srv, http.MethodGet, "/pod?pod=shop/web-0&format=json"); code != 200 {
			t.Fatalf("request %d: %d, want 200", i, code)
		}
	}
}
