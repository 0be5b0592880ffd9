package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/e2e/faultproxy"
	"github.com/pod-ashiato/ashiato/e2e/s3server"
)

func TestParseMetrics(t *testing.T) {
	text := `# HELP apiserver_request_total Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",resource="pods",verb="LIST"} 12
apiserver_request_total{code="201",component="apiserver",resource="configmaps",verb="POST"} 3
apiserver_flowcontrol_dispatched_requests_total{flow_schema="service-accounts",priority_level="workload-low"} 7
apiserver_flowcontrol_dispatched_requests_total{flow_schema="exempt",priority_level="exempt"} 1e+03
weird{msg="a \"quoted\", {braced} value\\",x="y"} 1.5 1700000000000
ashiato_store_written_bytes_total 4.2e+06
`
	got, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 {
		t.Fatalf("parsed %d series, want 6: %+v", len(got), got)
	}
	if v := sum(got, "apiserver_request_total", nil); v != 15 {
		t.Errorf("total = %v, want 15", v)
	}
	if v := sum(got, "apiserver_request_total", map[string]string{"verb": "LIST"}); v != 12 {
		t.Errorf("LIST = %v, want 12", v)
	}
	if v := sum(got, "apiserver_flowcontrol_dispatched_requests_total", map[string]string{"flow_schema": ashiatoFlowSchema}); v != 7 {
		t.Errorf("service accounts = %v, want 7", v)
	}
	if w := got[4]; w.Labels["msg"] != `a "quoted", {braced} value\` || w.Labels["x"] != "y" || w.Value != 1.5 {
		t.Errorf("escaped labels: %+v", w)
	}
	if v := sum(got, "ashiato_store_written_bytes_total", nil); v != 4.2e6 {
		t.Errorf("unlabelled = %v", v)
	}
	if !has(got, "weird") || has(got, "absent") {
		t.Error("has")
	}
	for _, bad := range []string{"novalue", `x{a="b} 1`, `x{a=b} 1`, "x notanumber"} {
		if _, err := parseMetrics(strings.NewReader(bad)); err == nil {
			t.Errorf("parseMetrics(%q) accepted", bad)
		}
	}
}

func TestNewStat(t *testing.T) {
	s := newStat([]float64{3, 1, 2})
	if s.Median != 2 || s.Min != 1 || s.Max != 3 || !slices.Equal(s.Runs, []float64{3, 1, 2}) {
		t.Errorf("odd: %+v", s)
	}
	if s := newStat([]float64{4, 1, 2, 3}); s.Median != 2.5 {
		t.Errorf("even median = %v", s.Median)
	}
	if s := newStat([]float64{math.NaN(), 5}); s.Median != 5 || len(s.Runs) != 1 {
		t.Errorf("NaN not left out: %+v", s)
	}
	if s := newStat(nil); s.valid() {
		t.Errorf("empty stat is valid: %+v", s)
	}
}

// The seeded pods must have distinct, valid names, and a size must be a prefix
// of the next (the cluster grows).
func TestPodNames(t *testing.T) {
	seen := map[string]bool{}
	for i := range 200_000 {
		spec := podSpec(i, 5000, 50)
		key := spec.Namespace + "/" + spec.Name
		if seen[key] {
			t.Fatalf("pod %d: %s already used", i, key)
		}
		seen[key] = true
		if len(spec.Name) > 63 || strings.ToLower(spec.Name) != spec.Name {
			t.Fatalf("pod %d: bad name %q", i, spec.Name)
		}
	}
	if n := podName(42); n != podName(42) || len(n) != 25 {
		t.Errorf("podName(42) = %q, want 25 characters, stable", n)
	}
	if got := nodeName(7 % 5000); got != "node-0007" {
		t.Errorf("nodeName = %q", got)
	}
}

func TestChunks(t *testing.T) {
	var got [][]int
	for c := range chunks([]int{1, 2, 3, 4, 5}, 2) {
		got = append(got, c)
	}
	if len(got) != 3 || len(got[2]) != 1 || got[2][0] != 5 {
		t.Errorf("chunks = %v", got)
	}
}

func TestLineCounter(t *testing.T) {
	c := &lineCounter{}
	for _, p := range []string{`{"a":`, `1}` + "\n{\"b\"", ":2}\n", "\n"} {
		c.Write([]byte(p))
	}
	if c.Lines() != 3 || c.First() != `{"a":1}` {
		t.Errorf("lines %d, first %q", c.Lines(), c.First())
	}
}

func TestMarkerWriterAcrossWrites(t *testing.T) {
	m := &markerWriter{marker: watchMarker, tail: &tailBuffer{max: 10}}
	m.Write([]byte(`{"msg":"pod cache sy`))
	if m.seen.Load() {
		t.Fatal("seen too early")
	}
	m.Write([]byte(`nced, initial snapshot sent"}`))
	if !m.seen.Load() {
		t.Error("marker split over two writes not seen")
	}
	if got := m.tail.String(); got != `hot sent"}` {
		t.Errorf("tail = %q", got)
	}
}

func TestProcStatus(t *testing.T) {
	rss, hwm, err := procStatus(os.Getpid())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if rss <= 0 || hwm < rss {
		t.Errorf("rss %d, hwm %d", rss, hwm)
	}
}

func TestLogTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   []float64
	}{
		{0.3, 40, []float64{0.2, 0.5, 1, 2, 5, 10, 20, 50}},
		{30, 2000, []float64{20, 50, 100, 200, 500, 1000, 2000}},
		{1, 1, []float64{1}},
	}
	for _, tt := range tests {
		got := logTicks(tt.lo, tt.hi)
		if len(got) != len(tt.want) {
			t.Errorf("logTicks(%v, %v) = %v, want %v", tt.lo, tt.hi, got, tt.want)
			continue
		}
		for i := range got {
			if math.Abs(got[i]-tt.want[i]) > 1e-9*tt.want[i] {
				t.Errorf("logTicks(%v, %v) = %v, want %v", tt.lo, tt.hi, got, tt.want)
				break
			}
		}
	}
}

func sampleSizes() []sizeResult {
	prog := func(wall, rss float64) *program {
		return &program{Command: "x", WallS: newStat([]float64{wall * 0.9, wall, wall * 1.1}), RSSMiB: newStat([]float64{rss, rss, rss})}
	}
	var sizes []sizeResult
	for i, n := range []int{10_000, 50_000, 150_000} {
		k := float64(i + 1)
		sizes = append(sizes, sizeResult{
			Pods: n, Nodes: 5000, Namespaces: 50,
			Floor: prog(0.6*k, 300*k), Paginated: prog(0.8*k, 30), Oneshot: prog(0.55*k, 35), Kubectl: prog(8*k, 500*k),
			StoreNew: prog(1*k, 60*k), StoreExisting: prog(1.5*k, 70*k),
			Watch: &watchResult{Mode: "watch", StartRSSMiB: newStat([]float64{20}), SteadyRSSMiB: newStat([]float64{20 + 0.3*k*10}),
				BytesPerPod: newStat([]float64{600})},
		})
	}
	return sizes
}

func TestJudge(t *testing.T) {
	ts := judge(sampleSizes())
	if len(ts) != 5 {
		t.Fatalf("%d targets", len(ts))
	}
	for i, want := range []bool{true, true, true, true, true} {
		if ts[i].Met == nil || *ts[i].Met != want {
			t.Errorf("target %q: met %v, want %v (%s)", ts[i].Goal, ts[i].Met, want, ts[i].Measured)
		}
	}
	sizes := sampleSizes()
	sizes[2].Oneshot.RSSMiB = newStat([]float64{80})
	sizes[2].Watch.Mode = "not watch"
	ts = judge(sizes)
	if *ts[1].Met || ts[4].Met != nil {
		t.Errorf("RSS 80 MiB met %v; list mode judged %v", *ts[1].Met, ts[4].Met)
	}
	table := targetsTable(ts)
	if !strings.Contains(table, "**no**") || !strings.Contains(table, "not measured") {
		t.Errorf("table:\n%s", table)
	}
}

func TestSizeTables(t *testing.T) {
	s := sampleSizes()[2]
	s.WatchStore = &watchResult{Mode: "watch", SyncWrites: newStat([]float64{8}), SyncBytes: newStat([]float64{3 * mib}),
		SteadyWritesPerHour: newStat([]float64{0}), SteadyBytesPerHour: newStat([]float64{0}), SnapshotsPerHour: 1}
	out := sizeTables(s, &config{runs: 3})
	for _, want := range []string{"### 150,000 pods on 5,000 nodes", "1.65 [1.49–1.82]", "0.07×", "| 8 writes, 3.00 MiB |"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}

func TestPlot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plot.png")
	if err := writePlot(path, sampleSizes()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1400 || b.Dy() != 620 {
		t.Errorf("bounds %v", b)
	}
	// A single size, or sizes without some programs, still draws.
	if img := renderPlot(sampleSizes()[:1]); img == nil {
		t.Error("no image")
	}
	if img := renderPlot(nil); img == nil {
		t.Error("no image")
	}
}

func TestParseFlags(t *testing.T) {
	var stderr bytes.Buffer
	c, err := parseFlags([]string{"--pods", "10000, 50000,150000", "--nodes", "5000", "--parts", "floor,oneshot"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.sizes, []int{10000, 50000, 150000}) || c.nodes != 5000 || !c.parts["floor"] || c.parts["watch"] {
		t.Errorf("config %+v", c)
	}
	c, err = parseFlags([]string{"--smoke", "--pods", "99999"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.sizes, []int{500}) || c.runs != 1 || c.plot != "" || c.watchWindow != 5*time.Second {
		t.Errorf("smoke config %+v", c)
	}
	for _, bad := range [][]string{
		{"--pods", "100,50"}, {"--pods", "x"}, {"--pods", "0"}, {"--parts", "floor,bogus"},
		{"--runs", "0"}, {"--keep"}, {"--namespaces", "101"}, {"extra"}, {"--sql-hours", "13"}, {"--sql-clusters", "0"},
	} {
		if _, err := parseFlags(bad, &stderr); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}

func TestFlagDefault(t *testing.T) {
	help := `Usage: ashiato [flags]

Flags:
  -kube-api-burst int
    	client-side burst of API requests (default 100)
  -kube-api-qps float
    	client-side limit of API requests per second (default 50)
  -oneshot
    	list every pod once, print, store, and exit
  -page-size int
    	pods per LIST request (default 1000)
`
	for name, want := range map[string]string{"page-size": "1000", "kube-api-qps": "50", "kube-api-burst": "100", "oneshot": "x", "absent": "x"} {
		if got := flagDefault(help, name, "x"); got != want {
			t.Errorf("flagDefault(%s) = %q, want %q", name, got, want)
		}
	}
}

// --report merges saved runs: ascending sizes, the later file wins a size
// measured twice, and the targets are judged on the merged sizes.
func TestMergeResults(t *testing.T) {
	dir := t.TempDir()
	save := func(name string, r results) string {
		path := filepath.Join(dir, name)
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	oneshot := func(wall ...float64) *program { return &program{WallS: newStat(wall)} }
	a := save("a.json", results{Command: "go run ./bench A", Sizes: []sizeResult{
		{Pods: 150000, Oneshot: oneshot(9, 9, 9)},
		{Pods: 10000, Oneshot: oneshot(1)},
	}})
	b := save("b.json", results{Command: "go run ./bench B", Sizes: []sizeResult{
		{Pods: 150000, Oneshot: oneshot(3, 4, 5)},
	}})
	got, err := mergeResults([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Sizes) != 2 || got.Sizes[0].Pods != 10000 || got.Sizes[1].Pods != 150000 {
		t.Fatalf("sizes = %+v, want 10000 then 150000", got.Sizes)
	}
	if m := got.Sizes[1].Oneshot.WallS.Median; m != 4 {
		t.Errorf("150000 pods: median %v, want the later file's 4", m)
	}
	if got.Command != "go run ./bench A && go run ./bench B" {
		t.Errorf("command = %q", got.Command)
	}
	if len(got.Targets) == 0 {
		t.Error("no targets judged")
	}
	if r := runsOf(got.Sizes[1]); r != 3 {
		t.Errorf("runsOf = %d, want 3", r)
	}
	if _, err := mergeResults([]string{filepath.Join(dir, "missing.json")}); err == nil {
		t.Error("a missing file merged without error")
	}
}

// The soak runs ashiato as k8s/base deploys it: the Deployment's arguments
// (no flag that would change the defaults the soak claims), its memory limit.
func TestSoakMatchesTheDeployment(t *testing.T) {
	text, got := deploymentArgs(t, filepath.Join("..", "..", "k8s", "base", "deployment.yaml"))
	want := append(slices.Clone(deployedArgs), "--cm-namespace=pod-ashiato", "--metrics-addr=:8080")
	if !slices.Equal(got, want) {
		t.Errorf("k8s/base args %q, the soak runs %q plus --cm-namespace and --metrics-addr", got, deployedArgs)
	}
	if !strings.Contains(text, "limits:\n              memory: "+deployedMemoryLimit) {
		t.Errorf("k8s/base's memory limit is not %s", deployedMemoryLimit)
	}
}

func soakSamples() *soakResult {
	r := &soakResult{Pods: 150000, DurationSeconds: 1500, SampleSeconds: 10, Shards: 4, StoredBytes: 1 << 20}
	// Synced by 60 s: the snapshot printed and the hour written; then an
	// hour's worth of steady state in which 8 writes of 0.5 MiB happen.
	sync := soakSample{T: 60, RSSMiB: 200, HWMMiB: 300, Lines: 150000, Bytes: 60 << 20, Requests: 2, CMReads: 1, CMWrites: 4, CMBytes: 1 << 20}
	r.Samples = append(r.Samples, soakSample{T: 10, RSSMiB: 30, HWMMiB: 30}, sync)
	end := sync
	end.T, end.RSSMiB, end.CMWrites, end.CMBytes, end.Requests = 60+3600, 140, 4+8, (1<<20)+8*(1<<19), 6
	mid1, mid2 := sync, sync
	mid1.T, mid1.RSSMiB, mid1.Load1 = 1000, 150, 9
	mid2.T, mid2.RSSMiB, mid2.Load1 = 2000, 130, 3
	r.Samples = append(r.Samples, mid1, mid2, end)
	r.Rollover, r.SteadyFrom = sync, sync.T
	r.derive()
	return r
}

func TestSoakFigures(t *testing.T) {
	r := soakSamples()
	if r.LinesPerHour != 0 || r.CMWritesPerHour != 8 || r.CMBytesPerHour != 4<<20 || r.RequestsPerHour != 4 || r.CMReadsPerHour != 0 {
		t.Errorf("per hour: %+v", r)
	}
	if r.SteadyRSSMiB != 140 || r.PeakRSSMiB != 300 {
		t.Errorf("RSS %v, peak %v", r.SteadyRSSMiB, r.PeakRSSMiB)
	}
	met := map[string]bool{}
	for _, tg := range soakTargets(r) {
		if tg.Met != nil {
			met[strings.Fields(tg.Goal)[0]+" "+strings.Fields(tg.Goal)[1]] = *tg.Met
		}
	}
	// 150,000 lines an hour (the rollover's snapshot): met. 12 writes for 4
	// shards, 5 MiB for a 1 MiB hour: not met. 140 MiB is 979 bytes a pod:
	// met; a 300 MiB peak is 2,097: not met.
	want := map[string]bool{"stdout with": true, "ConfigMaps: no": true, "ConfigMap writes": false, "ConfigMap bytes": false,
		"RSS ≤": true, "VmHWM ≤": false}
	for k, v := range want {
		if got, ok := met[k]; !ok || got != v {
			t.Errorf("target %q: met %v (judged: %v), want %v", k, got, ok, v)
		}
	}
	// A window that held the turn of an hour counts its snapshot once.
	r.HourTurns = 1
	r.LinesPerHour = 150000
	if got := r.perHour(r.LinesPerHour, 150000, 150000); got != 150000 {
		t.Errorf("lines an hour with the turn inside = %v, want 150000", got)
	}
	if r.SteadyRSSMedianMiB != 140 || r.SteadyRSSMaxMiB != 150 || r.Load1Max != 9 {
		t.Errorf("steady RSS median %v, max %v (want 140, 150; the sync's 200 is not steady); load max %v, want 9", r.SteadyRSSMedianMiB, r.SteadyRSSMaxMiB, r.Load1Max)
	}
	if tb := soakTable(r); !strings.Contains(tb, "| RSS at the end (MiB), bytes a pod | 140.0, 979 |") || !strings.Contains(tb, "| steady RSS: median, max (MiB); bytes a pod | 140.0, 150.0; 979, 1049 |") {
		t.Errorf("table:\n%s", soakTable(r))
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, renderSoakPlot(r)); err != nil || buf.Len() < 1000 {
		t.Errorf("soak plot: %d bytes, %v", buf.Len(), err)
	}
}

func TestHourTurns(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 26, h, m, 0, 0, time.UTC) }
	for _, tt := range []struct {
		from, to time.Time
		want     int
	}{
		{at(10, 5), at(10, 55), 0},
		{at(10, 50), at(11, 10), 1},
		{at(10, 0), at(12, 0), 2},
	} {
		if got := hourTurns(tt.from, tt.to); got != tt.want {
			t.Errorf("hourTurns(%s, %s) = %d, want %d", tt.from.Format("15:04"), tt.to.Format("15:04"), got, tt.want)
		}
	}
}

// The serve parts run ashiato serve as k8s/components/serve deploys it: the
// Deployment's arguments but the address and namespace the bench sets, its
// memory limit as GOMEMLIMIT.
func TestServeMatchesTheDeployment(t *testing.T) {
	text, got := deploymentArgs(t, filepath.Join("..", "..", "k8s", "components", "serve", "deployment.yaml"))
	want := append(slices.Clone(deployedServeArgs), "--addr=:8080", "--cm-namespace=pod-ashiato")
	if !slices.Equal(got, want) {
		t.Errorf("k8s/components/serve args %q, the serve parts run %q plus --addr and --cm-namespace", got, deployedServeArgs)
	}
	if !strings.Contains(text, "resource: limits.memory") || !strings.Contains(text, "limits:\n              memory: "+deployedServeMemory) {
		t.Errorf("k8s/components/serve's memory limit is not %s, passed on as GOMEMLIMIT", deployedServeMemory)
	}
}

func TestServeAnswers(t *testing.T) {
	s := func(v string) *string { return &v }
	want := []serveRow{
		{Namespace: "team-00", Pod: "app-1-abc-xyz", Node: "node-1", Hour: "2026-11-26T10:00:00Z", FirstSeen: s("2026-11-26T10:00:01Z"), LastSeen: s("2026-11-26T10:59:59Z"), OwnerKind: "ReplicaSet", OwnerName: "app-1-abc"},
		{Namespace: "team-00", Pod: "app-1-abc-xyz", Node: "node-1", Hour: "2026-11-26T11:00:00Z", FirstSeen: nil, LastSeen: nil, OwnerKind: "ReplicaSet", OwnerName: "app-1-abc"},
	}
	pod := `{"pod":"team-00/app-1-abc-xyz","window":{},"warnings":[],"placements":[
		{"namespace":"team-00","pod_name":"app-1-abc-xyz","node_name":"node-1","owner_kind":"ReplicaSet","owner_name":"app-1-abc","hour":"2026-11-26T10:00:00Z","first_seen":"2026-11-26T10:00:01Z","last_seen":"2026-11-26T10:59:59Z"},
		{"namespace":"team-00","pod_name":"app-1-abc-xyz","node_name":"node-1","owner_kind":"ReplicaSet","owner_name":"app-1-abc","hour":"2026-11-26T11:00:00Z","first_seen":null,"last_seen":null}]}`
	if d := sameAnswer([]byte(pod), want); d != "" {
		t.Errorf("the same rows differ: %s", d)
	}
	if d := sameAnswer([]byte(strings.Replace(pod, `"placements"`, `"pods"`, 1)), want); d != "" {
		t.Errorf("a node page's rows differ: %s", d)
	}
	for name, body := range map[string]string{
		"a time":    strings.Replace(pod, "10:59:59", "10:59:58", 1),
		"unknown":   strings.Replace(pod, `"first_seen":"2026-11-26T10:00:01Z"`, `"first_seen":null`, 1),
		"the owner": strings.Replace(pod, `"owner_name":"app-1-abc"`, `"owner_name":"app-2"`, 1),
		"a row":     strings.Replace(pod, `},`+"\n\t\t"+`{"namespace":"team-00","pod_name":"app-1-abc-xyz","node_name":"node-1","owner_kind":"ReplicaSet","owner_name":"app-1-abc","hour":"2026-11-26T11:00:00Z","first_seen":null,"last_seen":null}`, `}`, 1),
		"no rows":   `{"error":"reading the history: boom"}`,
		"not JSON":  `<html>`,
	} {
		if d := sameAnswer([]byte(body), want); d == "" {
			t.Errorf("%s differs, but the answers compare equal", name)
		}
	}
	cut := strings.Replace(strings.Replace(pod, `"warnings":[]`, `"warnings":["ConfigMap NS/pod-ashiato-2026112611: decoding stopped: context deadline exceeded"]`, 1),
		`},`+"\n\t\t"+`{"namespace":"team-00","pod_name":"app-1-abc-xyz","node_name":"node-1","owner_kind":"ReplicaSet","owner_name":"app-1-abc","hour":"2026-11-26T11:00:00Z","first_seen":null,"last_seen":null}`, `}`, 1)
	if d := sameAnswer([]byte(cut), want); !strings.Contains(d, "1 rows, the CLI 2; the page's warnings (1): ConfigMap NS/pod-ashiato-2026112611: decoding stopped") {
		t.Errorf("a page cut short: %q, want the count and its warning", d)
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 20; i++ {
		ds = append(ds, time.Duration(21-i)*time.Second)
	}
	if p50, p95 := percentile(ds, 0.5), percentile(ds, 0.95); p50 != 10 || p95 != 19 {
		t.Errorf("p50 %v, p95 %v; want 10, 19", p50, p95)
	}
	if p := percentile(nil, 0.5); p != 0 {
		t.Errorf("no latencies: %v, want 0", p)
	}
}

// deploymentArgs reads a Deployment manifest: its text, and the container
// arguments listed between "args:" and "env:".
func deploymentArgs(t *testing.T, path string) (text string, args []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text = string(data)
	list, _, _ := strings.Cut(text[strings.Index(text, "args:"):], "env:")
	for _, l := range strings.Split(list, "\n") {
		if a, ok := strings.CutPrefix(strings.TrimSpace(l), "- "); ok {
			args = append(args, a)
		}
	}
	return text, args
}

// With --soak-store s3 the soak runs what k8s/components/s3 patches in: the
// same flags, in the same order, in place of the base's first argument.
func TestSoakS3MatchesTheComponent(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "k8s", "components", "s3", "deployment-patch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var component []string
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "value: --"); ok && v != "store-in-cm" {
			name, _, _ := strings.Cut(v, "=")
			component = append(component, name)
		}
	}
	x := &s3Bucket{srv: &s3server.Server{Bucket: "b", Region: "r"}, proxy: &faultproxy.S3{}}
	var soak []string
	for _, a := range s3DeployedArgs(x) {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		soak = append(soak, name)
	}
	if !slices.Equal(soak, component) {
		t.Errorf("k8s/components/s3 sets %q, the soak %q", component, soak)
	}
}
