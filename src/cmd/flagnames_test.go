package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestFlagAliasesNamedAsTyped: a flag with two names (--retention, the
// original --cm-retention) is named in its errors as the user typed it, the
// last one given when both are; and --retention below an hour, which would
// delete every hour but the current one, is refused (0 keeps every hour).
func TestFlagAliasesNamedAsTyped(t *testing.T) {
	tests := []struct {
		args []string
		err  string        // contained in a usage error, or none
		keep time.Duration // --retention taken, when no error
	}{
		{[]string{"--retention", "1s"}, "invalid --retention 1s: ", 0},
		{[]string{"--cm-retention", "1s"}, "invalid --cm-retention 1s: ", 0},
		{[]string{"--retention", "59m"}, "invalid --retention 59m0s: ", 0},
		{[]string{"--retention=-1h"}, "invalid --retention -1h0m0s: ", 0},
		{[]string{"--cm-retention=-1h"}, "invalid --cm-retention -1h0m0s: ", 0},
		{[]string{"--cm-retention", "2h", "--retention", "30m"}, "invalid --retention 30m0s: ", 0},
		{[]string{"--retention", "30m", "--cm-retention", "2h"}, "", 2 * time.Hour},
		{[]string{"--retention", "7d"}, `invalid value "7d" for flag -retention`, 0},
		{[]string{"--cm-retention", "7d"}, `invalid value "7d" for flag -cm-retention`, 0},
		{[]string{"--retention", "0"}, "", 0},
		{[]string{"--retention", "1h"}, "", time.Hour},
		{[]string{"--cm-retention", "720h"}, "", 720 * time.Hour},
		{nil, "", defaultRetention},
		// The cluster flag is --cluster-name for writers, --cluster for readers.
		{[]string{"--store", "s3", "--s3-bucket", "hist", "--cluster-name", "Prod_1"}, "invalid --cluster-name", 0},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			c, err := parseFlags(tt.args, &bytes.Buffer{})
			if tt.err != "" {
				var usage usageError
				if !errors.As(err, &usage) || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("parseFlags = %v, want one line with %q (exit 2)", err, tt.err)
				}
				other := map[bool]string{true: "--retention ", false: "--cm-retention "}[strings.Contains(tt.err, "--cm-retention")]
				if strings.Contains(tt.err, "retention") && strings.Contains(err.Error(), other) {
					t.Errorf("error %q names %s, which was not the name given", err, strings.TrimSpace(other))
				}
				return
			}
			if err != nil || c.Retention != tt.keep {
				t.Fatalf("parseFlags = %v, --retention %s; want %s", err, c.Retention, tt.keep)
			}
		})
	}
	for _, tt := range []struct{ args []string }{
		{[]string{"history", "pod", "shop/a", "--store", "s3", "--s3-bucket", "hist", "--cluster", "Prod_1"}},
		{[]string{"history", "incident", "n1", "--at", "now", "--store", "s3", "--s3-bucket", "hist", "--cluster", "Prod_1"}},
	} {
		err := run(t.Context(), tt.args, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "invalid --cluster:") {
			t.Errorf("%q: %v, want it to name --cluster", tt.args, err)
		}
	}
}
