package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/readers"
)

var historyNow = time.Date(2026, 11, 26, 14, 30, 0, 0, time.UTC)

func TestParseHistoryFlags(t *testing.T) {
	at := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	tests := []struct {
		name   string
		args   []string
		pod    string
		node   string
		window history.Window
		isAt   bool
		output string
		cmNS   string
	}{
		{"pod: the last 24h by default", []string{"pod", "shop/web-0"}, "shop/web-0", "",
			history.Window{Since: historyNow.Add(-24 * time.Hour), Until: historyNow}, false, "table", "default"},
		{"pod: flags after the argument", []string{"pod", "shop/web-0", "--since", "2h", "--until", "30m", "-o", "json", "--cm-namespace", "hist"}, "shop/web-0", "",
			history.Window{Since: historyNow.Add(-2 * time.Hour), Until: historyNow.Add(-30 * time.Minute)}, false, "json", "hist"},
		{"pod: flags before the subcommand", []string{"--cm-namespace", "hist", "-o", "wide", "pod", "shop/web-0"}, "shop/web-0", "",
			history.Window{Since: historyNow.Add(-24 * time.Hour), Until: historyNow}, false, "wide", "hist"},
		{"pod: 24h before --until", []string{"pod", "a/b", "--until", "2026-11-20T00:00:00Z"}, "a/b", "",
			history.Window{Since: at("2026-11-19T00:00:00Z"), Until: at("2026-11-20T00:00:00Z")}, false, "table", "default"},
		{"pod at an instant", []string{"pod", "a/b", "--at", "2026-11-26T23:05:00+09:00"}, "a/b", "",
			history.At(at("2026-11-26T14:05:00Z")), true, "table", "default"},
		{"node at now", []string{"node", "ip-10-0-1-2.ec2.internal", "--at", "now", "--output=json"}, "", "ip-10-0-1-2.ec2.internal",
			history.At(historyNow), true, "json", "default"},
		{"node over a range until now", []string{"node", "n1", "--since", "1h30m"}, "", "n1",
			history.Window{Since: historyNow.Add(-90 * time.Minute), Until: historyNow}, false, "table", "default"},
		{"node as a picture", []string{"node", "n1", "--since", "1h30m", "-o", "svg"}, "", "n1",
			history.Window{Since: historyNow.Add(-90 * time.Minute), Until: historyNow}, false, "svg", "default"},
		{"an empty range is one instant", []string{"node", "n1", "--since", "1h", "--until", "1h"}, "", "n1",
			history.Window{Since: historyNow.Add(-time.Hour), Until: historyNow.Add(-time.Hour)}, false, "table", "default"},
		{"longest names", []string{"pod", strings.Repeat("n", 63) + "/" + strings.Repeat("p", 253)}, strings.Repeat("n", 63) + "/" + strings.Repeat("p", 253), "",
			history.Window{Since: historyNow.Add(-24 * time.Hour), Until: historyNow}, false, "table", "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseHistoryFlags(tt.args, historyNow, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			pod := ""
			if c.Node == "" {
				pod = c.Pod.String()
			}
			if pod != tt.pod || c.Node != tt.node || !c.Window.Since.Equal(tt.window.Since) || !c.Window.Until.Equal(tt.window.Until) ||
				c.At != tt.isAt || c.Output != tt.output || c.kube.store.Namespace != tt.cmNS {
				t.Errorf("got pod %q node %q window %v..%v at %v output %q ns %q", pod, c.Node, c.Window.Since, c.Window.Until, c.At, c.Output, c.kube.store.Namespace)
			}
		})
	}
}

// TestHistoryInvalidInput: each is a usage error (exit 2) in one line that
// names the problem, with nothing on stdout and no request made.
func TestHistoryInvalidInput(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", nil, "missing what to show"},
		{"only flags", []string{"--at", "now"}, "missing what to show"},
		{"unknown subcommand", []string{"pods", "a/b"}, `unknown history "pods": want pod, node or incident`},
		{"pod without its name", []string{"pod"}, "history pod needs the NAMESPACE/NAME"},
		{"pod without a slash", []string{"pod", "web-0"}, `invalid pod "web-0": want NAMESPACE/NAME`},
		{"pod with two slashes", []string{"pod", "a/b/c"}, `invalid pod "a/b/c": name "b/c"`},
		{"pod with an empty namespace", []string{"pod", "/web-0"}, `invalid pod "/web-0": namespace ""`},
		{"pod with an invalid namespace", []string{"pod", "Shop/web-0"}, `invalid pod "Shop/web-0": namespace "Shop"`},
		{"pod with a too long namespace", []string{"pod", strings.Repeat("n", 64) + "/web"}, "namespace"},
		{"pod with an invalid name", []string{"pod", "shop/web_0"}, `invalid pod "shop/web_0": name "web_0"`},
		{"pod with a too long name", []string{"pod", "shop/" + strings.Repeat("p", 254)}, "name"},
		{"two pods", []string{"pod", "a/b", "c/d"}, `unexpected argument "c/d"`},
		{"node without its name", []string{"node", "--at", "now"}, "history node needs the NODE"},
		{"invalid node", []string{"node", "Node_1", "--at", "now"}, `invalid node "Node_1"`},
		{"node without a time", []string{"node", "n1"}, "history node needs --at T or --since T"},
		{"node with only --until", []string{"node", "n1", "--until", "1h"}, "history node needs --at T or --since T"},
		{"bad --at", []string{"node", "n1", "--at", "yesterday"}, `invalid --at: "yesterday" is not a time`},
		{"bad --since", []string{"pod", "a/b", "--since", "2d"}, `invalid --since: "2d" is not a time`},
		{"bad --until", []string{"pod", "a/b", "--until", "2026-11-26"}, `invalid --until: "2026-11-26" is not a time`},
		{"negative duration", []string{"pod", "a/b", "--since", "-2h"}, `invalid --since: "-2h"`},
		{"--since after --until", []string{"pod", "a/b", "--since", "1h", "--until", "2h"}, "is after --until"},
		{"a range beyond 31 days", []string{"pod", "a/b", "--since", "745h"}, "is longer than 744h0m0s (31 days)"},
		{"a node range beyond 31 days", []string{"node", "n1", "--since", "2000h", "--until", "1h"}, "invalid --since"},
		{"--at with --since", []string{"pod", "a/b", "--at", "now", "--since", "1h"}, "--at is an instant"},
		{"unknown flag", []string{"pod", "a/b", "--nmespace", "x"}, "unknown flag: --nmespace"},
		{"a main-command flag", []string{"node", "n1", "--at", "now", "--oneshot"}, "unknown flag: --oneshot"},
		{"unknown output", []string{"pod", "a/b", "-o", "yaml"}, `invalid -o "yaml": want table, wide, json or svg`},
		{"bad cm namespace", []string{"pod", "a/b", "--cm-namespace", "My_NS"}, `invalid --cm-namespace "My_NS"`},
		{"missing kubeconfig", []string{"pod", "a/b", "--kubeconfig", filepath.Join(dir, "nope")}, "invalid --kubeconfig"},
		{"bad namespace filter", []string{"node", "n1", "--at", "now", "--namespace", "shop,Web"}, `invalid --namespace "Web"`},
		{"bad excluded namespace", []string{"node", "n1", "--at", "now", "--exclude-namespace", "kube_system"}, `invalid --exclude-namespace "kube_system"`},
		{"bad name filter", []string{"node", "n1", "--at", "now", "--exclude-name", "Web"}, `invalid --exclude-name "Web"`},
		{"filter on one pod", []string{"pod", "a/b", "--namespace", "a"}, "history pod names one pod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"history"}, tt.args...), &stdout, &stderr)
			var usage usageError
			if !errors.As(err, &usage) {
				t.Fatalf("run(history %q) = %v, want a usage error", tt.args, err)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line containing %q", err, tt.want)
			}
			if stdout.Len() > 0 || stderr.Len() > 0 {
				t.Errorf("printed %q / %q before failing", stdout.String(), stderr.String())
			}
		})
	}
}

// TestHistoryNodeFilters: history node takes the recorder's namespace and
// name filters; the rows they keep are answer's (TestKeepRows).
func TestHistoryNodeFilters(t *testing.T) {
	c, err := parseHistoryFlags([]string{"node", "n1", "--at", "now", "--namespace", "shop,kube-system", "--exclude-namespace", "kube-system",
		"--exclude-name", "web-canary"}, historyNow, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	c.Where = "namespace default"
	if want := `no pods matching --namespace="shop,kube-system" --exclude-namespace="kube-system" --exclude-name="web-canary" on node n1 at`; !strings.HasPrefix(c.NothingFound(), want) {
		t.Errorf("nothing found: %q, want it to start with %q", c.NothingFound(), want)
	}
}

func TestHistoryHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"pod", "-h"}, {"node", "n1", "--help"}} {
		var stdout, stderr bytes.Buffer
		if c, err := parseHistoryFlags(args, historyNow, &stderr); c != nil || err != nil {
			t.Fatalf("%q: %v, %v, want help", args, c, err)
		}
		if err := run(context.Background(), append([]string{"history"}, args...), &stdout, &stderr); err != nil {
			t.Errorf("%q: %v", args, err)
		}
		for _, want := range []string{"ashiato history node NODE --at T", "first seen <= T <= last seen + 5m", "--cm-namespace", "Examples:"} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("help lacks %q", want)
			}
		}
	}
}

func TestNothingFound(t *testing.T) {
	pod, err := parseHistoryFlags([]string{"pod", "shop/web-0", "--since", "2h", "--cm-namespace", "hist"}, historyNow, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	node, err := parseHistoryFlags([]string{"node", "n1", "--at", "now"}, historyNow, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	for c, want := range map[*historyConfig]string{
		pod:  "no placements of pod shop/web-0 between 2026-11-26T12:30:00Z and 2026-11-26T14:30:00Z in the history in namespace hist",
		node: "no pods on node n1 at 2026-11-26T14:30:00Z in the history in namespace default",
	} {
		c.Where = readers.StoreName(&c.kube.store, nil)
		if got := c.NothingFound(); got != want {
			t.Errorf("got %q\nwant %q", got, want)
		}
	}
}
