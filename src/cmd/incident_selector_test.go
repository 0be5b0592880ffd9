package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestIncidentNodeSelector: history incident answers for the nodes of a
// label selector (kubectl syntax) instead of one NODE; the two exclude each
// other, and a bad selector is a usage error (exit 2) in one line.
func TestIncidentNodeSelector(t *testing.T) {
	c, err := parseIncidentFlags([]string{"incident", "--node-selector", "topology.kubernetes.io/zone in (zone-1)", "--at", "2026-11-26T14:02:00Z"}, historyNow, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("parseIncidentFlags: %v", err)
	}
	if got := fmt.Sprintf("%+v", *c); !strings.Contains(got, "topology.kubernetes.io/zone in (zone-1)") {
		t.Errorf("config %s lacks the selector", got)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"node and selector", []string{"incident", "n1", "--node-selector", "a=b", "--at", "now"}, "give NODE or --node-selector, not both"},
		{"bad selector", []string{"incident", "--node-selector", "zone in (", "--at", "now"}, "invalid --node-selector"},
		{"neither", []string{"incident", "--at", "now"}, "history incident needs the NODE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"history"}, tt.args...), &stdout, &stderr)
			var usage usageError
			if !errors.As(err, &usage) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("run(history %q) = %v, want a one-line usage error containing %q", tt.args, err, tt.want)
			}
		})
	}
}
