package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pod-ashiato/ashiato/e2e/fixture"
	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// rec is one stdout line of ashiato, decoded strictly: the schema docs/recorder.md documents.
type rec struct {
	Namespace    string `json:"namespace"`
	Pod          string `json:"pod_name"`
	Node         string `json:"node_name"`
	PodIP        string `json:"pod_ip"`
	HostIP       string `json:"host_ip"`
	Phase        string `json:"phase"`
	Timestamp    string `json:"timestamp"`
	UID          string `json:"uid"`
	OwnerKind    string `json:"owner_kind"`
	OwnerName    string `json:"owner_name"`
	StartTime    string `json:"start_time"`
	Event        string `json:"event"`
	PreviousNode string `json:"previous_node"`
	Level        string `json:"level"`
	Msg          string `json:"msg"`
	Conditions   []struct {
		Type               string `json:"type"`
		Status             string `json:"status"`
		LastTransitionTime string `json:"last_transition_time"`
	} `json:"conditions"`
}

func (r rec) key() string { return r.Namespace + "/" + r.Pod }

// parseRecords decodes stdout, failing the test on any line that is not a
// placement record: stdout is for records only.
func parseRecords(t *testing.T, stdout string) []rec {
	t.Helper()
	var out []rec
	for i, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if line == "" && len(stdout) == 0 {
			break
		}
		if isNodeRecord(t, line) {
			continue // a node lifecycle record, checked by isNodeRecord; parseNodeRecords reads them
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var r rec
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("stdout line %d is not a placement record (%v): %q", i+1, err, line)
		}
		if r.Msg != "pod placement" || r.Namespace == "" || r.Pod == "" {
			t.Fatalf("stdout line %d is not a placement record: %q", i+1, line)
		}
		if _, err := time.Parse(time.RFC3339, r.Timestamp); err != nil || !strings.HasSuffix(r.Timestamp, "Z") {
			t.Fatalf("stdout line %d: timestamp %q is not RFC 3339 UTC", i+1, r.Timestamp)
		}
		out = append(out, r)
	}
	return out
}

// result is a finished ashiato run.
type result struct {
	stdout, stderr string
	code           int
}

// runAshiato runs the binary to completion (bounded by a minute).
func runAshiato(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ashiatoBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running ashiato %v: %v", args, err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// withKubeconfig puts the suite's kubeconfig first.
func withKubeconfig(args ...string) []string {
	return append([]string{"--kubeconfig", kubeconfig}, args...)
}

// process is a long-running ashiato whose stdout is read line by line.
type process struct {
	t      *testing.T
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string
	stderr bytes.Buffer
	done   chan struct{}
	err    error
}

func startAshiato(t *testing.T, args ...string) *process {
	t.Helper()
	p := &process{t: t, cmd: exec.Command(ashiatoBin, args...), done: make(chan struct{})}
	p.cmd.Stderr = &lockedWriter{w: &p.stderr, mu: &p.mu}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("ashiato stderr:\n%s", p.stderrText())
		}
	})
	return p
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (p *process) stdoutText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.lines) == 0 {
		return ""
	}
	return strings.Join(p.lines, "\n") + "\n"
}

func (p *process) stderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// waitFor polls the records printed so far until cond holds or timeout passes.
func (p *process) waitFor(timeout time.Duration, what string, cond func([]rec) bool) []rec {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		recs := parseRecords(p.t, p.stdoutText())
		if cond(recs) {
			return recs
		}
		select {
		case <-p.done:
			p.t.Fatalf("ashiato exited (%v) before %s; stderr:\n%s", p.err, what, p.stderrText())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no %s within %s", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM and returns the exit code.
func (p *process) stop(timeout time.Duration) int {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("ashiato did not exit within %s of SIGTERM", timeout)
	}
	var exit *exec.ExitError
	if errors.As(p.err, &exit) {
		return exit.ExitCode()
	}
	if p.err != nil {
		p.t.Fatalf("ashiato: %v", p.err)
	}
	return 0
}

// seed creates namespaces and placed pods, failing the test on error.
func seed(t *testing.T, namespaces []string, pods []fixture.PodSpec) {
	t.Helper()
	if err := fixture.CreateNamespaces(t.Context(), client, namespaces...); err != nil {
		t.Fatal(err)
	}
	if err := fixture.CreatePlacedPods(t.Context(), client, pods, 16); err != nil {
		t.Fatal(err)
	}
}

// nodes names n nodes with a prefix; fixture pods only need the names.
func nodes(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-node-%d", prefix, i)
	}
	return out
}

// livePods lists every pod of the cluster by namespace/name.
func livePods(t *testing.T) map[string]corev1.Pod {
	t.Helper()
	list, err := client.CoreV1().Pods("").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]corev1.Pod, len(list.Items))
	for _, p := range list.Items {
		out[p.Namespace+"/"+p.Name] = p
	}
	return out
}

// keys is the sorted set of namespace/name of recs; it fails on a duplicate.
func keysOnce(t *testing.T, recs []rec) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.key()] {
			t.Fatalf("pod %s printed more than once", r.key())
		}
		seen[r.key()] = true
	}
	return sortedKeys(seen)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// storedHours reads back every placement stored in namespace for the hours
// between from and to, as namespace_pod → comma-separated nodes (see
// joinHours), through the same codec the product uses.
func storedHours(t *testing.T, namespace string, from, to time.Time) map[string]string {
	t.Helper()
	var hours []*store.Hour
	for hour := store.HourOf(from); !hour.After(to); hour = hour.Add(time.Hour) {
		list, err := client.CoreV1().ConfigMaps(namespace).List(t.Context(), metav1.ListOptions{LabelSelector: store.HourSelector(hour)})
		if err != nil {
			t.Fatal(err)
		}
		h, _, warnings := store.Decode(t.Context(), hour, asShards(list.Items))
		if len(warnings) > 0 {
			t.Fatalf("stored hour %s is damaged: %v", store.NameFor(hour), warnings)
		}
		hours = append(hours, h)
	}
	return joinHours(hours)
}

// joinHours joins hours, oldest first, into namespace_pod → the nodes the pod
// was on, in the order seen, one entry per stay: a pod that stays on n1 across
// the turn of the hour is stored in both hours and is "n1", not "n1,n1", so a
// test that runs across an hour still compares with one node.
func joinHours(hours []*store.Hour) map[string]string {
	nodes := map[string][]string{}
	for _, h := range hours {
		for ref, seen := range h.Pods {
			k := ref.Namespace + "_" + ref.Name
			for _, s := range seen {
				if n := nodes[k]; len(n) > 0 && n[len(n)-1] == s.Node {
					continue // still there from the hour before
				}
				nodes[k] = append(nodes[k], s.Node)
			}
		}
	}
	got := make(map[string]string, len(nodes))
	for k, n := range nodes {
		got[k] = strings.Join(n, ",")
	}
	return got
}

// asShards is a listing's ConfigMaps as the store's shards, for the codec.
func asShards(cms []corev1.ConfigMap) []storeio.Shard {
	out := make([]storeio.Shard, len(cms))
	for i := range cms {
		out[i] = configmapstore.Shard(&cms[i])
	}
	return out
}

// configMaps is what the ConfigMap store of namespace writes for the shards.
func configMaps(namespace string, ss []*storeio.Shard) []*corev1.ConfigMap {
	st := configmapstore.New(nil, namespace)
	out := make([]*corev1.ConfigMap, len(ss))
	for i, s := range ss {
		out[i] = st.ConfigMap(s)
	}
	return out
}
