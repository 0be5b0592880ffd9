package e2e

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/e2e/duckq"
	"github.com/pod-ashiato/ashiato/e2e/sqlsim"
	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/table"
)

// TestSQLSimulated runs docs/sql.md's queries over the tables of three
// simulated clusters (sqlsim: six hours each of failures, evictions,
// replacements and rollouts, observed every 37 s) and compares every answer
// with the history package's, which `ashiato history` prints: question a at
// 72 instants on two nodes, b over two windows for three pods, c and d over
// every failure. TestSQL asks the real commands about a live incident; this
// covers the cases one incident cannot (hour edges, flaps, NotReady before
// Unknown, deleted nodes, several placements of a pod within an hour).
func TestSQLSimulated(t *testing.T) {
	bin := duckq.RequireBin(t)
	blocks, err := duckq.ReadBlocks(filepath.Join(repoRoot(), "docs", "sql.md"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	start := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	clusters := map[string][]*store.Hour{}
	for i, c := range []string{"east", "west", "north"} {
		hours := sqlsim.Simulate(sqlsim.Options{Seed: uint64(i + 1), Start: start, Hours: 6, Nodes: 5, Interval: 37 * time.Second})
		clusters[c] = hours
		for i, h := range hours {
			var edge *table.Edge
			if i > 0 && hours[i-1].Start.Equal(h.Start.Add(-time.Hour)) {
				edge = table.EdgeOf(hours[i-1])
			}
			files, err := table.Encode(h, edge)
			if err != nil {
				t.Fatal(err)
			}
			for name, data := range files {
				path := filepath.Join(dir, filepath.FromSlash(table.Key("", name, c, h.Start)))
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	q := sqlQuestions{t: t, bin: bin, blocks: blocks, tables: dir}
	lines := func(each func(cluster string, hours []*store.Hour) []history.Row) []string {
		var out []string
		for c, hours := range clusters {
			for _, r := range each(c, hours) {
				out = append(out, rowLine(c, r))
			}
		}
		slices.Sort(out)
		return out
	}

	// a. Two nodes at 52 instants through the hours and 4 in the first
	// seconds of each hour, before its first observation of a pod that stays.
	var instants []time.Time
	for k := 0; k < 6*60; k += 7 {
		instants = append(instants, start.Add(time.Duration(k)*time.Minute+time.Duration(k%60)*time.Second))
	}
	for h := 1; h < 6; h++ {
		for _, s := range []int{0, 9, 20, 35} {
			instants = append(instants, start.Add(time.Duration(h)*time.Hour+time.Duration(s)*time.Second))
		}
	}
	rows := 0
	for _, at := range instants {
		for _, node := range []string{"node-0", "node-3"} {
			want := lines(func(_ string, hours []*store.Hour) []history.Row { return history.Node(hours, node, history.At(at)) })
			got := sqlPlacementLines(q.run("pods-on-node-at", map[string]string{"node": duckq.Quote(node), "instant": duckq.Timestamp(at)}))
			q.same(fmt.Sprintf("pods on %s at %s", node, rfc3339(at)), got, want)
			rows += len(want)
		}
	}
	// b. Three pods over the whole span and over a window that cuts hours.
	for _, ref := range []store.PodRef{{Namespace: "data", Name: "db-0"}, {Namespace: "data", Name: "db-2"}, {Namespace: "shop", Name: "debug"}} {
		for _, w := range []history.Window{{Since: start.Add(-time.Hour), Until: start.Add(10 * time.Hour)},
			{Since: start.Add(90*time.Minute + 13*time.Second), Until: start.Add(3*time.Hour + 2*time.Minute)}} {
			want := lines(func(_ string, hours []*store.Hour) []history.Row { return history.Pod(hours, ref, w) })
			got := sqlPlacementLines(q.run("pod-over-days", map[string]string{"namespace": duckq.Quote(ref.Namespace), "pod": duckq.Quote(ref.Name),
				"since": duckq.Timestamp(w.Since), "until": duckq.Timestamp(w.Until)}))
			q.same(fmt.Sprintf("where %s ran from %s to %s", ref, rfc3339(w.Since), rfc3339(w.Until)), got, want)
			rows += len(want)
		}
	}
	if rows < 500 {
		t.Errorf("questions a and b compared %d rows: the simulation plays too little", rows)
	}

	// c, d. Every failure, as Investigate answers it from the hours
	// `history incident` reads.
	since, until := start, start.Add(6*time.Hour)
	times := map[string][]float64{}
	lost := map[string]lostCount{}
	failures := 0
	for c, hours := range clusters {
		for _, f := range simulatedFailures(hours, since, until) {
			failures++
			first, last := store.HourOf(f.At.Add(-history.DefaultIncidentWindow)).Add(-time.Hour), store.HourOf(f.At.Add(history.DefaultIncidentWindow))
			read := slices.DeleteFunc(slices.Clone(hours), func(h *store.Hour) bool { return h.Start.Before(first) || h.Start.After(last) })
			inc := history.Investigate(read, f.Node, f.At, history.DefaultIncidentWindow)
			n := lost[c+" "+f.Node]
			lost[c+" "+f.Node] = lostCount{n.failures + 1, n.pods + inc.Summary.Pods}
			for _, p := range inc.Pods {
				if p.Outcome == history.Rescheduled {
					k := c + " " + cmp.Or(p.Owner.Kind, "None")
					times[k] = append(times[k], p.Next.After.Seconds())
				}
			}
		}
	}
	if failures < 15 || len(times) < 8 {
		t.Errorf("%d failures, %d owner kinds rescheduled: the simulation plays too little", failures, len(times))
	}
	q.sameTimes(times, since, until)
	q.sameLost(lost, since, until)
}

// simulatedFailures are the failures docs/sql.md defines: a node's
// node_not_ready, node_unknown or node_deleted whose previous readiness
// event was node_ready or node_added, or none, within [since, until].
func simulatedFailures(hours []*store.Hour, since, until time.Time) []store.NodeEvent {
	var out []store.NodeEvent
	before := map[string]string{}
	for _, h := range hours {
		for _, e := range h.NodeEvents("") {
			switch e.Event {
			case "node_not_ready", "node_unknown", "node_deleted":
				if b := before[e.Node]; (b == "" || b == "node_ready" || b == "node_added") && !e.At.Before(since) && !e.At.After(until) {
					out = append(out, e)
				}
			case "node_ready", "node_added":
			default:
				continue
			}
			before[e.Node] = e.Event
		}
	}
	return out
}

// rowLine is a history row as sqlPlacementLines prints an SQL row.
func rowLine(cluster string, r history.Row) string {
	first, last := "-", "-"
	if !r.First.IsZero() {
		first, last = rfc3339(r.First), rfc3339(r.Last)
	}
	return strings.Join([]string{cluster, r.Pod.Namespace, r.Pod.Name, r.Node, rfc3339(r.Hour), first, last}, " ")
}
