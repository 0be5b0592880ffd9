package main

import (
	"strings"
	"testing"
)

func TestPathBinaries(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string // substrings of the failure; none: the check passes
	}{
		{
			// The defect of issue 28: //e2e/monitoring:monitoring_test, tagged
			// only external, found promtool on PATH.
			"a test in //... that looks a tool up on PATH",
			probeTree(`    tags = ["external"],`+"\n", ""),
			[]string{"probe/probe.go:16: //probe:probe_test looks up a program on PATH (exec.LookPath(name)), and it is not tagged manual"},
		},
		{"the same test tagged manual", probeTree(`    tags = ["manual"],`+"\n", ""), nil},
		{
			"exec.Command of a bare name in a test in //...",
			func() map[string]string {
				f := probeTree(`    tags = ["manual"],`+"\n", "")
				f["suite/BUILD.bazel"] = strings.Replace(f["suite/BUILD.bazel"], `    tags = ["manual"],`+"\n", "", 1)
				return f
			}(),
			[]string{`suite/suite_test.go:16: //suite:suite_test looks up kubectl on PATH (exec.CommandContext(..., "kubectl", ...))`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkOutcome(t, checkPathBinaries(writeTree(t, tc.files)), tc.want)
		})
	}
}
