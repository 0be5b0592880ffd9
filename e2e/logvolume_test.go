package e2e

import (
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/e2e/fixture"
)

// TestWatchLogVolume: in watch mode with nothing changing, stdout carries the
// initial snapshot and then nothing until the next UTC hour (--snapshot=hour,
// the default), while --snapshot=interval prints every pod every --interval
// as the original tool did. Both store every pod.
func TestWatchLogVolume(t *testing.T) {
	requireCluster(t)
	const ns = "wvolume"
	pods := fixture.PlacedPods(ns, 5, nodes("wvolume", 2))
	seed(t, []string{ns, ns + "-hour", ns + "-interval"}, pods)
	const interval = time.Second
	for _, tt := range []struct {
		snapshot string
		atLeast  int // printed snapshots of each pod
	}{
		{"hour", 1},
		{"interval", 4},
	} {
		t.Run(tt.snapshot, func(t *testing.T) {
			history := ns + "-" + tt.snapshot
			start := time.Now()
			p := startAshiato(t, withKubeconfig("--namespace", ns, "--interval", interval.String(), "--snapshot", tt.snapshot,
				"--store-in-cm", "--cm-namespace", history, "--cm-flush-interval", "1s")...)
			p.waitFor(30*time.Second, "the initial snapshot", func(recs []rec) bool { return len(recs) >= len(pods) })
			time.Sleep(5 * interval)
			if code := p.stop(30 * time.Second); code != 0 {
				t.Fatalf("exit %d after SIGTERM; stderr:\n%s", code, p.stderrText())
			}
			// A run that crosses the turn of an hour prints the new hour's snapshot too.
			hours := int(time.Now().UTC().Truncate(time.Hour).Sub(start.UTC().Truncate(time.Hour))/time.Hour) + 1
			perPod := map[string]int{}
			for _, r := range parseRecords(t, p.stdoutText()) {
				if r.Event != "snapshot" {
					t.Errorf("unexpected %s record of %s: nothing changed", r.Event, r.Pod)
				}
				perPod[r.Pod]++
			}
			for _, pod := range pods {
				n := perPod[pod.Name]
				if tt.snapshot == "hour" && (n < 1 || n > hours) {
					t.Errorf("--snapshot=hour: %s printed %d times in %d hour(s), want once an hour", pod.Name, n, hours)
				}
				if tt.snapshot == "interval" && n < tt.atLeast {
					t.Errorf("--snapshot=interval: %s printed %d times in %s, want at least %d", pod.Name, n, time.Since(start).Round(time.Second), tt.atLeast)
				}
			}
			stored := storedHours(t, history, start.Add(-time.Minute), time.Now())
			for _, pod := range pods {
				if stored[ns+"_"+pod.Name] != pod.NodeName {
					t.Errorf("store holds %q for %s, want %s", stored[ns+"_"+pod.Name], pod.Name, pod.NodeName)
				}
			}
		})
	}
}
