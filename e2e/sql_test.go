package e2e

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/e2e/controlplane"
	"github.com/pod-ashiato/ashiato/e2e/duckq"
	"github.com/pod-ashiato/ashiato/e2e/fixture"
	"github.com/pod-ashiato/ashiato/e2e/s3server"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// TestSQL runs docs/sql.md's DuckDB queries (the page's own blocks, their
// variables bound) over the Parquet tables of two clusters and requires
// each answer to equal `ashiato history`'s for the same question: the same
// clusters, pods, nodes and times.
//
// Two recorders with --store s3, clusters east and west, watch one control
// plane with the controller-manager, the scheduler and kwok while a node
// fails under real workloads (TestIncident's play, smaller): a Deployment's
// two pods and a StatefulSet's come back on other nodes, a bare pod does
// not. Before them, west's bucket got closed hours written as the sink
// writes them: an incident two hours back (storedIncident) and a pod's
// stays over the past month. The tables are then read two ways: the bucket's
// tables/ keys copied byte for byte to a folder (this DuckDB has no httpfs;
// docs/sql.md says so), and an export folder.
func TestSQL(t *testing.T) {
	requireCluster(t)
	if cp == nil {
		t.Skip("needs the control-plane binaries: it starts a control plane of its own with the controller-manager, the scheduler and kwok")
	}
	bin := duckq.RequireBin(t)
	blocks, err := duckq.ReadBlocks(filepath.Join(repoRoot(), "docs", "sql.md"))
	if err != nil {
		t.Fatal(err)
	}
	srv := s3server.StartT(t, s3server.Options{})
	s3Env(t, srv)
	s3 := s3Flags(srv)
	ctx := t.Context()
	start := time.Now().UTC().Truncate(time.Second)

	// west's closed hours, before any recorder runs.
	west := openS3Store(t, srv, "west")
	past := newStoredIncident(start)
	past.write(t, west)
	month := writeMonth(t, west, start)

	plane := fixture.StartControlPlane(t, controlplane.Options{Kwok: true, Scheduler: true, ControllerManager: true,
		ControllerManagerArgs: []string{"--node-monitor-grace-period=" + incidentGrace.String(), "--node-monitor-period=1s"}})
	kc := fixture.Client(t, plane)
	const ns = "shop"
	if err := fixture.CreateNamespaces(ctx, kc, ns); err != nil {
		t.Fatal(err)
	}
	recorders := map[string]*process{}
	for _, cluster := range []string{"east", "west"} {
		addr := freeAddr(t)
		// --retention 0: west's month stays.
		recorders[cluster] = startAshiato(t, append(append([]string{"--kubeconfig", plane.KubeconfigPath(), "--cm-flush-interval", "1s",
			"--retention", "0", "--metrics-addr", addr}, s3...), "--cluster-name", cluster)...)
		waitReady(t, addr, time.Minute)
	}
	failing := newTestKubelet(t, kc, "worker-1", false)
	web := createWorkloads(t, kc, ns)
	if err := fixture.CreatePods(ctx, kc, []fixture.PodSpec{{Namespace: ns, Name: "solo", NodeName: "worker-1"}}, 1); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 2*time.Minute, "the 4 pods on worker-1", func() error { return podsOn(ctx, kc, ns, "worker-1", 4) })
	if err := fixture.CreateKwokNodes(ctx, kc, []string{"worker-2", "worker-3"}); err != nil {
		t.Fatal(err)
	}
	for _, r := range recorders {
		r.waitFor(time.Minute, "placements of the 4 pods", func(rs []rec) bool { return len(keysSeen(rs)) >= 4 })
	}
	failing.stop()
	failed := map[string]time.Time{} // cluster -> when its recorder saw worker-1 Unknown
	for cluster, r := range recorders {
		e := r.waitForNode(2*incidentGrace+time.Minute, "worker-1 Unknown", nodeEvent("worker-1", "node_unknown", 1))
		if failed[cluster], err = time.Parse(time.RFC3339, e.Timestamp); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(3 * time.Second) // evicted a little after the node is lost
	if lost := deletePodsOn(t, kc, ns, "worker-1"); len(lost) != 4 {
		t.Fatalf("deleted %d pods on worker-1, want 4: %v", len(lost), lost)
	}
	for _, r := range recorders {
		r.waitFor(2*time.Minute, "the replacements", func(rs []rec) bool {
			placed := 0
			for _, x := range rs {
				if (x.Event == "scheduled" && x.OwnerName == web && x.Node != "worker-1") || (x.Event == "moved" && x.Pod == "db-0") {
					placed++
				}
			}
			return placed >= 3
		})
	}
	time.Sleep(2 * time.Second) // one more flush; stop flushes the rest
	for cluster, r := range recorders {
		if code := r.stop(30 * time.Second); code != 0 {
			t.Fatalf("recorder %s: exit %d; stderr:\n%s", cluster, code, r.stderrText())
		}
	}
	end := time.Now().UTC().Truncate(time.Second)

	// The tables, both ways.
	for _, cluster := range []string{"east", "west"} {
		compactTables(t, srv, cluster)
	}
	mirror := mirrorTables(t, srv)
	export := exportTables(t, srv, "east", "west")
	// The export writes what the compaction wrote, byte for byte.
	if a, b := folderFiles(t, filepath.Join(mirror, s3Prefix)), folderFiles(t, export); !maps.EqualFunc(a, b, bytes.Equal) {
		t.Errorf("the bucket's tables (%d files: %v) and the export (%d files: %v) differ", len(a), slices.Sorted(maps.Keys(a)), len(b), slices.Sorted(maps.Keys(b)))
	}

	q := sqlQuestions{t: t, bin: bin, blocks: blocks, s3: s3}
	since := end.Add(-720 * time.Hour)
	failures := []failure{
		{"east", "worker-1", failed["east"]},
		{"west", "worker-1", failed["west"]},
		{"west", "worker-2", past.At},
	}
	for name, dir := range map[string]string{"the bucket's tables": filepath.Join(mirror, s3Prefix), "an export folder": export} {
		t.Run(name, func(t *testing.T) {
			q := q
			q.t, q.tables = t, dir
			q.podsOnNodeAt("worker-1", failed["east"], 2)
			q.podsOnNodeAt("worker-2", past.At, 1)
			q.podOverDays(month, since, end)
			q.podOverDays(store.PodRef{Namespace: ns, Name: "db-0"}, since, end)
			q.timeToReschedule(failures, since, end)
			q.nodesLostMost(failures, since, end)
		})
	}
}

// writeMonth stores a pod's stays over the past 30 days in st, as the sink
// writes them: data/db-1 on node month-N for an hour now and then, so that
// `history pod --since 720h` has days to read. Returns the pod.
func writeMonth(t *testing.T, st storeio.Store, now time.Time) store.PodRef {
	t.Helper()
	ref := store.PodRef{Namespace: "data", Name: "db-1"}
	for i, back := range []time.Duration{719 * time.Hour, 400 * time.Hour, 399 * time.Hour, 100 * time.Hour, 30 * time.Hour} {
		hour := store.HourOf(now.Add(-back))
		h := store.NewHour(hour)
		node := fmt.Sprintf("month-%d", i%3)
		for at := hour.Add(time.Duration(i) * time.Minute); at.Before(hour.Add(time.Hour)); at = at.Add(time.Minute) {
			h.Add(ref, node, at)
		}
		h.SetOwner(ref, store.Owner{Kind: "StatefulSet", Name: "db"})
		storeHour(t, st, h)
	}
	return ref
}

// failure is one node loss that `history incident` is asked about.
type failure struct {
	cluster, node string
	at            time.Time
}

// sqlQuestions asks docs/sql.md's queries over the tables in a folder and
// the same questions of `ashiato history` over the bucket.
type sqlQuestions struct {
	t      *testing.T
	bin    string
	blocks map[string]string
	s3     []string // ashiato's store flags
	tables string   // the folder holding tables/v1/...
}

// run runs a block after the folder and the views, with vars bound.
func (q sqlQuestions) run(name string, vars map[string]string) []duckq.Row {
	q.t.Helper()
	setup, err := duckq.Bind(q.blocks["tables-folder"], map[string]string{"tables": duckq.Quote(q.tables)})
	if err != nil {
		q.t.Fatal(err)
	}
	query, err := duckq.Bind(q.blocks[name], vars)
	if err != nil {
		q.t.Fatalf("%s: %v", name, err)
	}
	res, err := duckq.Run(q.t.Context(), q.bin, q.tables, setup+q.blocks["views"]+query)
	if err != nil {
		q.t.Fatal(err)
	}
	return res.Rows
}

// history runs `ashiato history ... -o json` on the bucket and decodes it
// into into.
func (q sqlQuestions) history(into any, args ...string) {
	q.t.Helper()
	res := runAshiato(q.t, append(append(args, q.s3...), "-o", "json")...)
	if res.code != 0 {
		q.t.Fatalf("ashiato %v: exit %d; stderr:\n%s", args, res.code, res.stderr)
	}
	if err := json.Unmarshal([]byte(res.stdout), into); err != nil {
		q.t.Fatalf("ashiato %v: %v\n%.2000s", args, err, res.stdout)
	}
}

// sqlPlacementLines are the placements rows of an SQL answer as history's.
func sqlPlacementLines(rows []duckq.Row) []string {
	lines := make([]string, len(rows))
	for i, r := range rows {
		s := func(k string) string {
			if r[k] == nil {
				return "-"
			}
			return fmt.Sprint(r[k])
		}
		lines[i] = strings.Join([]string{s("cluster"), s("namespace"), s("pod"), s("node"), s("hour_start"), s("first_seen"), s("last_seen")}, " ")
	}
	slices.Sort(lines)
	return lines
}

// historyLines are the rows of `history pod|node -o json` as
// sqlPlacementLines prints an SQL answer's.
func (q sqlQuestions) historyLines(args ...string) []string {
	q.t.Helper()
	res := runAshiato(q.t, append(append(args, q.s3...), "-o", "json")...)
	if res.code != 0 {
		q.t.Fatalf("ashiato %v: exit %d; stderr:\n%s", args, res.code, res.stderr)
	}
	answer, rows, err := decodeHistory(res.stdout)
	if err != nil {
		q.t.Fatalf("ashiato %v: %v\n%.2000s", args, err, res.stdout)
	}
	opt := func(s *string) string {
		if s == nil {
			return "-"
		}
		return *s
	}
	lines := make([]string, len(rows))
	for i, r := range rows {
		// One cluster read: the answer names it; several: each row.
		lines[i] = strings.Join([]string{r.Cluster + answer.Cluster, r.Namespace, r.Pod, r.Node, r.Hour, opt(r.FirstSeen), opt(r.LastSeen)}, " ")
	}
	slices.Sort(lines)
	return lines
}

// same fails the test when the SQL answer is not history's.
func (q sqlQuestions) same(what string, sql, hist []string) {
	q.t.Helper()
	if !slices.Equal(sql, hist) {
		q.t.Errorf("%s:\nSQL:\n  %s\nashiato history:\n  %s", what, strings.Join(sql, "\n  "), strings.Join(hist, "\n  "))
		return
	}
	if testing.Verbose() {
		q.t.Logf("%s: %d rows, the same:\n  %s", what, len(sql), strings.Join(sql, "\n  "))
	}
}

// podsOnNodeAt is question a; clusters is how many must answer.
func (q sqlQuestions) podsOnNodeAt(node string, at time.Time, clusters int) {
	q.t.Helper()
	sql := sqlPlacementLines(q.run("pods-on-node-at", map[string]string{"node": duckq.Quote(node), "instant": duckq.Timestamp(at)}))
	hist := q.historyLines("history", "node", node, "--at", rfc3339(at))
	q.same(fmt.Sprintf("pods on %s at %s", node, rfc3339(at)), sql, hist)
	// The test plays it so that every question has an answer.
	seen := map[string]bool{}
	for _, l := range hist {
		seen[strings.Fields(l)[0]] = true
	}
	if len(seen) != clusters {
		q.t.Errorf("pods on %s at %s: rows of clusters %v, want %d clusters", node, rfc3339(at), seen, clusters)
	}
}

// podOverDays is question b.
func (q sqlQuestions) podOverDays(ref store.PodRef, since, until time.Time) {
	q.t.Helper()
	sql := sqlPlacementLines(q.run("pod-over-days", map[string]string{"namespace": duckq.Quote(ref.Namespace), "pod": duckq.Quote(ref.Name),
		"since": duckq.Timestamp(since), "until": duckq.Timestamp(until)}))
	hist := q.historyLines("history", "pod", ref.Namespace+"/"+ref.Name, "--since", rfc3339(since), "--until", rfc3339(until))
	q.same(fmt.Sprintf("where %s ran from %s to %s", ref, rfc3339(since), rfc3339(until)), sql, hist)
	if len(hist) == 0 {
		q.t.Errorf("history pod %s: no rows, so the comparison shows nothing", ref)
	}
}

// incidentAnswer is what questions c and d read of `history incident -o json`.
type incidentAnswer struct {
	Cluster string `json:"cluster"`
	Pods    []struct {
		OwnerKind string `json:"owner_kind"`
		Outcome   string `json:"outcome"`
		Next      *struct {
			AfterSeconds int64 `json:"after_seconds"`
		} `json:"next"`
	} `json:"pods"`
	Summary struct {
		Pods        int `json:"pods"`
		Rescheduled int `json:"rescheduled"`
	} `json:"summary"`
}

func (q sqlQuestions) incident(f failure) incidentAnswer {
	q.t.Helper()
	var a incidentAnswer
	q.history(&a, "history", "incident", f.node, "--at", rfc3339(f.at), "--cluster", f.cluster)
	if a.Cluster != f.cluster {
		q.t.Fatalf("history incident %s --at %s --cluster %s answered for cluster %q", f.node, rfc3339(f.at), f.cluster, a.Cluster)
	}
	return a
}

// timeToReschedule is question c: `history incident` asked about each
// failure, its rescheduled pods' times gathered by cluster and owner kind.
func (q sqlQuestions) timeToReschedule(failures []failure, since, until time.Time) {
	q.t.Helper()
	times := map[string][]float64{}
	for _, f := range failures {
		a := q.incident(f)
		n := 0
		for _, p := range a.Pods {
			if p.Outcome != "rescheduled" {
				continue
			}
			kind := cmp.Or(p.OwnerKind, "None")
			times[f.cluster+" "+kind] = append(times[f.cluster+" "+kind], float64(p.Next.AfterSeconds))
			n++
		}
		if n != a.Summary.Rescheduled || n == 0 {
			q.t.Errorf("history incident %s --at %s: %d rescheduled pods, summary %d", f.node, rfc3339(f.at), n, a.Summary.Rescheduled)
		}
	}
	q.sameTimes(times, since, until)
}

// sameTimes compares question c's answer over [since, until] with the
// rescheduled pods' times history gave, by "cluster owner-kind".
func (q sqlQuestions) sameTimes(times map[string][]float64, since, until time.Time) {
	q.t.Helper()
	var hist []string
	for k, xs := range times {
		slices.Sort(xs)
		hist = append(hist, fmt.Sprintf("%s %d %v %v", k, len(xs), quantileCont(xs, 0.5), quantileCont(xs, 0.9)))
	}
	slices.Sort(hist)
	var sql []string
	for _, r := range q.run("time-to-reschedule", map[string]string{"since": duckq.Timestamp(since), "until": duckq.Timestamp(until)}) {
		sql = append(sql, fmt.Sprintf("%v %v %v %v %v", r["cluster"], r["owner_kind"], r["rescheduled"], r["p50_seconds"], r["p90_seconds"]))
	}
	slices.Sort(sql)
	q.same("time to reschedule by cluster and owner kind", sql, hist)
}

// nodesLostMost is question d: `history incident`'s pod counts summed by node.
func (q sqlQuestions) nodesLostMost(failures []failure, since, until time.Time) {
	q.t.Helper()
	counts := map[string]lostCount{}
	for _, f := range failures {
		c := counts[f.cluster+" "+f.node]
		c.failures++
		c.pods += q.incident(f).Summary.Pods
		counts[f.cluster+" "+f.node] = c
	}
	q.sameLost(counts, since, until)
}

// lostCount is a node's failures and the pods on it at each, summed.
type lostCount struct{ failures, pods int }

// sameLost compares question d's answer over [since, until] with history's
// counts, by "cluster node".
func (q sqlQuestions) sameLost(counts map[string]lostCount, since, until time.Time) {
	q.t.Helper()
	var hist []string
	for k, c := range counts {
		hist = append(hist, fmt.Sprintf("%s %d %d", k, c.failures, c.pods))
	}
	slices.Sort(hist)
	var sql []string
	for _, r := range q.run("nodes-lost-most", map[string]string{"since": duckq.Timestamp(since), "until": duckq.Timestamp(until)}) {
		sql = append(sql, fmt.Sprintf("%v %v %v %v", r["cluster"], r["node"], r["failures"], r["pods_lost"]))
	}
	slices.Sort(sql)
	q.same("pods lost by node", sql, hist)
}

// quantileCont is DuckDB's quantile_cont of sorted xs (linear between the
// two nearest ranks), rounded to a tenth as the query rounds it.
func quantileCont(xs []float64, p float64) float64 {
	pos := p * float64(len(xs)-1)
	lo, hi := math.Floor(pos), math.Ceil(pos)
	v := xs[int(lo)] + (pos-lo)*(xs[int(hi)]-xs[int(lo)])
	return math.Round(v*10) / 10
}
