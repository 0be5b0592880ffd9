package view

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/timeline"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

var h14 = time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)

func at(min int) time.Time { return h14.Add(time.Duration(min) * time.Minute) }

func ref(ns, name string) store.PodRef { return store.PodRef{Namespace: ns, Name: name} }

// twoHours is 14:00 and 15:00: web-0 on n1 throughout, web-1 on n1 until
// 14:40 and then on n2 (a move), db-0 on n2 then n1, cron-1 only in 14:00
// on n1, and old-0 on n1 in 14:00 with unknown times (the original tool's).
func twoHours(t *testing.T) []*store.Hour {
	t.Helper()
	a, b := store.NewHour(at(0)), store.NewHour(at(60))
	see := func(h *store.Hour, r store.PodRef, node string, from, to int) {
		for m := from; m <= to; m += 5 {
			h.Add(r, node, at(m))
		}
	}
	see(a, ref("shop", "web-0"), "n1", 2, 59)
	see(b, ref("shop", "web-0"), "n1", 60, 115)
	see(a, ref("shop", "web-1"), "n1", 3, 38)
	see(a, ref("shop", "web-1"), "n2", 43, 59)
	see(b, ref("shop", "web-1"), "n2", 60, 90)
	see(a, ref("data", "db-0"), "n2", 0, 20)
	see(a, ref("data", "db-0"), "n1", 25, 59)
	see(a, ref("batch", "cron-1"), "n1", 10, 30)
	a.Merge(&store.Hour{Pods: map[store.PodRef][]store.Seen{ref("legacy", "old-0"): {{Node: "n1"}}}})
	a.SetOwner(ref("shop", "web-0"), store.Owner{Kind: "ReplicaSet", Name: "web-7d9f"})
	a.SetOwner(ref("shop", "web-1"), store.Owner{Kind: "ReplicaSet", Name: "web-7d9f"})
	a.SetOwner(ref("data", "db-0"), store.Owner{Kind: "StatefulSet", Name: "db"})
	a.AddNodeEvent(store.NodeEvent{Node: "n1", At: at(36), Event: "node_not_ready", Reason: "KubeletNotReady"})
	a.AddNodeEvent(store.NodeEvent{Node: "n1", At: at(40), Event: "node_cordoned"})
	b.AddNodeEvent(store.NodeEvent{Node: "n1", At: at(70), Event: "node_ready", Reason: "KubeletReady"})
	b.AddNodeEvent(store.NodeEvent{Node: "n1", At: at(80), Event: "node_uncordoned"})
	b.AddNodeEvent(store.NodeEvent{Node: "n2", At: at(100), Event: "node_cordoned"})
	return []*store.Hour{a, b}
}

func TestCharts(t *testing.T) {
	hours := twoHours(t)
	span := history.Window{Since: at(0), Until: at(120)}
	links := &Links{Pod: func(r store.PodRef) string { return "/pod?pod=" + r.String() }, Node: func(n string) string { return "/node?node=" + n }}
	tests := []struct {
		name  string
		chart timeline.Chart
		check func(t *testing.T, c timeline.Chart)
	}{
		{"node-range", Node(hours, "n1", span, history.Node(hours, "n1", span), nil), func(t *testing.T, c timeline.Chart) {
			got := lanes(c)
			want := "batch/cron-1[14:10-14:30] data/db-0[n2>14:25-14:55] legacy/old-0[14:00-15:00] shop/web-0[14:02-15:55] shop/web-1[14:03-14:38>n2]"
			if got != want {
				t.Errorf("lanes\n%s\nwant\n%s", got, want)
			}
			if g, w := groups(c), "batch StatefulSet data/db legacy ReplicaSet shop/web-7d9f ReplicaSet shop/web-7d9f"; g != w {
				t.Errorf("groups %q, want %q", g, w)
			}
			if g, w := spans(c), "n1: NotReady 14:36-15:10, cordoned 14:40-15:20, Ready 15:10-16:00"; g != w {
				t.Errorf("bands %q, want %q", g, w)
			}
		}},
		{"node-at", Node(hours, "n1", history.At(at(30)), history.Node(hours, "n1", history.At(at(30))), nil), func(t *testing.T, c timeline.Chart) {
			if !c.From.Equal(at(0)) || !c.To.Equal(at(60)) {
				t.Errorf("axis %v..%v, want the hour of the bars", c.From, c.To)
			}
			if len(c.Marks) != 1 || !c.Marks[0].At.Equal(at(30)) {
				t.Errorf("marks %+v, want the instant", c.Marks)
			}
		}},
		{"pod", Pod(hours, ref("shop", "web-1"), span, history.Pod(hours, ref("shop", "web-1"), span), links), func(t *testing.T, c timeline.Chart) {
			if got, want := lanes(c), "shop/web-1[14:03-14:38>n2 n1>14:43-15:30]"; got != want {
				t.Errorf("lanes %s, want %s", got, want)
			}
			if g, w := spans(c), "n1: NotReady 14:36-15:10, cordoned 14:40-15:20, Ready 15:10-16:00 | n2: cordoned 15:40-16:00"; g != w {
				t.Errorf("bands %q, want %q", g, w)
			}
			if c.Lanes[0].Bars[1].Link != "/node?node=n2" || c.Lanes[0].Link != "/pod?pod=shop/web-1" {
				t.Errorf("links %q %q", c.Lanes[0].Bars[1].Link, c.Lanes[0].Link)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, tt.chart)
			var got bytes.Buffer
			if err := timeline.Render(&got, tt.chart); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tt.name+".svg")
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -update creates it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s differs (go test -update rewrites it after a deliberate change)", golden)
			}
		})
	}
}

func groups(c timeline.Chart) string {
	var out []string
	for _, l := range c.Lanes {
		out = append(out, l.Group)
	}
	return strings.Join(out, " ")
}

func spans(c timeline.Chart) string {
	var bands []string
	for _, b := range c.Bands {
		var s []string
		for _, sp := range b.Spans {
			s = append(s, string(sp.State)+" "+sp.Start.Format("15:04")+"-"+sp.End.Format("15:04"))
		}
		bands = append(bands, b.Label+": "+strings.Join(s, ", "))
	}
	return strings.Join(bands, " | ")
}

// lanes is a chart's lanes in short: label[from>start-end>to ...].
func lanes(c timeline.Chart) string {
	var out []string
	for _, l := range c.Lanes {
		var bars []string
		for _, b := range l.Bars {
			s := b.Start.Format("15:04") + "-" + b.End.Format("15:04")
			if b.From != "" {
				s = b.From + ">" + s
			}
			if b.To != "" {
				s += ">" + b.To
			}
			bars = append(bars, s)
		}
		out = append(out, l.Label+"["+strings.Join(bars, " ")+"]")
	}
	return strings.Join(out, " ")
}

func TestBand(t *testing.T) {
	from, to := at(0), at(60)
	tests := []struct {
		name    string
		changes []NodeChange
		want    string
	}{
		{"nothing recorded", nil, ""},
		{"ready before the window, NotReady in it", []NodeChange{{At: at(-10), Event: "node_ready"}, {At: at(20), Event: "node_not_ready"}},
			"Ready 14:00-14:20, NotReady 14:20-15:00"},
		{"flapping", []NodeChange{{At: at(10), Event: "node_not_ready"}, {At: at(12), Event: "node_ready"}, {At: at(15), Event: "node_unknown"}},
			"NotReady 14:10-14:12, Ready 14:12-14:15, Unknown 14:15-15:00"},
		{"deleted", []NodeChange{{At: at(5), Event: "node_ready"}, {At: at(30), Event: "node_deleted"}},
			"Ready 14:05-14:30, Deleted 14:30-15:00"},
		{"added again after deletion: unknown until a condition", []NodeChange{{At: at(5), Event: "node_deleted"}, {At: at(30), Event: "node_added"}, {At: at(35), Event: "node_ready"}},
			"Deleted 14:05-14:30, Ready 14:35-15:00"},
		{"cordoned and uncordoned", []NodeChange{{At: at(10), Event: "node_cordoned"}, {At: at(40), Event: "node_uncordoned"}},
			"cordoned 14:10-14:40"},
		{"uncordoned: it was cordoned before", []NodeChange{{At: at(40), Event: "node_uncordoned"}},
			"cordoned 14:00-14:40"},
		{"still cordoned", []NodeChange{{At: at(50), Event: "node_cordoned"}, {At: at(55), Event: "node_cordoned"}},
			"cordoned 14:50-15:00"},
		{"taints by key", []NodeChange{
			{At: at(10), Event: "node_tainted", Reason: "a:NoExecute"}, {At: at(20), Event: "node_tainted", Reason: "b:NoExecute"},
			{At: at(30), Event: "node_untainted", Reason: "a:NoExecute"}, {At: at(45), Event: "node_untainted", Reason: "c:NoExecute"}},
			"NoExecute 14:00-14:45, NoExecute 14:10-14:30, NoExecute 14:20-15:00"},
		{"changes after the window are not drawn", []NodeChange{{At: at(10), Event: "node_ready"}, {At: at(70), Event: "node_not_ready"}},
			"Ready 14:10-15:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range Band("n1", tt.changes, from, to, "").Spans {
				got = append(got, string(s.State)+" "+s.Start.Format("15:04")+"-"+s.End.Format("15:04"))
			}
			if g := strings.Join(got, ", "); g != tt.want {
				t.Errorf("got  %s\nwant %s", g, tt.want)
			}
		})
	}
}

// incidentHours: n1 goes NotReady at 14:02. On it: web-a (ReplicaSet web-1),
// replaced by web-c on n2 at 14:04; db-0 (a StatefulSet's), back under its
// name on n3 at 14:06; bare, which never comes back. web-b of another owner
// stays on n2 throughout.
func incidentHours() []*store.Hour {
	h := store.NewHour(at(0))
	see := func(r store.PodRef, node string, from, to int) {
		for m := from; m <= to; m++ {
			h.Add(r, node, at(m))
		}
	}
	webA, webC, db, bare := ref("shop", "web-a"), ref("shop", "web-c"), ref("data", "db-0"), ref("shop", "bare")
	see(webA, "n1", 0, 2)
	see(webC, "n2", 4, 40)
	see(db, "n1", 0, 2)
	see(db, "n3", 6, 40)
	see(bare, "n1", 0, 2)
	h.SetOwner(webA, store.Owner{Kind: "ReplicaSet", Name: "web-1"})
	h.SetOwner(webC, store.Owner{Kind: "ReplicaSet", Name: "web-1"})
	h.SetOwner(db, store.Owner{Kind: "StatefulSet", Name: "db"})
	h.AddNodeEvent(store.NodeEvent{Node: "n1", At: at(2), Event: "node_not_ready", Reason: "NodeStatusUnknown"})
	h.AddNodeEvent(store.NodeEvent{Node: "n1", At: at(3), Event: "node_tainted", Reason: "node.kubernetes.io/unreachable:NoExecute"})
	return []*store.Hour{h}
}

func TestIncidentChart(t *testing.T) {
	hours := incidentHours()
	inc := history.Investigate(hours, "n1", at(2), 30*time.Minute)
	links := &Links{Pod: func(r store.PodRef) string { return "/pod?pod=" + r.String() }}
	c := Incident(hours, inc, links)
	var got []string
	for _, l := range c.Lanes {
		for _, b := range l.Bars {
			got = append(got, fmt.Sprintf("%s %s-%s faint=%v to=%q link=%q label=%q", l.Label, b.Start.Format("15:04"), b.End.Format("15:04"), b.Faint, b.To, b.Link, b.Label))
		}
	}
	want := []string{
		`data/db-0 14:00-14:00 faint=false to="n3" link="" label=""`,
		`data/db-0 14:06-14:40 faint=true to="" link="/pod?pod=data/db-0" label="back on n3 (+4m0s)"`,
		`shop/bare 14:00-14:00 faint=false to="" link="" label=""`,
		`shop/web-a 14:00-14:00 faint=false to="" link="" label=""`,
		`shop/web-a 14:04-14:40 faint=true to="" link="/pod?pod=shop/web-c" label="web-c on n2 (+2m0s)"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("bars\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var tails []string
	for _, l := range c.Lanes {
		tails = append(tails, l.Label+" "+l.Bars[0].Maybe.Format("15:04"))
	}
	// Last seen is kept to 5 minutes: the pale tail runs to 14:05, or to the
	// replacement where it starts sooner in the same lane.
	if g, w := strings.Join(tails, ", "), "data/db-0 14:05, shop/bare 14:05, shop/web-a 14:04"; g != w {
		t.Errorf("tails %q, want %q", g, w)
	}
	if g, w := spans(c), "n1: NotReady 14:02-14:32, NoExecute 14:03-14:32"; g != w {
		t.Errorf("bands %q, want %q", g, w)
	}
	if !c.From.Equal(at(-28)) || !c.To.Equal(at(32)) || len(c.Marks) != 1 || !c.Marks[0].At.Equal(at(2)) {
		t.Errorf("axis %v..%v marks %v", c.From, c.To, c.Marks)
	}
	var svg bytes.Buffer
	if err := timeline.Render(&svg, c); err != nil {
		t.Fatal(err)
	}
	golden(t, "incident", svg.Bytes())
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".svg")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it after a deliberate change)", path)
	}
}
