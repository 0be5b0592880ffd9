package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestParseIncidentFlags: flags go before or after the subcommand and its
// NODE, as with kubectl.
func TestParseIncidentFlags(t *testing.T) {
	c, err := parseIncidentFlags([]string{"--context", "prod", "incident", "worker-2", "--at", "2026-11-26T14:02:00Z", "-o", "json", "--window", "1h"}, historyNow, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Node != "worker-2" || !c.At.Equal(time.Date(2026, 11, 26, 14, 2, 0, 0, time.UTC)) || c.Window != time.Hour || c.Output != "json" || c.kube.conn.Context != "prod" {
		t.Errorf("got %+v", c)
	}
	c, err = parseIncidentFlags([]string{"incident", "worker-2", "--at", "30m"}, historyNow, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Window != 30*time.Minute || !c.At.Equal(historyNow.Add(-30*time.Minute)) || c.Output != "table" || c.kube.store.Namespace != "default" {
		t.Errorf("defaults: got %+v", c)
	}
	c, err = parseIncidentFlags([]string{"--at=1h", "-o", "json", "incident", "n1"}, historyNow, &bytes.Buffer{})
	if err != nil || c.Node != "n1" || c.Output != "json" {
		t.Errorf("flags before incident: %+v, %v", c, err)
	}
}

// TestIncidentInvalidInput: a usage error (exit 2) in one line, before any
// request.
func TestIncidentInvalidInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no node", []string{"incident", "--at", "now"}, "history incident needs the NODE"},
		{"two nodes", []string{"incident", "a", "b", "--at", "now"}, `unexpected argument "b"`},
		{"invalid node", []string{"incident", "Node_1", "--at", "now"}, `invalid node "Node_1"`},
		{"no --at", []string{"incident", "n1"}, "history incident needs --at T"},
		{"bad --at", []string{"incident", "n1", "--at", "yesterday"}, "invalid --at"},
		{"zero window", []string{"incident", "n1", "--at", "now", "--window", "0s"}, "invalid --window 0s"},
		{"huge window", []string{"incident", "n1", "--at", "now", "--window", "48h"}, "invalid --window 48h0m0s"},
		{"bad window", []string{"incident", "n1", "--at", "now", "--window", "soon"}, `invalid argument "soon" for "--window" flag`},
		{"range flags", []string{"incident", "n1", "--since", "1h"}, "unknown flag: --since"},
		{"wide output", []string{"incident", "n1", "--at", "now", "-o", "wide"}, `invalid -o "wide": want table, json or svg`},
		{"bad cm namespace", []string{"incident", "n1", "--at", "now", "--cm-namespace", "A"}, `invalid --cm-namespace "A"`},
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
