package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/filter"
)

func TestParseFlagsDefaults(t *testing.T) {
	c, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	// The original tool's defaults.
	if c.Interval != 30*time.Second || c.Oneshot || c.storeInCM || c.store.Namespace != "default" ||
		c.Filter.String() != "none" {
		t.Errorf("defaults changed: %+v", c)
	}
	// Watch mode prints a full snapshot once an hour, changes as they happen.
	if c.Snapshot != "hour" {
		t.Errorf("--snapshot defaults to %q, want hour", c.Snapshot)
	}
}

func TestParseFlagsOriginalFlags(t *testing.T) {
	args := []string{"--kubeconfig", "/k", "--interval", "1m", "--oneshot", "--namespace", "shop", "--name", "web-",
		"--label", "app=web", "--store-in-cm", "--cm-namespace", "history", "--context", "prod"}
	c, err := parseFlags(args, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.kube.Kubeconfig != "/k" || c.Interval != time.Minute || !c.Oneshot || fmt.Sprint(c.Filter.Namespaces) != "[shop]" ||
		c.Filter.NamePrefix != "web-" || c.Filter.LabelSelector != "app=web" || !c.storeInCM ||
		c.store.Namespace != "history" || c.kube.Context != "prod" {
		t.Errorf("flags not taken: %+v", c)
	}
	// Go's flag package also takes the single-dash form the original's users may have in scripts.
	if c, err := parseFlags([]string{"-oneshot", "-namespace=shop"}, &bytes.Buffer{}); err != nil || !c.Oneshot || fmt.Sprint(c.Filter.Namespaces) != "[shop]" {
		t.Errorf("single-dash flags: %+v, %v", c, err)
	}
}

func TestParseFlagsFilters(t *testing.T) {
	args := []string{"--namespace", "a, b", "--namespace=c", "--exclude-namespace", "kube-system,kube-public", "--exclude-name", "canary-",
		"--exclude-name", "debug-,tmp-", "--field-selector", "status.phase!=Succeeded", "--node", "n1", "--owner-kind", "Job,CronJob",
		"--exclude-owner-kind", "None", "--label", "!canary,tier notin (a,b)", "--namespace", ""}
	c, err := parseFlags(args, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := filter.Options{
		Namespaces: []string{"a", "b", "c"}, ExcludeNamespaces: []string{"kube-system", "kube-public"},
		ExcludeNamePrefixes: []string{"canary-", "debug-", "tmp-"}, FieldSelector: "status.phase!=Succeeded", Node: "n1",
		OwnerKinds: []string{"Job", "CronJob"}, ExcludeOwnerKinds: []string{"None"}, LabelSelector: "!canary,tier notin (a,b)",
	}
	if got := fmt.Sprintf("%+v", c.Filter); got != fmt.Sprintf("%+v", want) {
		t.Errorf("filters\n got %s\nwant %+v", got, want)
	}
}

// TestInvalidInput is the table of every invalid flag value: each is a usage
// error (exit 2) with one line that names the flag.
func TestInvalidInput(t *testing.T) {
	dir := t.TempDir()
	badYAML := filepath.Join(dir, "bad")
	if err := os.WriteFile(badYAML, []byte("clusters: [[["), 0o600); err != nil {
		t.Fatal(err)
	}
	goodKubeconfig := filepath.Join(dir, "good")
	if err := os.WriteFile(goodKubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--bogus"}, "flag provided but not defined: -bogus"},
		{"positional argument", []string{"pods"}, `unexpected argument "pods"`},
		{"interval not a duration", []string{"--interval", "often"}, `invalid value "often" for flag -interval`},
		{"zero interval", []string{"--interval", "0s"}, "invalid --interval"},
		{"negative interval", []string{"--interval=-5s"}, "invalid --interval"},
		{"unknown snapshot choice", []string{"--snapshot", "daily"}, `invalid --snapshot "daily": want hour or interval`},
		{"bad label selector", []string{"--label", "app=a=b"}, "invalid --label"},
		{"bad namespace", []string{"--namespace", "Shop"}, "invalid --namespace"},
		{"bad name prefix", []string{"--name", "Web_1"}, "invalid --name"},
		{"bad namespace in a list", []string{"--namespace", "shop,Web"}, `invalid --namespace "Web"`},
		{"empty namespace in a list", []string{"--namespace", "shop,,web"}, `invalid --namespace ""`},
		{"bad excluded namespace", []string{"--exclude-namespace", "kube_system"}, `invalid --exclude-namespace "kube_system"`},
		{"every namespace excluded", []string{"--namespace", "a", "--exclude-namespace", "a"}, "excludes every namespace"},
		{"bad excluded name", []string{"--exclude-name", "Canary"}, `invalid --exclude-name "Canary"`},
		{"unknown field", []string{"--field-selector", "status.hostIP=10.0.0.1"}, `pods cannot be selected by field "status.hostIP"`},
		{"field selector syntax", []string{"--field-selector", "status.phase"}, "invalid --field-selector"},
		{"impossible phase", []string{"--field-selector", "status.phase=running"}, "invalid --field-selector"},
		{"bad node", []string{"--node", "Node_1"}, `invalid --node "Node_1"`},
		{"unknown owner kind", []string{"--owner-kind", "Job,Rollout"}, `invalid --owner-kind "Rollout"`},
		{"deployment owner", []string{"--owner-kind", "Deployment"}, "use ReplicaSet"},
		{"unknown excluded owner kind", []string{"--exclude-owner-kind", "Cron"}, `invalid --exclude-owner-kind "Cron"`},
		{"bad cm namespace", []string{"--cm-namespace", "my_ns"}, "invalid --cm-namespace"},
		{"empty cm namespace", []string{"--cm-namespace", ""}, "invalid --cm-namespace"},
		{"zero flush interval", []string{"--cm-flush-interval", "0s"}, "invalid --cm-flush-interval"},
		{"negative retention", []string{"--cm-retention=-1h"}, "invalid --cm-retention -1h0m0s"},
		{"retention not a duration", []string{"--cm-retention", "7d"}, `invalid value "7d" for flag -cm-retention`},
		{"zero page size", []string{"--page-size", "0"}, "invalid --page-size"},
		{"negative metrics namespaces", []string{"--metrics-namespaces=-1"}, "invalid --metrics-namespaces -1"},
		{"zero qps", []string{"--kube-api-qps", "0"}, "invalid --kube-api-qps"},
		{"bad log level", []string{"--log-level", "loud"}, "invalid --log-level"},
		{"oneshot takes no value", []string{"--oneshot=maybe"}, "-oneshot"},
		{"missing kubeconfig", []string{"--kubeconfig", filepath.Join(dir, "nope")}, "invalid --kubeconfig"},
		{"unreadable kubeconfig", []string{"--kubeconfig", badYAML}, "invalid kubeconfig"},
		{"unknown context", []string{"--kubeconfig", goodKubeconfig, "--context", "nope"}, `context "nope" does not exist`},
		{"kubeconfig is a directory", []string{"--kubeconfig", dir}, "invalid kubeconfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			var usage usageError
			if !errors.As(err, &usage) {
				t.Fatalf("run(%q) = %v, want a usage error", tt.args, err)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line containing %q", err, tt.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout got %q; it is for records only", stdout.String())
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &stdout, &stderr); err != nil {
		t.Fatalf("--help: %v", err)
	}
	if !strings.Contains(stderr.String(), "--store-in-cm") && !strings.Contains(stderr.String(), "-store-in-cm") {
		t.Errorf("--help does not list the flags: %q", stderr.String())
	}
	stdout.Reset()
	if err := run(context.Background(), []string{"--version"}, &stdout, &stderr); err != nil || strings.TrimSpace(stdout.String()) != version {
		t.Errorf("--version printed %q, %v", stdout.String(), err)
	}
}
