package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pod-ashiato/ashiato/src/store"
)

// The serve parts run `ashiato serve` as k8s/components/serve deploys it
// over historyHours stored hours of every pod (storedHour), in ConfigMaps
// (serve) or in S3 on SeaweedFS (serve-s3), and let serveClients clients ask
// it the same questions again and again for --serve-duration while its
// resident set is sampled. deployedServeArgs are the Deployment's arguments
// but --addr and --cm-namespace, which the bench sets; deployedServeMemory
// its memory limit, passed on as GOMEMLIMIT. TestServeMatchesTheDeployment
// keeps both in step with k8s/components/serve/deployment.yaml.
//
// As deployed, serve authenticates every request (--authentication=
// kubernetes): here it asks the control plane with the admin kubeconfig, and
// the clients send the bench ServiceAccount's token (cluster-admin: every pod
// is shown), so the figures include the TokenReview and SubjectAccessReviews
// of each cache period (10 s), as in a cluster.
var deployedServeArgs = []string{"serve", "--authentication=kubernetes"}

const deployedServeMemory = "512Mi"

// Target of issue 23 for serve at 150,000 pods with 24 stored hours.
const targetServeMiB = 128

const (
	// serveClients is how many clients ask at once.
	serveClients = 8
	// serveSample is the time between two reads of serve's VmRSS.
	serveSample = 200 * time.Millisecond
	// serveRequestTimeout bounds one request: more than serve's own bound on
	// a page (its read timeout and write timeout).
	serveRequestTimeout = 2 * time.Minute
)

// serveResult is one serve part: the load, serve's memory, the answers.
type serveResult struct {
	Store   string `json:"store"` // configmap or s3
	Command string `json:"command"`
	Hours   int    `json:"hours"`
	// StoredObjects and StoredBytes are what the hours left in the store.
	StoredObjects   int     `json:"stored_objects"`
	StoredBytes     int64   `json:"stored_bytes"`
	Clients         int     `json:"clients"`
	DurationSeconds float64 `json:"duration_seconds"`
	SampleSeconds   float64 `json:"sample_seconds"`
	// StartRSSMiB is VmRSS when /healthz first answered; PeakRSSMiB the
	// largest VmRSS sampled under load; HWMMiB VmHWM at the end.
	StartRSSMiB float64     `json:"start_rss_mib"`
	PeakRSSMiB  float64     `json:"peak_rss_mib"`
	HWMMiB      float64     `json:"vmhwm_mib"`
	Pages       []servePage `json:"pages"`
	// Compared is how many 200 JSON answers were checked against the CLI's
	// answer to the same question; Mismatches how many differed.
	Compared   int    `json:"compared"`
	Mismatches int    `json:"mismatches"`
	Mismatch   string `json:"first_mismatch,omitempty"`
	// Load1 is the machine's 1-minute load average at the end: the clients
	// and serve share the cores.
	Load1 float64 `json:"load1"`
	// S3Requests are serve's requests to S3 under load, by operation.
	S3Requests map[string]int `json:"s3_requests,omitempty"`
}

// servePage is what the clients got from one URL.
type servePage struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	Requests int    `json:"requests"`
	OK       int    `json:"ok"`      // 200
	Refused  int    `json:"refused"` // 503: the concurrency limit said no, which is allowed
	Failed   int    `json:"failed"`  // anything else, or no answer
	// Latency of the 200 answers, from request to the body's last byte.
	P50S    float64 `json:"p50_seconds"`
	P95S    float64 `json:"p95_seconds"`
	Failure string  `json:"first_failure,omitempty"`
}

// serveQuestion is one page the clients ask for, and the CLI's answer to the
// same question.
type serveQuestion struct {
	name string
	path string // with the query
	json bool
	want []serveRow // for a JSON page
}

// serveRow is a placement as both `history -o json` and serve's JSON twin
// give it: the fields they share.
type serveRow struct {
	Namespace string  `json:"namespace"`
	Pod       string  `json:"pod_name"`
	Node      string  `json:"node_name"`
	Hour      string  `json:"hour"`
	FirstSeen *string `json:"first_seen"`
	LastSeen  *string `json:"last_seen"`
	// Both carry the owner; the CLI's is checked against what was stored
	// (ownerOf), serve's against the CLI's.
	OwnerKind string `json:"owner_kind"`
	OwnerName string `json:"owner_name"`
}

func (r serveRow) String() string {
	opt := func(s *string) string {
		if s == nil {
			return "?"
		}
		return *s
	}
	return fmt.Sprintf("%s/%s on %s hour %s %s..%s", r.Namespace, r.Pod, r.Node, r.Hour, opt(r.FirstSeen), opt(r.LastSeen))
}

// measureServe is the serve part (ConfigMaps) or the serve-s3 part.
func (b *bench) measureServe(ctx context.Context, s *sizeResult, s3 bool) error {
	res := &serveResult{Store: "configmap", Hours: historyHours, Clients: serveClients,
		DurationSeconds: b.cfg.serveDuration.Seconds(), SampleSeconds: serveSample.Seconds()}
	var storeFlags []string
	s3Requests := func() map[string]int { return nil } // by operation, so far
	start := time.Now()
	if s3 {
		res.Store = "s3"
		bucket, err := b.startS3(ctx, fmt.Sprintf("serve-s3-%d", s.Pods))
		if err != nil {
			return fmt.Errorf("serve-s3 part: %w", err)
		}
		defer bucket.close(b)
		if res.StoredObjects, _, _, err = bucket.seed(ctx, s, historyHours); err != nil {
			return err
		}
		res.StoredBytes = bucket.proxy.Stats().BytesIn["PUT"]
		storeFlags = bucket.flags()
		s3Requests = func() map[string]int { return bucket.proxy.Stats().Requests }
	} else {
		ns, err := b.newCMNamespace(ctx, "serve", s.Pods)
		if err != nil {
			return err
		}
		objects, bytes, err := b.seedConfigMaps(ctx, ns, s, historyHours)
		if err != nil {
			return err
		}
		res.StoredObjects, res.StoredBytes = objects, int64(bytes)
		storeFlags = []string{"--kubeconfig", b.admin, "--cm-namespace", ns}
	}
	b.log("  serve (%s): seeded %d hours of %d pods, %d objects, %.1f MiB, in %s", res.Store, historyHours, s.Pods,
		res.StoredObjects, float64(res.StoredBytes)/mib, time.Since(start).Round(time.Second))
	// The hour now is in was stored with first-seen times over its first
	// minute: within that minute the answer changes from one second to the
	// next, and the CLI's and serve's could differ by when they were asked.
	if wait := time.Until(store.HourOf(time.Now()).Add(time.Minute)); wait > 0 {
		b.log("  serve: waiting %s for the hour's first minute to pass", wait.Round(time.Second))
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}

	questions, err := b.serveQuestions(ctx, s, storeFlags)
	if err != nil {
		return err
	}
	if err := b.waitQuiet(ctx); err != nil {
		return err
	}
	res.Command = fmt.Sprintf("GOMEMLIMIT=%s ashiato %s --addr 127.0.0.1:PORT %s; %d clients for %s",
		deployedServeMemory, strings.Join(deployedServeArgs, " "), strings.Join(storeFlagsText(storeFlags), " "), serveClients, b.cfg.serveDuration)
	b.log("  serve: %s", res.Command)
	before := s3Requests()
	if err := b.serveLoad(ctx, storeFlags, questions, res); err != nil {
		return fmt.Errorf("serve (%s): %w", res.Store, err)
	}
	if s3 {
		res.S3Requests = diffOps(s3Requests(), before)
	}
	if res.Load1, err = loadAverage(); err != nil {
		return err
	}
	done, refused, failed := 0, 0, 0
	for _, p := range res.Pages {
		done, refused, failed = done+p.Requests, refused+p.Refused, failed+p.Failed
	}
	b.log("  serve (%s): %d requests, %d refused (503), %d failed, %d of %d JSON answers differ from the CLI's; peak RSS %.1f MiB, VmHWM %.1f MiB",
		res.Store, done, refused, failed, res.Mismatches, res.Compared, res.PeakRSSMiB, res.HWMMiB)
	if s3 {
		s.ServeS3 = res
	} else {
		s.Serve = res
	}
	if b.cfg.smoke && (failed > 0 || res.Mismatches > 0 || done == refused) {
		return fmt.Errorf("serve (%s): %d failed, %d of %d answers differ from the CLI's (%s), %d of %d refused", res.Store, failed, res.Mismatches, res.Compared, res.Mismatch, refused, done)
	}
	return nil
}

// storeFlagsText is the store flags for the command line shown, without
// this run's addresses and folders.
func storeFlagsText(flags []string) []string {
	out := slices.Clone(flags)
	for i := 1; i < len(out); i++ {
		switch out[i-1] {
		case "--kubeconfig":
			out[i] = "KUBECONFIG"
		case "--cm-namespace":
			out[i] = "NS"
		case "--s3-endpoint":
			out[i] = "https://127.0.0.1:PORT"
		}
	}
	return out
}

// serveQuestions are the pages asked: the default pod page (24 hours) of the
// pod the history part asks about and a 24-hour node page, as HTML and as
// JSON; the JSON pages carry the CLI's answer to the same question.
func (b *bench) serveQuestions(ctx context.Context, s *sizeResult, storeFlags []string) ([]serveQuestion, error) {
	pod := namespaceName(s.Pods/2, s.Namespaces) + "/" + podName(s.Pods/2)
	node := nodeName(1 % s.Nodes)
	podPath := "/pod?" + url.Values{"pod": {pod}}.Encode()
	nodePath := "/node?" + url.Values{"node": {node}, "since": {"24h"}}.Encode()
	qs := []serveQuestion{
		{name: "pod page, HTML", path: podPath},
		{name: "pod page, JSON", path: podPath + "&format=json", json: true},
		{name: "node page --since 24h, HTML", path: nodePath},
		{name: "node page --since 24h, JSON", path: nodePath + "&format=json", json: true},
	}
	for i, argv := range map[int][]string{1: {"history", "pod", pod}, 3: {"history", "node", node, "--since", "24h"}} {
		argv = append(append(append([]string{b.ashiato}, argv...), storeFlags...), "-o", "json")
		var out strings.Builder
		if _, err := timed(ctx, argv, &out, false, ""); err != nil {
			return nil, err
		}
		rows, _, err := pageRows([]byte(out.String()))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
		}
		if len(rows) == 0 {
			return nil, fmt.Errorf("%s: no rows; the seeded hours are not there", strings.Join(argv, " "))
		}
		for _, r := range rows {
			if r.OwnerKind != "ReplicaSet" || r.OwnerName != ownerOf(r.Pod) {
				return nil, fmt.Errorf("%s: %s has owner %s/%s, stored ReplicaSet/%s", strings.Join(argv, " "), r, r.OwnerKind, r.OwnerName, ownerOf(r.Pod))
			}
		}
		qs[i].want = rows
	}
	return qs, nil
}

// serveLoad starts serve, waits for /healthz, lets the clients ask for the
// duration while sampling serve's resident set, and stops serve.
func (b *bench) serveLoad(ctx context.Context, storeFlags []string, questions []serveQuestion, res *serveResult) (err error) {
	port, err := freePort()
	if err != nil {
		return err
	}
	limit, err := memoryBytes(deployedServeMemory)
	if err != nil {
		return err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	argv := append(append(append([]string{b.ashiato}, deployedServeArgs...), "--addr", fmt.Sprintf("127.0.0.1:%d", port)), storeFlags...)
	if !slices.Contains(storeFlags, "--kubeconfig") { // S3: the reviews still go to the control plane
		argv = append(argv, "--kubeconfig", b.admin)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("GOMEMLIMIT=%d", limit))
	stderr := &tailBuffer{max: 32 << 10}
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case werr := <-exited:
			if werr != nil && err == nil {
				err = fmt.Errorf("ashiato serve exited: %w", werr)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if err != nil {
			err = fmt.Errorf("%w; ashiato serve's stderr: %s", err, stderr.String())
		}
	}()

	client := &http.Client{Timeout: serveRequestTimeout, Transport: bearer{token: b.saToken, next: &http.Transport{MaxIdleConnsPerHost: serveClients}}}
	for deadline := time.Now().Add(time.Minute); ; {
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case werr := <-exited:
			exited <- werr
			return fmt.Errorf("ashiato serve exited before answering: %v", werr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ashiato serve does not answer /healthz within a minute: %v", err)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	rss, _, err := procStatus(cmd.Process.Pid)
	if err != nil {
		return err
	}
	res.StartRSSMiB = float64(rss) / mib

	load := &serveTally{questions: questions, latency: make([][]time.Duration, len(questions)), pages: make([]servePage, len(questions))}
	for i, q := range questions {
		load.pages[i] = servePage{Name: q.name, URL: q.path}
	}
	loadCtx, stop := context.WithTimeout(ctx, b.cfg.serveDuration)
	defer stop()
	var wg sync.WaitGroup
	for c := range serveClients {
		wg.Go(func() {
			for k := c; loadCtx.Err() == nil; k++ {
				load.ask(loadCtx, client, base, k%len(questions))
			}
		})
	}
	var sampleErr error
	ticker := time.NewTicker(serveSample)
sampling:
	for {
		select {
		case <-loadCtx.Done():
			break sampling
		case werr := <-exited:
			exited <- werr
			sampleErr = fmt.Errorf("ashiato serve exited under load: %v", werr)
			stop()
			break sampling
		case <-ticker.C:
			if rss, _, err := procStatus(cmd.Process.Pid); err == nil {
				res.PeakRSSMiB = max(res.PeakRSSMiB, float64(rss)/mib)
			}
		}
	}
	ticker.Stop()
	wg.Wait()
	if sampleErr != nil {
		return sampleErr
	}
	_, hwm, err := procStatus(cmd.Process.Pid)
	if err != nil {
		return err
	}
	res.HWMMiB = float64(hwm) / mib
	load.finish(res)
	return nil
}

// serveTally counts the answers of all clients.
type serveTally struct {
	questions []serveQuestion
	mu        sync.Mutex
	pages     []servePage
	latency   [][]time.Duration
	compared  int
	differ    int
	mismatch  string
}

// ask sends question i once and counts the answer. A request the end of the
// load cut short is not counted.
func (t *serveTally) ask(ctx context.Context, client *http.Client, base string, i int) {
	q := t.questions[i]
	start := time.Now()
	status, body, err := get(ctx, client, base+q.path)
	took := time.Since(start)
	if ctx.Err() != nil {
		return
	}
	var differ string
	if err == nil && status == http.StatusOK && q.json {
		differ = sameAnswer(body, q.want)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := &t.pages[i]
	p.Requests++
	switch {
	case err != nil:
		p.Failed++
		if p.Failure == "" {
			p.Failure = err.Error()
		}
	case status == http.StatusOK:
		p.OK++
		t.latency[i] = append(t.latency[i], took)
		if q.json {
			t.compared++
			if differ != "" {
				t.differ++
				if t.mismatch == "" {
					t.mismatch = q.name + ": " + differ
				}
			}
		}
	case status == http.StatusServiceUnavailable:
		p.Refused++
	default:
		p.Failed++
		if p.Failure == "" {
			p.Failure = fmt.Sprintf("%d: %.200s", status, body)
		}
	}
}

func (t *serveTally) finish(res *serveResult) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.pages {
		t.pages[i].P50S, t.pages[i].P95S = percentile(t.latency[i], 0.50), percentile(t.latency[i], 0.95)
	}
	res.Pages, res.Compared, res.Mismatches, res.Mismatch = t.pages, t.compared, t.differ, t.mismatch
}

func get(ctx context.Context, client *http.Client, u string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// pageRows are the rows of a pod or node answer, the CLI's `-o json` or
// serve's JSON twin (one schema: package report), and its warnings.
func pageRows(body []byte) ([]serveRow, []string, error) {
	var page struct {
		Placements *[]serveRow `json:"placements"` // the pod page
		Pods       *[]serveRow `json:"pods"`       // the node page
		Warnings   []string    `json:"warnings"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, nil, fmt.Errorf("not JSON: %w", err)
	}
	switch {
	case page.Placements != nil:
		return *page.Placements, page.Warnings, nil
	case page.Pods != nil:
		return *page.Pods, page.Warnings, nil
	}
	return nil, nil, fmt.Errorf("no placements or pods in %.200s", body)
}

// sameAnswer compares serve's JSON twin of a pod or node page with the CLI's
// rows: "" when they hold the same rows, else the first difference.
func sameAnswer(body []byte, want []serveRow) string {
	got, warnings, err := pageRows(body)
	if err != nil {
		return err.Error()
	}
	if len(got) != len(want) {
		d := fmt.Sprintf("%d rows, the CLI %d", len(got), len(want))
		if len(warnings) > 0 {
			d += fmt.Sprintf("; the page's warnings (%d): %.300s", len(warnings), strings.Join(warnings, "; "))
		}
		return d
	}
	same := func(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	for i := range got {
		g, w := got[i], want[i]
		if g.Namespace != w.Namespace || g.Pod != w.Pod || g.Node != w.Node || g.Hour != w.Hour || !same(g.FirstSeen, w.FirstSeen) || !same(g.LastSeen, w.LastSeen) {
			return fmt.Sprintf("row %d: %s, the CLI's %s", i, g, w)
		}
		if g.OwnerKind != w.OwnerKind || g.OwnerName != w.OwnerName {
			return fmt.Sprintf("row %d: owner %s/%s, stored %s/%s", i, g.OwnerKind, g.OwnerName, w.OwnerKind, w.OwnerName)
		}
	}
	return ""
}

// percentile is the p-quantile of ds in seconds (nearest rank); 0 for none
// (JSON has no NaN).
func percentile(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(p*float64(len(s))+0.5) - 1
	return s[min(max(k, 0), len(s)-1)].Seconds()
}

// serveTable is a serve part's figures and the target.
func serveTable(r *serveResult, pods int) string {
	var b strings.Builder
	where := "ConfigMaps"
	if r.Store == "s3" {
		where = "S3 (SeaweedFS on this machine, through a counting proxy)"
	}
	fmt.Fprintf(&b, "\n`ashiato serve` over %d stored hours of %s pods in %s (%d objects, %.1f MiB), %d clients for %.0f s:\n\n`%s`\n\n",
		r.Hours, groupThousands(int64(pods)), where, r.StoredObjects, float64(r.StoredBytes)/mib, r.Clients, r.DurationSeconds, r.Command)
	fmt.Fprintln(&b, "| page | requests | 200 | 503 (refused) | failed | p50 (s) | p95 (s) |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|---|")
	done, failed := 0, 0
	for _, p := range r.Pages {
		p50, p95 := "–", "–"
		if p.OK > 0 {
			p50, p95 = fmtNum(p.P50S, 2), fmtNum(p.P95S, 2)
		}
		fmt.Fprintf(&b, "| %s `%s` | %d | %d | %d | %d | %s | %s |\n", p.Name, p.URL, p.Requests, p.OK, p.Refused, p.Failed, p50, p95)
		done, failed = done+p.Requests, failed+p.Failed
	}
	fmt.Fprintf(&b, "\n| serve | |\n|---|---|\n")
	fmt.Fprintf(&b, "| RSS when /healthz first answered (MiB) | %.1f |\n", r.StartRSSMiB)
	fmt.Fprintf(&b, "| peak RSS, sampled every %.0f ms under load (MiB) | %.1f |\n", r.SampleSeconds*1000, r.PeakRSSMiB)
	fmt.Fprintf(&b, "| VmHWM at the end (MiB) | %.1f |\n", r.HWMMiB)
	fmt.Fprintf(&b, "| requests done | %d |\n", done)
	fmt.Fprintf(&b, "| 200 JSON answers compared with `ashiato history -o json`, mismatches | %d, %d |\n", r.Compared, r.Mismatches)
	fmt.Fprintf(&b, "| machine load average (1 min) at the end | %.2f |\n", r.Load1)
	if len(r.S3Requests) > 0 {
		fmt.Fprintf(&b, "| serve's S3 requests under load | %s |\n", fmtOps(r.S3Requests))
	}
	for _, p := range r.Pages {
		if p.Failure != "" {
			fmt.Fprintf(&b, "\nFirst failure of %s: %s\n", p.Name, p.Failure)
		}
	}
	if r.Mismatch != "" {
		fmt.Fprintf(&b, "\nFirst mismatch: %s\n", r.Mismatch)
	}
	yes := func(b bool) *bool { return &b }
	ts := []target{
		{Goal: fmt.Sprintf("serve peak RSS ≤ %d MiB (issue 23)", targetServeMiB), Measured: fmt.Sprintf("VmHWM %.1f MiB, sampled peak %.1f MiB", r.HWMMiB, r.PeakRSSMiB), Met: yes(r.HWMMiB <= targetServeMiB)},
		{Goal: "serve answers every request: 200, or 503 when its limit refuses", Measured: fmt.Sprintf("%d of %d failed", failed, done), Met: yes(failed == 0)},
		{Goal: "serve's JSON answers equal the CLI's", Measured: fmt.Sprintf("%d of %d differ", r.Mismatches, r.Compared), Met: yes(r.Mismatches == 0 && r.Compared > 0)},
	}
	b.WriteString("\n" + targetsTable(ts))
	return b.String()
}

// bearer sends every request with the token, as a client of the deployed
// serve does.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(req)
}
