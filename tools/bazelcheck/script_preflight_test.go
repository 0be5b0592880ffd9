package main

import (
	"testing"
)

func TestScriptPreflight(t *testing.T) {
	// //suite:suite_test reads ASHIATO_TOOL_BIN from the shell (and
	// ASHIATO_BROWSER, which its env sets).
	script := func(body string) map[string]string {
		f := probeTree("", "test:e2e --test_env=ASHIATO_TOOL_BIN\n")
		f["tools/e2e.sh"] = "#!/usr/bin/env bash\nset -euo pipefail\n" + body
		return f
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string // substrings of the failure; none: the check passes
	}{
		{
			// The defect of issue 28: tools/kind-e2e.sh checked its own tools
			// only, created the cluster, and the suite then lacked its tools.
			"the cluster is created before the suite's tools are checked",
			script("for tool in docker kind bazel; do\n  command -v \"$tool\" >/dev/null || exit 2\ndone\n" +
				"kind create cluster --name e2e  # needs ASHIATO_TOOL_BIN later\n" +
				"bazel test //suite:suite_test --config=e2e \\\n  --test_output=errors\n"),
			[]string{`tools/e2e.sh:6: "kind create cluster --name e2e" runs before the script deals with ASHIATO_TOOL_BIN, which //suite:suite_test reads (probe/probe.go:13) and ` +
				"`bazel test` on line 7 takes from the shell"},
		},
		{
			"checked first",
			script("[ -x \"${ASHIATO_TOOL_BIN:-}/promtool\" ] || { echo \"missing promtool\" >&2; exit 2; }\n" +
				"kind create cluster --name e2e\nbazel test //suite:suite_test --config=e2e\n"),
			nil,
		},
		{
			"set on the bazel test line",
			script("kind create cluster --name e2e\nbazel test --config=e2e //suite:suite_test --test_env=ASHIATO_TOOL_BIN=\"$HOME/.cache/tools\"\n"),
			nil,
		},
		{
			"named only in a comment, and too late",
			script("# ASHIATO_TOOL_BIN: from the shell\nbazel run //cmd/tree:treebin\nexport ASHIATO_TOOL_BIN=$HOME/tools\nbazel test //suite:suite_test\n"),
			[]string{`tools/e2e.sh:4: "bazel run //cmd/tree:treebin" runs before the script deals with ASHIATO_TOOL_BIN`},
		},
		{
			"bazel test as the first step",
			script("bazel --output_user_root=\"$HOME/.cache/b\" test //suite:suite_test\n"),
			[]string{`tools/e2e.sh:3: "bazel --output_user_root=$HOME/.cache/b test //suite:suite_test" runs before`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkOutcome(t, checkScriptPreflight(writeTree(t, tc.files)), tc.want)
		})
	}
}
