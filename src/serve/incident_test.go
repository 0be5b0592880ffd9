package serve

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/report"
	"github.com/pod-ashiato/ashiato/src/store"
)

// incidentStore: n1 NotReady at 14:02; web-a (ReplicaSet web-1) replaced by
// web-c on n2 at 14:04, bare never back.
func incidentStore() *fakeStore {
	h := store.NewHour(h14)
	webA, webC, bare := store.PodRef{Namespace: "shop", Name: "web-a"}, store.PodRef{Namespace: "shop", Name: "web-c"}, store.PodRef{Namespace: "shop", Name: "bare"}
	for m := 0; m <= 2; m++ {
		h.Add(webA, "n1", at(m))
		h.Add(bare, "n1", at(m))
	}
	for m := 4; m <= 40; m++ {
		h.Add(webC, "n2", at(m))
	}
	h.SetOwner(webA, store.Owner{Kind: "ReplicaSet", Name: "web-1"})
	h.SetOwner(webC, store.Owner{Kind: "ReplicaSet", Name: "web-1"})
	h.AddNodeEvent(store.NodeEvent{Node: "n1", At: at(2), Event: "node_not_ready", Reason: "NodeStatusUnknown"})
	return &fakeStore{hours: []*store.Hour{h}}
}

func TestIncidentPage(t *testing.T) {
	st := incidentStore()
	srv := newServer(st)
	defer srv.Close()
	code, _, body := get(t, srv, http.MethodGet, "/incident?node=n1&at=2026-11-26T14:02:00Z")
	if code != 200 {
		t.Fatalf("%d\n%s", code, body)
	}
	for _, want := range []string{
		`<td class="replacement"><a href="/pod?pod=shop%2Fweb-c&amp;since=2026-11-26T11%3A02%3A00Z&amp;until=2026-11-26T15%3A30%3A00Z">web-c</a></td>`,
		`<td class="lost">never came back</td>`,
		`class="band" data-node="n1"`,
		`<b>2</b><span>pods on the node</span>`, `<b>1</b><span>rescheduled</span>`,
		`id="node-link" href="/node?at=2026-11-26T14%3A02%3A00Z&amp;node=n1"`,
		`node_not_ready`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the incident page lacks %s", want)
		}
	}
	if len(st.asked) == 0 || st.asked[0] != (hourRange{h14.Add(-2 * time.Hour), h14}) {
		t.Errorf("read %v, want 30m either side of 14:02", st.asked)
	}

	var doc report.IncidentAnswer
	getJSON(t, srv, "/incident?node=n1&at=2026-11-26T14:02:00Z&window=10m&format=json", &doc)
	if doc.Node != "n1" || doc.WindowSeconds != 600 || doc.Summary.Rescheduled != 1 || len(doc.Pods) != 2 ||
		doc.Pods[1].Next == nil || doc.Pods[1].Next.Pod != "web-c" || doc.Pods[0].Next != nil {
		t.Errorf("incident twin %+v", doc)
	}

	for _, bad := range []string{"/incident?node=n1", "/incident?node=n1&at=now&window=25h", "/incident?node=n1&at=now&window=-1m", "/incident?at=now"} {
		if code, _, _ := get(t, srv, http.MethodGet, bad); code != 400 {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
}

func TestNodePageLinksTheIncident(t *testing.T) {
	srv := newServer(incidentStore())
	defer srv.Close()
	_, _, body := get(t, srv, http.MethodGet, "/node?node=n1&since=2026-11-26T13:00:00Z&until=2026-11-26T15:00:00Z")
	if want := `id="incident-link" href="/incident?at=2026-11-26T14%3A02%3A00Z&amp;node=n1"`; !strings.Contains(body, want) {
		t.Errorf("the node page does not link the incident at the node's failure: want %s", want)
	}
	_, _, body = get(t, srv, http.MethodGet, "/node?node=n2&since=2026-11-26T13:00:00Z&until=2026-11-26T15:00:00Z")
	if strings.Contains(body, "incident-link") {
		t.Error("a node that never failed links an incident")
	}
}

// TestIncidentPageNodeBound: a DaemonSet's pod that stayed on its node, Ready
// again 11 s later, is node-bound, not "never came back".
func TestIncidentPageNodeBound(t *testing.T) {
	h := store.NewHour(h14)
	agent := store.PodRef{Namespace: "kube-system", Name: "agent-z1a"}
	for m := 0; m <= 40; m++ {
		h.Add(agent, "n1", at(m))
	}
	h.SetOwner(agent, store.Owner{Kind: "DaemonSet", Name: "agent"})
	h.AddNodeEvent(store.NodeEvent{Node: "n1", At: at(2), Event: "node_unknown", Reason: "NodeStatusUnknown"})
	h.AddNodeEvent(store.NodeEvent{Node: "n1", At: at(2).Add(11e9), Event: "node_ready", Reason: "KubeletReady"})
	srv := newServer(&fakeStore{hours: []*store.Hour{h}})
	defer srv.Close()
	_, _, body := get(t, srv, http.MethodGet, "/incident?node=n1&at=2026-11-26T14:02:00Z")
	if strings.Contains(body, "never came back") || !strings.Contains(body, "<td>node-bound: stayed</td>") || !strings.Contains(body, "<b>1</b><span>node-bound</span>") {
		t.Errorf("the incident page does not show the DaemonSet's pod as node-bound:\n%s", body)
	}
}
