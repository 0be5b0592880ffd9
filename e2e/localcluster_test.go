package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLocalCluster runs the local cluster as a user does (`localcluster up`),
// then the `history incident` command it prints, which must answer with the
// failed node's workloads rescheduled; then `down` must stop everything.
func TestLocalCluster(t *testing.T) {
	requireCluster(t)
	if cp == nil {
		t.Skip("needs the control-plane binaries: the local cluster starts a control plane of its own")
	}
	// Under bazel test, the //e2e/localcluster binary (data, relative to the runfiles).
	bin := os.Getenv("ASHIATO_LOCALCLUSTER_BIN")
	if bin != "" {
		var err error
		if bin, err = filepath.Abs(bin); err != nil {
			t.Fatal(err)
		}
	} else {
		bin = filepath.Join(t.TempDir(), "localcluster")
		build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "./e2e/localcluster")
		build.Dir = repoRoot()
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build ./e2e/localcluster: %v\n%s", err, out)
		}
	}
	dir := t.TempDir()
	localcluster := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		cmd := exec.CommandContext(t.Context(), bin, append(args, "--dir", dir)...)
		cmd.Dir = repoRoot()
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	t.Cleanup(func() { _, _, _ = localcluster("down") })

	start := time.Now()
	out, errOut, err := localcluster("up", "--ashiato", ashiatoBin)
	if err != nil {
		t.Fatalf("localcluster up: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	t.Logf("localcluster up took %s; it printed:\n%s", time.Since(start).Round(time.Second), out)

	// The printed text ends with the commands to try, the incident first.
	var commands []string
	for line := range strings.SplitSeq(out, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "/") {
			commands = append(commands, l)
		}
	}
	if len(commands) != 3 || !strings.Contains(commands[0], " history incident ") || !strings.Contains(commands[1], " history node ") ||
		!strings.Contains(commands[2], " serve ") || !strings.HasSuffix(strings.TrimSpace(out), commands[2]) {
		t.Fatalf("want the incident, node and serve commands, last: %q", commands)
	}
	args := strings.Fields(commands[0])
	run := func(extra ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(t.Context(), args[0], append(args[1:], extra...)...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		begin := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", commands[0], err, stderr.String())
		}
		if d := time.Since(begin); d > time.Minute {
			t.Errorf("%s took %s, want under a minute", commands[0], d)
		}
		return stdout.String()
	}
	table := run()
	t.Logf("%s\n%s", commands[0], table)
	for _, want := range []string{"node_unknown", "ReplicaSet/", "rescheduled after"} {
		if !strings.Contains(table, want) {
			t.Errorf("the incident answer lacks %q", want)
		}
	}
	var answer struct {
		Pods []struct {
			OwnerKind string `json:"owner_kind"`
			Outcome   string `json:"outcome"`
		} `json:"pods"`
	}
	if err := json.Unmarshal([]byte(run("-o", "json")), &answer); err != nil {
		t.Fatal(err)
	}
	rescheduled := map[string]int{}
	for _, p := range answer.Pods {
		if p.Outcome == "rescheduled" {
			rescheduled[p.OwnerKind]++
		}
	}
	if rescheduled["ReplicaSet"] == 0 {
		t.Errorf("no ReplicaSet's pod rescheduled: %+v", answer.Pods)
	}

	if out, errOut, err := localcluster("down"); err != nil {
		t.Fatalf("localcluster down: %v\n%s%s", err, out, errOut)
	}
	if out, _, err := localcluster("status"); err == nil || !strings.Contains(out, "not running") {
		t.Errorf("localcluster status after down: %v, %q; want exit 1, not running", err, out)
	}
}
