package e2e

// The fault suite: ashiato against a real API server that goes away, answers
// with errors, races it, or loses its ConfigMaps, and against names at the
// limits. Each scenario logs one line of figures in the format docs/faults.md
// describes:
//
//	FAULTS scenario=<name> injected=<n> survived=<n> records_checked=<n> records_lost=<n> elapsed=<d> [key=value ...]
//
// Run it alone with `go test -count=1 -v -run TestFault ./e2e/`.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/pod-ashiato/ashiato/e2e/faultproxy"
	"github.com/pod-ashiato/ashiato/e2e/fixture"
	"github.com/pod-ashiato/ashiato/src/store"
)

// faultOutage is how long each outage lasts.
const faultOutage = 30 * time.Second

// faultMaxWarnings bounds the warning lines one process may write in the
// first faultOutage of an outage: it logs the failure with backoff, it does
// not flood.
const faultMaxWarnings = 15

// faultFigures is what a scenario reports. injected counts the faults;
// survived those the process came through (still running, or a clean exit);
// checked the records the scenario expects (each pod on stdout, each pod in
// the store); lost those of them missing.
type faultFigures struct {
	scenario      string
	start         time.Time
	injected      int
	survived      int
	checked, lost int
	extra         []string
	missing       []string
}

// newFaultFigures starts the figures of a scenario; they are logged when the
// test ends, whatever the outcome.
func newFaultFigures(t *testing.T, scenario string) *faultFigures {
	f := &faultFigures{scenario: scenario, start: time.Now()}
	t.Cleanup(func() {
		extra := ""
		if len(f.extra) > 0 {
			extra = " " + strings.Join(f.extra, " ")
		}
		t.Logf("FAULTS scenario=%s injected=%d survived=%d records_checked=%d records_lost=%d elapsed=%s%s",
			f.scenario, f.injected, f.survived, f.checked, f.lost, time.Since(f.start).Round(100*time.Millisecond), extra)
		if len(f.missing) > 0 {
			t.Logf("FAULTS scenario=%s missing: %s", f.scenario, strings.Join(f.missing[:min(len(f.missing), 20)], " "))
		}
	})
	return f
}

func (f *faultFigures) note(key string, value any) {
	f.extra = append(f.extra, fmt.Sprintf("%s=%v", key, value))
}

// await polls cond every 200 ms until it holds, for up to timeout, and returns
// how long it took and whether it held. It is for the waits after a fault is
// injected: a timeout is an error but does not end the test, so the scenario
// still counts what is missing and its FAULTS line reports the loss.
func (f *faultFigures) await(t *testing.T, timeout time.Duration, what string, cond func() bool) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	if faultWaitUpTo(timeout, cond) {
		return time.Since(start), true
	}
	t.Errorf("%s: not within %s: %s", f.scenario, timeout, what)
	return time.Since(start), false
}

// recovered notes recovered_after: d, or never when the wait ran out.
func (f *faultFigures) recovered(d time.Duration, ok bool) {
	if !ok {
		f.note("recovered_after", "never")
		return
	}
	f.note("recovered_after", d.Round(time.Second))
}

// expect counts one expected record and whether it is there.
func (f *faultFigures) expect(what string, ok bool) {
	f.checked++
	if !ok {
		f.lost++
		f.missing = append(f.missing, what)
	}
}

// faultName is base with a random suffix, so that a scenario's namespaces are
// its own even against a cluster that ran the suite before.
func faultName(base string) string {
	return fmt.Sprintf("%s-%05x", base, rand.Uint32()&0xfffff)
}

// faultSeed creates the namespaces and pods, and deletes the scenario's pods
// when the test ends: other tests list every pod of the cluster.
func faultSeed(t *testing.T, namespaces []string, pods []fixture.PodSpec) {
	t.Helper()
	seed(t, namespaces, pods)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		zero := int64(0)
		for _, ns := range namespaces {
			err := client.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{})
			if err != nil {
				t.Logf("cleaning up the pods of %s: %v", ns, err)
			}
		}
	})
}

// faultCreate creates placed pods now (the scenario is already running).
func faultCreate(t *testing.T, pods []fixture.PodSpec) {
	t.Helper()
	if err := fixture.CreatePlacedPods(t.Context(), client, pods, 8); err != nil {
		t.Fatal(err)
	}
}

func faultDelete(t *testing.T, pods []fixture.PodSpec) {
	t.Helper()
	zero := int64(0)
	for _, p := range pods {
		if err := client.CoreV1().Pods(p.Namespace).Delete(t.Context(), p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
			t.Fatal(err)
		}
	}
}

// faultPods describes n pods of namespace named <prefix>-<i>, from first.
func faultPods(namespace, prefix string, first, n int, nodeNames []string) []fixture.PodSpec {
	pods := make([]fixture.PodSpec, n)
	for i := range pods {
		pods[i] = fixture.PodSpec{Namespace: namespace, Name: fmt.Sprintf("%s-%d", prefix, first+i), NodeName: nodeNames[(first+i)%len(nodeNames)]}
	}
	return pods
}

// faultWait polls cond every 200 ms until it holds, failing the test after
// timeout. It is for the set-up, before a fault is injected: nothing can be
// lost yet. After the fault, figures.await counts the losses first.
func faultWait(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !faultWaitUpTo(timeout, cond) {
		t.Fatalf("no %s within %s", what, timeout)
	}
}

// faultWaitUpTo polls cond every 200 ms for up to timeout and says whether it held.
func faultWaitUpTo(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// faultStored reads the store, from an hour before since to now.
func faultStored(t *testing.T, history string, since time.Time) map[string]string {
	t.Helper()
	return storedHours(t, history, since.Add(-time.Hour), time.Now())
}

// faultHasAll reports whether stored has every pod on its node (among others).
func faultHasAll(stored map[string]string, pods []fixture.PodSpec) bool {
	for _, p := range pods {
		if !slices.Contains(strings.Split(stored[p.Namespace+"_"+p.Name], ","), p.NodeName) {
			return false
		}
	}
	return true
}

// faultPrinted indexes records by namespace/name, in the order printed.
func faultPrinted(recs []rec) map[string][]rec {
	out := map[string][]rec{}
	for _, r := range recs {
		out[r.key()] = append(out[r.key()], r)
	}
	return out
}

// faultPrintedAll reports whether every pod has a record on its node among recs.
func faultPrintedAll(recs []rec, pods []fixture.PodSpec) bool {
	byPod := faultPrinted(recs)
	for _, p := range pods {
		if !slices.ContainsFunc(byPod[p.Namespace+"/"+p.Name], func(r rec) bool { return r.Node == p.NodeName }) {
			return false
		}
	}
	return true
}

// faultRecs is what p has printed so far.
func faultRecs(p *process) []rec { return parseRecords(p.t, p.stdoutText()) }

// faultStderrLen is how many bytes of stderr p has written, to cut a window
// out of it later.
func faultStderrLen(p *process) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.Len()
}

func faultRunning(p *process) bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// faultKill sends SIGKILL and waits for the process to end.
func faultKill(p *process, timeout time.Duration) {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("ashiato did not die within %s of SIGKILL", timeout)
	}
}

// faultStopAll sends SIGTERM to every process at once, then waits for each
// and returns their exit codes. (process.stop would send a second SIGTERM to
// a process already stopping, which exits at once.)
func faultStopAll(t *testing.T, timeout time.Duration, ps ...*process) []int {
	t.Helper()
	for _, p := range ps {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	codes := make([]int, len(ps))
	deadline := time.After(timeout)
	for i, p := range ps {
		select {
		case <-p.done:
		case <-deadline:
			t.Fatalf("ashiato did not exit within %s of SIGTERM", timeout)
		}
		var exit *exec.ExitError
		switch {
		case errors.As(p.err, &exit):
			codes[i] = exit.ExitCode()
		case p.err != nil:
			t.Fatalf("ashiato: %v", p.err)
		}
	}
	return codes
}

// faultWarnings counts the warning and error lines of a piece of stderr: the
// JSON diagnostics at level warning or error, and client-go's klog lines
// (W or E then the date) that reach stderr too.
func faultWarnings(stderr string) (diagnostics, klog int) {
	for line := range strings.SplitSeq(stderr, "\n") {
		var d struct {
			Level string `json:"level"`
		}
		switch {
		case line == "":
		case json.Unmarshal([]byte(line), &d) == nil:
			if d.Level == "warning" || d.Level == "error" || d.Level == "fatal" {
				diagnostics++
			}
		case len(line) > 5 && (line[0] == 'W' || line[0] == 'E') && line[1] >= '0' && line[1] <= '9':
			klog++
		}
	}
	return diagnostics, klog
}

// TestFaultAPIServerOutage: kube-apiserver stops for 30 s while ashiato runs
// continuously: with --source=watch and with --source=list, both with
// --store-in-cm, and with --source=watch alone (nothing but the watch to tell
// of the outage). Every process stays up and logs the failure, with backoff:
// at least one warning line and at most faultMaxWarnings in the 30 s. After
// recovery each prints the pods created since (a listing: every pod) and
// stores every pod.
func TestFaultAPIServerOutage(t *testing.T) {
	requireCluster(t)
	if cp == nil {
		t.Skip("stopping kube-apiserver needs the suite's own control plane (ASHIATO_CONTROLPLANE_BIN), not ASHIATO_E2E_KUBECONFIG")
	}
	type run struct {
		name, source, ns, history string
		pods, later               []fixture.PodSpec
		p                         *process
		fig                       *faultFigures
		stopOffset                int
		windowWarnings            int
		windowKlog                int
	}
	var runs []*run
	for _, c := range []struct{ name, source string }{{"watch", "watch"}, {"list", "list"}, {"watch-nostore", "watch"}} {
		r := &run{name: c.name, source: c.source, ns: faultName("fault-down-" + c.name)}
		namespaces := []string{r.ns}
		if c.name != "watch-nostore" {
			r.history = faultName("fault-down-" + c.name + "-cm")
			namespaces = append(namespaces, r.history)
		}
		r.pods = faultPods(r.ns, "p", 0, 20, nodes("fault-down", 3))
		r.later = faultPods(r.ns, "p", 20, 5, nodes("fault-down", 3))
		r.fig = newFaultFigures(t, "apiserver-down/"+c.name)
		faultSeed(t, namespaces, r.pods)
		runs = append(runs, r)
	}
	stored := func(r *run, pods []fixture.PodSpec) bool {
		return r.history == "" || faultHasAll(faultStored(t, r.history, r.fig.start), pods)
	}
	for _, r := range runs {
		args := withKubeconfig("--source", r.source, "--interval", "5s", "--namespace", r.ns)
		if r.history != "" {
			args = append(args, "--store-in-cm", "--cm-namespace", r.history, "--cm-flush-interval", "2s")
		}
		r.p = startAshiato(t, args...)
	}
	for _, r := range runs {
		r.p.waitFor(time.Minute, "first records", func(recs []rec) bool { return faultPrintedAll(recs, r.pods) })
		faultWait(t, time.Minute, "first store", func() bool { return stored(r, r.pods) })
	}

	for _, r := range runs {
		r.stopOffset = faultStderrLen(r.p)
	}
	if err := cp.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	restarted := false
	defer func() {
		if !restarted { // the rest of the suite needs it
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if err := cp.StartAPIServer(ctx); err != nil {
				t.Errorf("restarting kube-apiserver: %v", err)
			}
		}
	}()
	for _, r := range runs {
		r.fig.injected = 1
	}
	// The outage itself: nothing to poll, the API server is gone.
	time.Sleep(faultOutage)
	for _, r := range runs {
		r.windowWarnings, r.windowKlog = faultWarnings(r.p.stderrText()[r.stopOffset:])
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if err := cp.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	restarted = true
	up := time.Now()
	t.Logf("kube-apiserver down for %s (stopped %s, restarted in %s)", up.Sub(down).Round(time.Millisecond), faultOutage, up.Sub(down.Add(faultOutage)).Round(time.Millisecond))

	upOffsets := map[*run]int{}
	exited := map[*run]bool{}
	for _, r := range runs {
		if !faultRunning(r.p) {
			exited[r] = true
			t.Errorf("%s exited during the outage (%v); stderr:\n%s", r.name, r.p.err, r.p.stderrText())
		}
		upOffsets[r] = len(faultRecs(r.p))
		faultCreate(t, r.later)
	}
	// A listing prints every pod again; the watch prints what changed (the
	// pods created since), the unchanged ones wait for the next hour's
	// snapshot (--snapshot=hour) and are stored every --interval meanwhile.
	mustPrint := func(r *run) []fixture.PodSpec {
		if r.source == "watch" {
			return r.later
		}
		return append(slices.Clone(r.pods), r.later...)
	}
	for _, r := range runs {
		all := append(slices.Clone(r.pods), r.later...)
		recovered, ok := r.fig.await(t, 2*time.Minute, r.name+": records and store of every pod after recovery", func() bool {
			return faultPrintedAll(faultRecs(r.p)[upOffsets[r]:], mustPrint(r)) && stored(r, all)
		})
		r.fig.recovered(up.Sub(down)+recovered, ok)
	}
	for _, r := range runs {
		if code := r.p.stop(time.Minute); code != 0 || exited[r] {
			t.Errorf("%s: exit %d after SIGTERM", r.name, code)
		} else {
			r.fig.survived = 1
		}
		all := append(slices.Clone(r.pods), r.later...)
		after := faultRecs(r.p)[upOffsets[r]:]
		for _, p := range mustPrint(r) {
			r.fig.expect("printed:"+p.Name, faultPrintedAll(after, []fixture.PodSpec{p}))
		}
		if r.history != "" {
			stored := faultStored(t, r.history, r.fig.start)
			for _, p := range all {
				r.fig.expect("stored:"+p.Name, faultHasAll(stored, []fixture.PodSpec{p}))
			}
		}
		total, totalKlog := faultWarnings(r.p.stderrText()[r.stopOffset:])
		r.fig.note("warnings_first_30s", r.windowWarnings)
		r.fig.note("klog_first_30s", r.windowKlog)
		r.fig.note("warnings_total", total)
		r.fig.note("klog_total", totalKlog)
		if r.fig.lost > 0 {
			t.Errorf("%s: %d of %d records lost after the outage: %v", r.name, r.fig.lost, r.fig.checked, r.fig.missing)
		}
		faultCheckWarnings(t, r.name, r.windowWarnings, r.windowKlog, r.p.stderrText()[r.stopOffset:])
	}
}

// faultCheckWarnings: an outage shows on stderr, with backoff: at least one
// warning line, at most faultMaxWarnings in faultOutage.
func faultCheckWarnings(t *testing.T, name string, diagnostics, klog int, stderr string) {
	t.Helper()
	switch n := diagnostics + klog; {
	case n == 0:
		t.Errorf("%s: not one warning line in the %s the API server was unreachable: the outage is invisible on stderr", name, faultOutage)
	case n > faultMaxWarnings:
		t.Errorf("%s: %d warning lines (%d diagnostics, %d klog) in the first %s of the outage, want at most %d; stderr:\n%.6000s",
			name, n, diagnostics, klog, faultOutage, faultMaxWarnings, stderr)
	}
}

// TestFaultPathCut: ashiato's own path to the API server is cut for 30 s (a
// TCP proxy closes its port and resets every connection) while the cluster
// goes on: pods are created and deleted meanwhile. After the path is back,
// every pod created during the cut is printed and stored, and with
// --source=watch every pod deleted during the cut has a deleted record, even
// one that was created and deleted within the cut (the watch resumes where it
// stopped; a listing cannot see such a pod).
func TestFaultPathCut(t *testing.T) {
	requireCluster(t)
	upstreamAddr, err := faultproxy.UpstreamAddr(restConfig.Host)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := faultproxy.NewTCP(upstreamAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	viaProxy := filepath.Join(t.TempDir(), "kubeconfig")
	if err := proxy.WriteKubeconfig(kubeconfig, viaProxy); err != nil {
		t.Fatal(err)
	}

	type run struct {
		source, ns, history string
		pods, created, gone []fixture.PodSpec
		ephemeral           []fixture.PodSpec // created and deleted during the cut (watch only)
		p                   *process
		fig                 *faultFigures
		cutOffset, cutRecs  int
		windowWarnings      int
		windowKlog          int
	}
	var runs []*run
	for _, source := range []string{"watch", "list"} {
		r := &run{source: source, ns: faultName("fault-cut-" + source), history: faultName("fault-cut-" + source + "-cm")}
		r.pods = faultPods(r.ns, "p", 0, 15, nodes("fault-cut", 3))
		r.created = faultPods(r.ns, "p", 15, 5, nodes("fault-cut", 3))
		r.gone = r.pods[:3]
		if source == "watch" {
			r.ephemeral = faultPods(r.ns, "eph", 0, 1, nodes("fault-cut", 3))
		}
		r.fig = newFaultFigures(t, "path-cut/"+source)
		faultSeed(t, []string{r.ns, r.history}, r.pods)
		runs = append(runs, r)
	}
	for _, r := range runs {
		r.p = startAshiato(t, "--kubeconfig", viaProxy, "--source", r.source, "--interval", "5s", "--namespace", r.ns,
			"--store-in-cm", "--cm-namespace", r.history, "--cm-flush-interval", "2s")
	}
	for _, r := range runs {
		r.p.waitFor(time.Minute, "first records", func(recs []rec) bool { return faultPrintedAll(recs, r.pods) })
		faultWait(t, time.Minute, "first store", func() bool { return faultHasAll(faultStored(t, r.history, r.fig.start), r.pods) })
	}

	for _, r := range runs {
		r.cutOffset, r.cutRecs = faultStderrLen(r.p), len(faultRecs(r.p))
	}
	reset := proxy.Cut()
	cut := time.Now()
	for _, r := range runs {
		r.fig.injected = 1
		faultCreate(t, r.created)
		faultDelete(t, r.gone)
		faultCreate(t, r.ephemeral)
		faultDelete(t, r.ephemeral)
	}
	t.Logf("path cut (%d connections reset); %d pods created and %d deleted per namespace during the cut, in %s",
		reset, len(runs[0].created), len(runs[0].gone), time.Since(cut).Round(time.Millisecond))
	time.Sleep(time.Until(cut.Add(faultOutage))) // the cut itself
	for _, r := range runs {
		r.windowWarnings, r.windowKlog = faultWarnings(r.p.stderrText()[r.cutOffset:])
		// Nothing can have been seen of the changes: the path is cut.
		if faultPrintedAll(faultRecs(r.p)[r.cutRecs:], r.created[:1]) {
			t.Fatalf("--source=%s printed a pod created during the cut before the path was back: the proxy leaks", r.source)
		}
	}
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	restored := time.Now()

	for _, r := range runs {
		live := append(slices.Clone(r.pods[len(r.gone):]), r.created...)
		// A listing prints every live pod again; the watch prints what
		// changed (the unchanged pods wait for the next hour's snapshot,
		// --snapshot=hour, and are stored every --interval meanwhile).
		mustPrint := live
		if r.source == "watch" {
			mustPrint = r.created
		}
		deletedSeen := func(recs []rec, pods []fixture.PodSpec) bool {
			byPod := faultPrinted(recs)
			for _, p := range pods {
				if !slices.ContainsFunc(byPod[p.Namespace+"/"+p.Name], func(r rec) bool { return r.Event == "deleted" && r.Node == p.NodeName }) {
					return false
				}
			}
			return true
		}
		recovered, ok := r.fig.await(t, 2*time.Minute, "records and store of the changes made during the cut", func() bool {
			after := faultRecs(r.p)[r.cutRecs:]
			return faultPrintedAll(after, mustPrint) && (r.source != "watch" || deletedSeen(after, r.gone)) &&
				faultHasAll(faultStored(t, r.history, r.fig.start), append(slices.Clone(r.pods), r.created...))
		})
		// The pod that lived only during the cut comes in the same resumed
		// watch, after the others: a few more flushes at most.
		ephemeralSeen := faultWaitUpTo(15*time.Second, func() bool {
			return deletedSeen(faultRecs(r.p)[r.cutRecs:], r.ephemeral) && faultHasAll(faultStored(t, r.history, r.fig.start), r.ephemeral)
		})
		if code := r.p.stop(time.Minute); code != 0 {
			t.Errorf("--source=%s: exit %d after SIGTERM", r.source, code)
		} else {
			r.fig.survived = 1
		}
		after := faultRecs(r.p)[r.cutRecs:]
		stored := faultStored(t, r.history, r.fig.start)
		for _, p := range mustPrint {
			r.fig.expect("printed:"+p.Name, faultPrintedAll(after, []fixture.PodSpec{p}))
		}
		for _, p := range append(append(slices.Clone(r.pods), r.created...), r.ephemeral...) {
			r.fig.expect("stored:"+p.Name, faultHasAll(stored, []fixture.PodSpec{p}))
		}
		for _, p := range append(slices.Clone(r.gone), r.ephemeral...) {
			if r.source == "watch" {
				r.fig.expect("deleted:"+p.Name, deletedSeen(after, []fixture.PodSpec{p}))
			}
		}
		if len(r.ephemeral) > 0 {
			r.fig.note("ephemeral_seen", ephemeralSeen)
		}
		total, totalKlog := faultWarnings(r.p.stderrText()[r.cutOffset:])
		r.fig.note("connections_reset", reset)
		r.fig.note("warnings_first_30s", r.windowWarnings)
		r.fig.note("klog_first_30s", r.windowKlog)
		r.fig.note("warnings_total", total)
		r.fig.note("klog_total", totalKlog)
		r.fig.recovered(restored.Sub(cut)+recovered, ok)
		if r.fig.lost > 0 {
			t.Errorf("--source=%s: %d of %d records lost after the cut: %v", r.source, r.fig.lost, r.fig.checked, r.fig.missing)
		}
		faultCheckWarnings(t, "--source="+r.source, r.windowWarnings, r.windowKlog, r.p.stderrText()[r.cutOffset:])
	}
}

// faultInjector fails every 3rd LIST, GET, POST and PUT, in turn with a 429
// carrying Retry-After: 1 (client-go retries it by itself), a 500 and a 503
// (which reach ashiato's own retry).
func faultInjector(t *testing.T) (*faultproxy.HTTP, string) {
	t.Helper()
	proxy, err := faultproxy.NewHTTP(restConfig, faultproxy.Options{
		Match: func(verb, _ string) bool {
			return verb == "list" || verb == "get" || verb == "create" || verb == "update"
		},
		Every:  3,
		Faults: []faultproxy.Fault{{Code: 429, RetryAfter: 1}, {Code: 500}, {Code: 503}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := proxy.WriteKubeconfig(path); err != nil {
		t.Fatal(err)
	}
	return proxy, path
}

// faultCodes summarises injected faults as code:count.
func faultCodes(in []faultproxy.Injected) string {
	counts := map[int]int{}
	for _, f := range in {
		counts[f.Code]++
	}
	var parts []string
	for _, code := range []int{429, 500, 503} {
		parts = append(parts, fmt.Sprintf("%d:%d", code, counts[code]))
	}
	return strings.Join(parts, ",")
}

// TestFaultAPIErrors: every 3rd LIST/GET/POST/PUT between ashiato and the API
// server fails with 429, 500 or 503. A --oneshot run over 200 pods exits 0,
// prints each pod exactly once and stores them all; a continuous
// --source=list run prints each pod exactly once per listing and stores them
// all; so does a --source=watch run, once.
func TestFaultAPIErrors(t *testing.T) {
	requireCluster(t)
	ns := faultName("fault-errors")
	histOneshot, histList, histWatch := faultName("fault-errors-oneshot-cm"), faultName("fault-errors-list-cm"), faultName("fault-errors-watch-cm")
	pods := faultPods(ns, "p", 0, 200, nodes("fault-errors", 7))
	faultSeed(t, []string{ns, histOneshot, histList, histWatch}, pods)

	t.Run("oneshot", func(t *testing.T) {
		fig := newFaultFigures(t, "api-errors/oneshot")
		proxy, viaProxy := faultInjector(t)
		res := runAshiato(t, "--kubeconfig", viaProxy, "--oneshot", "--namespace", ns,
			"--store-in-cm", "--cm-namespace", histOneshot)
		injected := proxy.Injected()
		fig.injected = len(injected)
		fig.note("faults", faultCodes(injected))
		fig.note("requests", fmt.Sprint(proxy.Requests()))
		fig.note("exit", res.code)
		if res.code != 0 {
			t.Fatalf("exit %d under injected API errors; stderr:\n%s", res.code, res.stderr)
		}
		fig.survived = fig.injected
		recs := parseRecords(t, res.stdout)
		byPod := faultPrinted(recs)
		stored := faultStored(t, histOneshot, fig.start)
		for _, p := range pods {
			printed := byPod[p.Namespace+"/"+p.Name]
			fig.expect("printed:"+p.Name, len(printed) == 1 && printed[0].Node == p.NodeName)
			fig.expect("stored:"+p.Name, stored[p.Namespace+"_"+p.Name] == p.NodeName)
		}
		fig.note("printed", len(recs))
		if len(recs) != len(pods) || fig.lost > 0 || len(stored) != len(pods) {
			t.Fatalf("printed %d records for %d pods, stored %d; lost %v", len(recs), len(pods), len(stored), fig.missing)
		}
		// One streamed LIST, the namespace checks and the hour's read and
		// write: about ten requests, so three faults, one of each code.
		if fig.injected < 3 {
			t.Fatalf("only %d faults injected: the scenario tests nothing", fig.injected)
		}
	})

	t.Run("list", func(t *testing.T) {
		fig := newFaultFigures(t, "api-errors/list")
		proxy, viaProxy := faultInjector(t)
		p := startAshiato(t, "--kubeconfig", viaProxy, "--source", "list", "--interval", "2s", "--namespace", ns, "--page-size", "25",
			"--store-in-cm", "--cm-namespace", histList, "--cm-flush-interval", "2s", "--log-level", "debug")
		cycles := func() int { return strings.Count(p.stderrText(), `"msg":"list cycle done"`) }
		fig.await(t, 2*time.Minute, "three listings and every pod stored", func() bool {
			return faultRunning(p) && cycles() >= 3 && faultHasAll(faultStored(t, histList, fig.start), pods)
		})
		code := p.stop(time.Minute)
		injected := proxy.Injected()
		fig.injected = len(injected)
		if code != 0 {
			t.Errorf("exit %d after SIGTERM; stderr:\n%s", code, p.stderrText())
		} else {
			fig.survived = fig.injected
		}
		done := cycles()
		fig.note("faults", faultCodes(injected))
		fig.note("listings", done)
		fig.note("requests", fmt.Sprint(proxy.Requests()))
		// Each complete listing printed each pod once; the listing the signal
		// cut short printed some of them once more.
		byPod := faultPrinted(faultRecs(p))
		stored := faultStored(t, histList, fig.start)
		dup := 0
		for _, pod := range pods {
			n := len(byPod[pod.Namespace+"/"+pod.Name])
			fig.expect("printed:"+pod.Name, n >= done)
			if n > done+1 {
				dup++
				t.Errorf("pod %s printed %d times in %d listings", pod.Name, n, done)
			}
			fig.expect("stored:"+pod.Name, faultHasAll(stored, []fixture.PodSpec{pod}))
		}
		fig.note("printed_twice_in_a_listing", dup)
		if fig.lost > 0 {
			t.Fatalf("%d of %d records lost: %v", fig.lost, fig.checked, fig.missing)
		}
		if fig.injected < 5 {
			t.Fatalf("only %d faults injected: the scenario tests nothing", fig.injected)
		}
	})

	// The watch source lists in pages of 500 (its own, not --page-size):
	// the faults hit the namespace checks, its LIST and the sink.
	t.Run("watch", func(t *testing.T) {
		fig := newFaultFigures(t, "api-errors/watch")
		proxy, viaProxy := faultInjector(t)
		p := startAshiato(t, "--kubeconfig", viaProxy, "--source", "watch", "--interval", "1h", "--namespace", ns,
			"--store-in-cm", "--cm-namespace", histWatch, "--cm-flush-interval", "2s")
		fig.await(t, 2*time.Minute, "every pod printed and stored", func() bool {
			return faultRunning(p) && faultPrintedAll(faultRecs(p), pods) && faultHasAll(faultStored(t, histWatch, fig.start), pods)
		})
		code := p.stop(time.Minute)
		injected := proxy.Injected()
		fig.injected = len(injected)
		if code != 0 {
			t.Errorf("exit %d after SIGTERM; stderr:\n%s", code, p.stderrText())
		} else {
			fig.survived = fig.injected
		}
		fig.note("faults", faultCodes(injected))
		fig.note("requests", fmt.Sprint(proxy.Requests()))
		// One initial snapshot, and nothing changes: each pod printed once.
		byPod := faultPrinted(faultRecs(p))
		stored := faultStored(t, histWatch, fig.start)
		for _, pod := range pods {
			printed := byPod[pod.Namespace+"/"+pod.Name]
			fig.expect("printed:"+pod.Name, len(printed) == 1 && printed[0].Node == pod.NodeName)
			fig.expect("stored:"+pod.Name, faultHasAll(stored, []fixture.PodSpec{pod}))
		}
		if fig.lost > 0 {
			t.Fatalf("%d of %d records lost or repeated: %v", fig.lost, fig.checked, fig.missing)
		}
	})
}

// faultHandEdit adds key: value to the ConfigMap name as a person with
// kubectl edit would: read, change, write with the resourceVersion read, and
// again on Conflict. It returns how many Conflicts it met.
func faultHandEdit(t *testing.T, namespace, name, key, value string) int {
	t.Helper()
	conflicts := 0
	for {
		cm, err := client.CoreV1().ConfigMaps(namespace).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[key] = value
		_, err = client.CoreV1().ConfigMaps(namespace).Update(t.Context(), cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
		if apierrors.IsConflict(err) {
			conflicts++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return conflicts
	}
}

// TestFaultConcurrentWriters: two ashiato without leader election, over two
// namespaces, store into the same --cm-namespace while pods keep coming, and
// a person adds a key to the hour's ConfigMap by hand meanwhile. Their writes
// go through a proxy that holds each ConfigMap write 300 ms, so they race.
// After both stop on SIGTERM, no key of either nor the hand-added one is lost.
func TestFaultConcurrentWriters(t *testing.T) {
	requireCluster(t)
	faultHourLeft(t, 2*time.Minute) // the hand edit is of this hour's object
	fig := newFaultFigures(t, "concurrent-writers")
	nsA, nsB, history := faultName("fault-race-a"), faultName("fault-race-b"), faultName("fault-race-cm")
	podsA := faultPods(nsA, "p", 0, 20, nodes("fault-race", 4))
	podsB := faultPods(nsB, "p", 0, 20, nodes("fault-race", 4))
	faultSeed(t, []string{nsA, nsB, history}, append(slices.Clone(podsA), podsB...))

	proxy, err := faultproxy.NewHTTP(restConfig, faultproxy.Options{
		Match: func(verb, resource string) bool {
			return resource == "configmaps" && (verb == "create" || verb == "update")
		},
		Delay: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	viaProxy := filepath.Join(t.TempDir(), "kubeconfig")
	if err := proxy.WriteKubeconfig(viaProxy); err != nil {
		t.Fatal(err)
	}
	start := func(ns string) *process {
		return startAshiato(t, "--kubeconfig", viaProxy, "--source", "watch", "--interval", "1h", "--namespace", ns,
			"--store-in-cm", "--cm-namespace", history, "--cm-flush-interval", "1s")
	}
	a, b := start(nsA), start(nsB)
	faultWait(t, time.Minute, "both instances' first store", func() bool {
		s := faultStored(t, history, fig.start)
		return faultHasAll(s, podsA) && faultHasAll(s, podsB)
	})

	// Pods keep coming to both while a person edits the hour by hand.
	var handHour time.Time
	var handConflicts int
	for round := range 6 {
		more := append(faultPods(nsA, "late", round*2, 2, nodes("fault-race", 4)), faultPods(nsB, "late", round*2, 2, nodes("fault-race", 4))...)
		faultCreate(t, more)
		podsA, podsB = append(podsA, more[:2]...), append(podsB, more[2:]...)
		if round == 2 {
			handHour = store.HourOf(time.Now())
			handConflicts = faultHandEdit(t, history, store.NameFor(handHour), "handns_handpod", "handnode")
		}
		time.Sleep(700 * time.Millisecond) // spread the rounds over several flushes of both
	}
	fig.await(t, time.Minute, "every pod stored", func() bool {
		s := faultStored(t, history, fig.start)
		return faultHasAll(s, podsA) && faultHasAll(s, podsB)
	})
	// Both stop at once: their last flushes race too.
	codes := faultStopAll(t, time.Minute, a, b)
	codeA, codeB := codes[0], codes[1]
	fig.injected = 2 + 1 + proxy.Conflicts() // two writers, the hand edit, the races they lost
	if codeA != 0 || codeB != 0 {
		t.Errorf("exit %d and %d after SIGTERM", codeA, codeB)
	} else {
		fig.survived = fig.injected
	}
	fig.note("conflicts_answered", proxy.Conflicts())
	fig.note("hand_edit_conflicts", handConflicts)
	fig.note("configmap_writes", proxy.Requests()["update"]+proxy.Requests()["create"])

	stored := faultStored(t, history, fig.start)
	for _, p := range append(slices.Clone(podsA), podsB...) {
		fig.expect("stored:"+p.Namespace+"/"+p.Name, faultHasAll(stored, []fixture.PodSpec{p}))
	}
	cm, err := client.CoreV1().ConfigMaps(history).Get(t.Context(), store.NameFor(handHour), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	handKept := cm.Data["handns_handpod"] == "handnode"
	fig.expect("stored:handns/handpod", handKept)
	if fig.lost > 0 {
		t.Fatalf("%d of %d keys lost: %v", fig.lost, fig.checked, fig.missing)
	}
	if cm.Annotations[store.AnnotationFormat] != store.FormatPlain {
		t.Errorf("%s is %q: the hand edit was meant for the plain form", cm.Name, cm.Annotations[store.AnnotationFormat])
	}
}

// faultHourLeft waits for the next hour when less than need is left of this
// one: a scenario about "the hour's ConfigMap" must stay within one hour.
func faultHourLeft(t *testing.T, need time.Duration) {
	t.Helper()
	next := store.HourOf(time.Now()).Add(time.Hour)
	if left := time.Until(next); left < need {
		t.Logf("only %s left of this hour; waiting for the next", left.Round(time.Second))
		time.Sleep(left + time.Second)
	}
}

// TestFaultHourDeleted: the hour's ConfigMap is deleted by hand while ashiato
// runs; the next flush recreates it with the whole hour, pods deleted from
// the cluster since included.
func TestFaultHourDeleted(t *testing.T) {
	requireCluster(t)
	faultHourLeft(t, 2*time.Minute)
	fig := newFaultFigures(t, "hour-deleted")
	ns, history := faultName("fault-hour"), faultName("fault-hour-cm")
	pods := faultPods(ns, "p", 0, 15, nodes("fault-hour", 3))
	faultSeed(t, []string{ns, history}, pods)

	p := startAshiato(t, withKubeconfig("--source", "watch", "--interval", "3s", "--namespace", ns,
		"--store-in-cm", "--cm-namespace", history, "--cm-flush-interval", "2s")...)
	faultWait(t, time.Minute, "first store", func() bool { return faultHasAll(faultStored(t, history, fig.start), pods) })

	// Some pods go away, others come; the store follows.
	gone, created := pods[:5], faultPods(ns, "p", 15, 3, nodes("fault-hour", 3))
	faultDelete(t, gone)
	faultCreate(t, created)
	all := append(slices.Clone(pods), created...)
	p.waitFor(time.Minute, "deleted records", func(recs []rec) bool {
		byPod := faultPrinted(recs)
		for _, g := range gone {
			if !slices.ContainsFunc(byPod[g.Namespace+"/"+g.Name], func(r rec) bool { return r.Event == "deleted" }) {
				return false
			}
		}
		return true
	})
	faultWait(t, time.Minute, "store of the new pods", func() bool { return faultHasAll(faultStored(t, history, fig.start), all) })

	// The hour's objects are deleted by hand.
	hour := store.HourOf(time.Now())
	list, err := client.CoreV1().ConfigMaps(history).List(t.Context(), metav1.ListOptions{LabelSelector: store.HourSelector(hour)})
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range list.Items {
		if err := client.CoreV1().ConfigMaps(history).Delete(t.Context(), cm.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	deleted := time.Now()
	fig.injected = 1
	fig.note("objects_deleted", len(list.Items))
	if len(list.Items) == 0 {
		t.Fatal("no object of the hour to delete")
	}
	oldUIDs := map[string]bool{}
	for _, cm := range list.Items {
		oldUIDs[string(cm.UID)] = true
	}
	recreated, ok := fig.await(t, time.Minute, "the hour recreated whole", func() bool {
		cm, err := client.CoreV1().ConfigMaps(history).Get(t.Context(), store.NameFor(hour), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		return !oldUIDs[string(cm.UID)] && faultHasAll(storedHours(t, history, hour, hour), all)
	})
	if ok {
		fig.note("recreated_after", recreated.Round(100*time.Millisecond))
	} else {
		fig.note("recreated_after", "never")
	}
	if code := p.stop(time.Minute); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	} else {
		fig.survived = 1
	}
	stored := storedHours(t, history, hour, hour)
	for _, pod := range all {
		fig.expect("stored:"+pod.Name, faultHasAll(stored, []fixture.PodSpec{pod}))
	}
	if fig.lost > 0 {
		t.Fatalf("%d of %d pods missing from the recreated hour: %v", fig.lost, fig.checked, fig.missing)
	}
	t.Logf("hour recreated %s after the deletion", time.Since(deleted).Round(time.Millisecond))
}

// TestFaultKillRestart: ashiato is killed (SIGKILL, no draining) after it has
// stored, pods change while it is down, and a new process takes over within
// the hour. Every key written before the kill is still there, on the same
// node, plus the new pods.
func TestFaultKillRestart(t *testing.T) {
	requireCluster(t)
	fig := newFaultFigures(t, "sigkill-restart")
	ns, history := faultName("fault-kill"), faultName("fault-kill-cm")
	pods := faultPods(ns, "p", 0, 15, nodes("fault-kill", 3))
	faultSeed(t, []string{ns, history}, pods)
	args := withKubeconfig("--source", "watch", "--interval", "1h", "--namespace", ns,
		"--store-in-cm", "--cm-namespace", history, "--cm-flush-interval", "1s")

	first := startAshiato(t, args...)
	faultWait(t, time.Minute, "first store", func() bool { return faultHasAll(faultStored(t, history, fig.start), pods) })
	before := faultStored(t, history, fig.start)
	faultKill(first, 30*time.Second)
	fig.injected = 1

	// While nothing runs: pods come and go. The new process never sees the
	// deleted ones; their keys must survive all the same.
	created := faultPods(ns, "p", 15, 5, nodes("fault-kill", 3))
	faultDelete(t, pods[:4])
	faultCreate(t, created)

	second := startAshiato(t, args...)
	fig.await(t, time.Minute, "records of the new pods", func() bool { return faultPrintedAll(faultRecs(second), created) })
	if code := second.stop(time.Minute); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	} else {
		fig.survived = 1
	}
	after := faultStored(t, history, fig.start)
	for key, nodes := range before {
		kept := true
		for _, node := range strings.Split(nodes, ",") {
			kept = kept && slices.Contains(strings.Split(after[key], ","), node)
		}
		fig.expect("kept:"+key, kept)
	}
	for _, p := range created {
		fig.expect("new:"+p.Name, faultHasAll(after, []fixture.PodSpec{p}))
	}
	fig.note("keys_before_kill", len(before))
	fig.note("keys_after_restart", len(after))
	if fig.lost > 0 {
		t.Fatalf("%d of %d keys lost across the kill: %v", fig.lost, fig.checked, fig.missing)
	}
}

// faultLongName is a valid DNS subdomain of exactly n characters, made of
// dot-separated labels that start with prefix.
func faultLongName(prefix string, n int) string {
	var b strings.Builder
	b.WriteString(prefix)
	for b.Len() < n {
		if b.Len()%64 == 63 && b.Len() < n-1 {
			b.WriteByte('.')
			continue
		}
		b.WriteByte("abcdefghijklmnopqrstuvwxyz0123456789"[b.Len()%36])
	}
	return b.String()
}

// faultShort is the start of a long name, for the figures.
func faultShort(name string) string { return name[:min(len(name), 12)] }

// TestFaultLongestNames: pods with 253-character names in a 63-character
// namespace, on a node with a 253-character name, are printed, stored and
// answered by `ashiato history pod` and `history node`.
func TestFaultLongestNames(t *testing.T) {
	requireCluster(t)
	fig := newFaultFigures(t, "longest-names")
	ns := faultName("fault-long")
	ns += "-" + strings.Repeat("x", 61-len(ns)) + "z"
	history := faultName("fault-long-cm")
	longNode := faultLongName("node-", 253)
	pods := []fixture.PodSpec{
		{Namespace: ns, Name: strings.Repeat("a", 253), NodeName: longNode},
		{Namespace: ns, Name: faultLongName("web-", 253), NodeName: longNode},
		{Namespace: ns, Name: faultLongName("db-0.", 253), NodeName: "fault-long-node-0"},
		{Namespace: ns, Name: "short", NodeName: longNode},
	}
	if len(ns) != 63 || len(longNode) != 253 || len(pods[1].Name) != 253 || len(pods[2].Name) != 253 {
		t.Fatalf("name lengths %d %d %d %d", len(ns), len(longNode), len(pods[1].Name), len(pods[2].Name))
	}
	// A name over 63 characters draws an API warning (the hostname is cut).
	quiet := rest.CopyConfig(restConfig)
	quiet.WarningHandler = rest.NoWarnings{}
	seeder, err := kubernetes.NewForConfig(quiet)
	if err != nil {
		t.Fatal(err)
	}
	faultSeed(t, []string{ns, history}, nil)
	if err := fixture.CreatePlacedPods(t.Context(), seeder, pods, 4); err != nil {
		t.Fatal(err)
	}
	fig.injected = len(pods)

	res := runAshiato(t, withKubeconfig("--oneshot", "--namespace", ns, "--store-in-cm", "--cm-namespace", history)...)
	if res.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
	}
	fig.survived = fig.injected
	byPod := faultPrinted(parseRecords(t, res.stdout))
	stored := faultStored(t, history, fig.start)
	for _, p := range pods {
		printed := byPod[p.Namespace+"/"+p.Name]
		fig.expect("printed:"+faultShort(p.Name), len(printed) == 1 && printed[0].Node == p.NodeName)
		fig.expect("stored:"+faultShort(p.Name), stored[p.Namespace+"_"+p.Name] == p.NodeName)

		res := runAshiato(t, "history", "pod", p.Namespace+"/"+p.Name, "-o", "json", "--cm-namespace", history, "--kubeconfig", kubeconfig)
		rows := parseHistory(t, res)
		fig.expect("history-pod:"+faultShort(p.Name), len(rows) == 1 && rows[0].key() == p.Namespace+"/"+p.Name && rows[0].Node == p.NodeName)
	}
	for _, node := range []string{longNode, "fault-long-node-0"} {
		res := runAshiato(t, "history", "node", node, "-o", "json", "--since", "2h", "--cm-namespace", history, "--kubeconfig", kubeconfig)
		var got, want []string
		for _, r := range parseHistory(t, res) {
			got = append(got, r.key())
			if r.Node != node {
				t.Errorf("history node %.20s...: row on %.20s...", node, r.Node)
			}
		}
		for _, p := range pods {
			if p.NodeName == node {
				want = append(want, p.Namespace+"/"+p.Name)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		fig.expect("history-node:"+faultShort(node), slices.Equal(got, want))
	}
	cms, err := client.CoreV1().ConfigMaps(history).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range cms.Items {
		fig.note("form", cm.Annotations[store.AnnotationFormat])
	}
	if fig.lost > 0 {
		t.Fatalf("%d of %d checks failed: %v", fig.lost, fig.checked, fig.missing)
	}
}

// faultBomb is a small gzip stream of many more lines than a reader may
// unpack (store's cap is 64 MiB): about 100 KiB that unpacks to 96 MiB of
// lines that are not placements.
func faultBomb(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("x\n"), 1<<19) // 1 MiB
	for range 96 {
		if _, err := zw.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestFaultHostileStore: the hour ashiato is about to write already holds
// hostile objects, as a careless or malicious hand could leave them: keys that
// are not pods, nodes that are not names, garbage seen-times, a made-up
// format and shard count, an unknown binary key, and a gzip bomb. The history
// query answers from what is readable and names the damage; a --oneshot run
// exits 0, stores its pods, keeps the readable hand-written key, and leaves
// the hour healed: it decodes without a warning.
func TestFaultHostileStore(t *testing.T) {
	requireCluster(t)
	faultHourLeft(t, 2*time.Minute) // the planted objects are of this hour
	fig := newFaultFigures(t, "hostile-store")
	ns, history := faultName("fault-hostile"), faultName("fault-hostile-cm")
	pods := faultPods(ns, "p", 0, 5, nodes("fault-hostile", 2))
	faultSeed(t, []string{ns, history}, pods)

	hour := store.HourOf(time.Now())
	labels := func(shard string) map[string]string {
		return map[string]string{store.LabelApp: store.LabelAppValue, store.LabelType: store.LabelTypeValue,
			store.LabelHour: hour.Format("2006010215"), store.LabelShard: shard}
	}
	bomb := faultBomb(t)
	planted := []*corev1.ConfigMap{
		{
			ObjectMeta: metav1.ObjectMeta{Name: store.NameFor(hour), Namespace: history, Labels: labels("0"),
				Annotations: map[string]string{store.AnnotationFormat: "zstd", store.AnnotationShards: "999"}},
			Data: map[string]string{
				"keepns_keeppod": "keepnode",                                   // readable: kept
				"not-a-key":      "node-a",                                     // no <namespace>_<pod>
				"badns_badpod":   "Bad_Node,,",                                 // no node name
				store.KeySeen:    "garbage\nkeepns_keeppod keepnode 3000 10\n", // not times
			},
		},
		{
			ObjectMeta: metav1.ObjectMeta{Name: store.ShardName(hour, 1), Namespace: history, Labels: labels("1")},
			BinaryData: map[string][]byte{store.KeyPacked: bomb, "extra.bin": []byte("\x00\xff")},
		},
	}
	for _, cm := range planted {
		if _, err := client.CoreV1().ConfigMaps(history).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	fig.injected = 7 // the damaged values above
	fig.note("bomb_bytes", len(bomb))

	// The query reads through the damage.
	queried := time.Now()
	res := runAshiato(t, "history", "node", "keepnode", "-o", "json", "--since", "1h", "--cm-namespace", history, "--kubeconfig", kubeconfig)
	rows := parseHistory(t, res)
	fig.note("history_took", time.Since(queried).Round(10*time.Millisecond))
	fig.expect("history:keepns/keeppod", len(rows) == 1 && rows[0].key() == "keepns/keeppod")
	for _, object := range []string{store.NameFor(hour), store.ShardName(hour, 1)} {
		if !strings.Contains(res.stderr, object) {
			t.Errorf("history: stderr does not name the damaged %s:\n%s", object, res.stderr)
		}
	}
	fig.note("history_warning_lines", strings.Count(strings.TrimSpace(res.stderr), "\n")+1)

	// A run stores into the hostile hour.
	ran := time.Now()
	res = runAshiato(t, withKubeconfig("--oneshot", "--namespace", ns, "--store-in-cm", "--cm-namespace", history)...)
	fig.note("oneshot_took", time.Since(ran).Round(10*time.Millisecond))
	if res.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
	}
	fig.survived = fig.injected
	d, _ := faultWarnings(res.stderr)
	fig.note("oneshot_warning_lines", d)
	if d == 0 || d > 40 {
		t.Errorf("%d warning lines about the damage, want some and at most 40:\n%.4000s", d, res.stderr)
	}
	// storedHours fails on any warning: the hour must be healed.
	stored := storedHours(t, history, hour, hour)
	for _, p := range pods {
		fig.expect("stored:"+p.Name, stored[p.Namespace+"_"+p.Name] == p.NodeName)
	}
	fig.expect("stored:keepns/keeppod", stored["keepns_keeppod"] == "keepnode")
	if len(stored) != len(pods)+1 {
		t.Errorf("the hour holds %v, want the %d pods and the hand-written key", stored, len(pods))
	}
	if fig.lost > 0 {
		t.Fatalf("%d of %d records lost: %v", fig.lost, fig.checked, fig.missing)
	}
}
