package monitoring

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// root is the repository root: the runfiles folder under bazel test, else two
// levels above this file.
func root() string {
	if srcdir, ws := os.Getenv("TEST_SRCDIR"), os.Getenv("TEST_WORKSPACE"); srcdir != "" && ws != "" {
		return filepath.Join(srcdir, ws)
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// The alerts the issue asks for, each with a runbook section.
var wantAlerts = []string{"NodeLostWithPods", "PodAshiatoDown", "PodAshiatoNotRecording", "PodAshiatoStoreFailing", "PodReschedulesHigh", "RescheduleAfterNodeLossSlow"}

func TestRulesFileMatchesPrometheusRule(t *testing.T) {
	plain, err := ReadRules(root())
	if err != nil {
		t.Fatal(err)
	}
	operator, err := ReadPrometheusRule(root())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(plain, operator) {
		t.Errorf("%s and the spec of %s differ; edit both together", RulesFile, PrometheusRule)
	}
	if got := plain.Alerts(); !slices.Equal(got, wantAlerts) {
		t.Errorf("alerts %v, want %v", got, wantAlerts)
	}
}

// TestRunbooks: every alert links to its section of docs/alerts.md, and the
// section exists and says what to run.
func TestRunbooks(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root(), "docs/alerts.md"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile(filepath.Join(root(), RulesFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, alert := range wantAlerts {
		anchor := "docs/alerts.md#" + strings.ToLower(alert)
		if !bytes.Contains(rules, []byte(anchor)) {
			t.Errorf("%s: no runbook_url ending %s", alert, anchor)
		}
		_, section, ok := bytes.Cut(doc, []byte("\n## "+alert+"\n"))
		if !ok {
			t.Errorf("docs/alerts.md has no section ## %s", alert)
			continue
		}
		section, _, _ = bytes.Cut(section, []byte("\n## "))
		if !bytes.Contains(section, []byte("ashiato history")) && !bytes.Contains(section, []byte("kubectl")) {
			t.Errorf("docs/alerts.md, %s: the runbook names no command to run", alert)
		}
	}
}

func promtool(t *testing.T, args ...string) string {
	t.Helper()
	path, err := Tool("promtool")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = root()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestPromtoolCheckRules(t *testing.T) {
	// The shipped file, and the short-for variant the e2e loads.
	rules, err := ReadRules(root())
	if err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(t.TempDir(), "short.rules.yaml")
	if err := rules.WithFor(5 * time.Second).WriteFile(short); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{RulesFile, short} {
		out := promtool(t, "check", "rules", f)
		if !strings.Contains(out, "SUCCESS: 9 rules found") { // 7 alerts, 2 recording rules
			t.Errorf("promtool check rules %s:\n%s", f, out)
		}
	}
}

// TestPromtoolTestRules runs the unit tests of the alerts: each fires when it
// should and stays silent when it should.
func TestPromtoolTestRules(t *testing.T) {
	out := promtool(t, "test", "rules", RuleTests)
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules:\n%s", out)
	}
	// Every alert is tested both ways: at least one expectation of it firing
	// and one of silence.
	tests, err := os.ReadFile(filepath.Join(root(), RuleTests))
	if err != nil {
		t.Fatal(err)
	}
	for _, alert := range wantAlerts {
		fires, silent := false, false
		for line := range strings.SplitSeq(string(tests), "\n") {
			if strings.Contains(line, "alertname: "+alert+", exp_alerts: []") {
				silent = true
			} else if strings.HasSuffix(strings.TrimSpace(line), "alertname: "+alert) {
				fires = true
			}
		}
		if !fires || !silent {
			t.Errorf("%s: tested firing %v, silent %v; want both", alert, fires, silent)
		}
	}
}

func TestWithFor(t *testing.T) {
	rules, err := ReadRules(root())
	if err != nil {
		t.Fatal(err)
	}
	short := rules.WithFor(7 * time.Second)
	n := 0
	for _, g := range short.Groups {
		for _, r := range g["rules"].([]any) {
			rule := r.(map[string]any)
			if _, isAlert := rule["alert"]; !isAlert {
				if _, has := rule["for"]; has {
					t.Errorf("recording rule %v has a for:", rule["record"])
				}
				continue
			}
			if rule["for"] != "7s" {
				t.Errorf("%v: for %v, want 7s", rule["alert"], rule["for"])
			}
			n++
		}
	}
	if n != 7 {
		t.Errorf("%d alerting rules, want 7", n)
	}
	// The production file is unchanged.
	again, _ := ReadRules(root())
	if !reflect.DeepEqual(rules, again) || reflect.DeepEqual(rules, short) {
		t.Error("WithFor changed its receiver, or changed nothing")
	}
}

func TestDashboard(t *testing.T) {
	shipped, err := os.ReadFile(filepath.Join(root(), Dashboard))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := os.ReadFile(filepath.Join(root(), DashboardDocs))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shipped, docs) {
		t.Errorf("%s differs from %s: copy it", DashboardDocs, Dashboard)
	}
	panels, err := ReadDashboard(filepath.Join(root(), Dashboard))
	if err != nil {
		t.Fatal(err)
	}
	metrics := map[string]bool{}
	for _, p := range panels {
		if len(p.Exprs) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, e := range p.Exprs {
			if strings.Contains(Substitute(e), "$") {
				t.Errorf("panel %q: a variable the tests do not substitute: %s", p.Title, e)
			}
			for _, m := range []string{"ashiato_records_emitted_total", "ashiato_reschedules_total", "ashiato_node_transitions_total",
				"ashiato_node_lost_pods", "ashiato_store_last_flush_timestamp_seconds", "ashiato_store_pending_placements", "ashiato_store_hour_shards"} {
				if strings.Contains(e, m+"{") {
					metrics[m] = true
				}
			}
		}
	}
	// Placements, reschedules, node changes, store health.
	if len(metrics) != 7 {
		t.Errorf("the dashboard queries %d of the 7 metrics of its four sections: %v", len(metrics), metrics)
	}
}
