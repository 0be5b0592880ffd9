// Package monitoring reads what k8s/components/monitoring ships: the alert
// rules (the plain rules file and the PrometheusRule that must hold the same
// groups) and the Grafana dashboard's queries. Its tests check them with
// promtool and need no cluster; the e2e suite uses it to load the same rules
// into a real Prometheus and to run every dashboard query there.
package monitoring

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Paths under the repository root.
const (
	Component      = "k8s/components/monitoring"
	RulesFile      = Component + "/pod-ashiato.rules.yaml"
	PrometheusRule = Component + "/prometheusrule.yaml"
	RuleTests      = Component + "/tests/pod-ashiato.test.yaml"
	Dashboard      = Component + "/pod-ashiato-dashboard.json"
	DashboardDocs  = "docs/grafana-dashboard.json"
	// Job is the scrape job every rule and the dashboard select.
	Job = "pod-ashiato"
	// EnvBinDir names the folder holding prometheus and promtool (bash
	// tools/prometheus.sh prints it); without it they are looked up on PATH.
	EnvBinDir = "ASHIATO_PROMETHEUS_BIN"
)

// Groups is a rules file's content, kept as generic values so that a field
// this package does not know still takes part in comparisons.
type Groups struct {
	Groups []map[string]any `json:"groups"`
}

// ReadRules reads the plain rules file.
func ReadRules(root string) (Groups, error) {
	var g Groups
	b, err := os.ReadFile(filepath.Join(root, RulesFile))
	if err != nil {
		return g, fmt.Errorf("reading the rules: %w", err)
	}
	if err := yaml.UnmarshalStrict(b, &g); err != nil {
		return g, fmt.Errorf("%s: %w", RulesFile, err)
	}
	return g, nil
}

// ReadPrometheusRule reads the PrometheusRule's spec, which has the same shape.
func ReadPrometheusRule(root string) (Groups, error) {
	var obj struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Metadata   map[string]any `json:"metadata"`
		Spec       Groups         `json:"spec"`
	}
	b, err := os.ReadFile(filepath.Join(root, PrometheusRule))
	if err != nil {
		return Groups{}, fmt.Errorf("reading the PrometheusRule: %w", err)
	}
	if err := yaml.UnmarshalStrict(b, &obj); err != nil {
		return Groups{}, fmt.Errorf("%s: %w", PrometheusRule, err)
	}
	if obj.APIVersion != "monitoring.coreos.com/v1" || obj.Kind != "PrometheusRule" {
		return Groups{}, fmt.Errorf("%s is a %s %s, want a monitoring.coreos.com/v1 PrometheusRule", PrometheusRule, obj.APIVersion, obj.Kind)
	}
	return obj.Spec, nil
}

// WithFor is a copy of g whose rules with a for: wait d instead, for a test
// that cannot wait the production durations. Nothing else changes.
func (g Groups) WithFor(d time.Duration) Groups {
	out := Groups{Groups: make([]map[string]any, len(g.Groups))}
	for i, group := range g.Groups {
		cp := map[string]any{}
		for k, v := range group {
			cp[k] = v
		}
		if rules, ok := group["rules"].([]any); ok {
			short := make([]any, len(rules))
			for j, r := range rules {
				rule, ok := r.(map[string]any)
				if !ok {
					short[j] = r
					continue
				}
				rcp := map[string]any{}
				for k, v := range rule {
					rcp[k] = v
				}
				if _, has := rule["for"]; has {
					rcp["for"] = model(d)
				}
				short[j] = rcp
			}
			cp["rules"] = short
		}
		out.Groups[i] = cp
	}
	return out
}

// model is d as Prometheus writes durations (whole seconds: "15s").
func model(d time.Duration) string { return fmt.Sprintf("%ds", int(d.Seconds())) }

// WriteFile writes g as a rules file.
func (g Groups) WriteFile(path string) error {
	b, err := yaml.Marshal(g)
	if err != nil {
		return fmt.Errorf("encoding rules: %w", err)
	}
	return os.WriteFile(path, b, 0o644)
}

// Alerts lists the alert names of g, sorted, once each.
func (g Groups) Alerts() []string {
	seen := map[string]bool{}
	for _, group := range g.Groups {
		rules, _ := group["rules"].([]any)
		for _, r := range rules {
			if rule, ok := r.(map[string]any); ok {
				if name, ok := rule["alert"].(string); ok {
					seen[name] = true
				}
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Panel is one dashboard panel's title and queries.
type Panel struct {
	Title string
	Type  string
	Exprs []string
}

// ReadDashboard returns the dashboard's panels that query (rows have none).
func ReadDashboard(path string) ([]Panel, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the dashboard: %w", err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var panels []Panel
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		panel := Panel{Title: p.Title, Type: p.Type}
		for _, t := range p.Targets {
			panel.Exprs = append(panel.Exprs, t.Expr)
		}
		panels = append(panels, panel)
	}
	return panels, nil
}

// Substitute replaces the Grafana variables a query may hold with what
// Grafana would send: the job, every namespace, and fixed intervals.
func Substitute(expr string) string {
	return strings.NewReplacer(
		"$__rate_interval", "2m",
		"$__interval", "30s",
		"$__range", "1h",
		"$job", Job,
		"$namespace", ".*",
	).Replace(expr)
}

// Tool is the path of prometheus or promtool: in $ASHIATO_PROMETHEUS_BIN,
// else on PATH.
func Tool(name string) (string, error) {
	if dir := os.Getenv(EnvBinDir); dir != "" {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("%s: %w", EnvBinDir, err)
		}
		return path, nil
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found (bash tools/prometheus.sh installs Debian's prometheus package and prints the folder for %s): %w", name, EnvBinDir, err)
	}
	return path, nil
}
