package main

import (
	"strings"
	"testing"
)

func TestTmpHandoff(t *testing.T) {
	script := func(body string) map[string]string {
		f := goodTree()
		f["tools/e2e.sh"] = "#!/usr/bin/env bash\nset -euo pipefail\n" + body
		return f
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string // substrings of the failure; none: the check passes
	}{
		{
			// The defect of issue 19 (tools/kind-e2e.sh).
			"a mktemp kubeconfig handed to bazel test",
			script("kubeconfig=$(mktemp)\ntrap 'rm -f \"$kubeconfig\"' EXIT\nkind get kubeconfig >\"$kubeconfig\"\n" +
				"bazel test //e2e:e2e_test --config=e2e \\\n  --test_env=KUBE=\"$kubeconfig\" \\\n  --test_output=errors\n"),
			[]string{`tools/e2e.sh:6: --test_env=KUBE=$kubeconfig hands the test a path in the temp dir: $kubeconfig is in the temp dir (line 3: kubeconfig=$(mktemp))`},
		},
		{
			"the project's cache folder",
			script("cache=${XDG_CACHE_HOME:-$HOME/.cache}/tree/kind\nmkdir -p \"$cache\"\nkubeconfig=$cache/kubeconfig\n" +
				"bazel test //e2e:e2e_test --test_env=KUBE=\"$kubeconfig\"\n"),
			nil,
		},
		{
			"mktemp in a folder of its own",
			script("kubeconfig=$(mktemp -p \"$HOME/.cache\" kubeconfig.XXXXXX)\nbazel test //e2e:e2e_test --test_env=KUBE=\"$kubeconfig\"\n"),
			nil,
		},
		{
			"mktemp with a template under /tmp",
			script("dir=$(mktemp -d /tmp/e2e.XXXXXX)\nbazel test //e2e:e2e_test --test_env=KUBE=\"$dir/kubeconfig\"\n"),
			[]string{"$dir is in the temp dir (line 3: dir=$(mktemp -d /tmp/e2e.XXXXXX))"},
		},
		{
			"a variable passed through by name",
			script("export KUBE=\"${TMPDIR:-/tmp}/kubeconfig\"\nbazel --bazelrc=x.rc test //e2e:e2e_test --test_env KUBE\n"),
			[]string{"--test_env=KUBE hands the test a path in the temp dir: $KUBE is in the temp dir (line 3"},
		},
		{
			"a literal /tmp argument",
			script("bazel coverage //e2e:e2e_test --test_arg=--kubeconfig=/tmp/k --test_arg /tmp/other\n"),
			[]string{"--test_arg=/tmp/other hands the test"},
		},
		{
			"bazel run is not sandboxed",
			script("kubeconfig=$(mktemp)\nbazel run //src/cmd:load -- --kubeconfig \"$kubeconfig\"\n"),
			nil,
		},
		{
			"a variable reassigned outside the temp dir",
			script("k=$(mktemp)\nk=$HOME/.cache/k\nbazel test //e2e:e2e_test --test_env=KUBE=$k  # not in /tmp any more\n"),
			nil,
		},
		{
			".bazelrc",
			func() map[string]string {
				f := goodTree()
				f[".bazelrc"] = "test:e2e --test_env=PATH\ntest:e2e --test_env=KUBE=/tmp/kubeconfig\n"
				return f
			}(),
			[]string{".bazelrc:2: --test_env=KUBE=/tmp/kubeconfig hands the test a path in the temp dir"},
		},
		{
			"a test rule's env",
			func() map[string]string {
				f := goodTree()
				f["cmd/tree/BUILD.bazel"] = strings.Replace(cmdBuild, `"$(rootpath :treebin)"`, `"/tmp/treebin"`, 1)
				return f
			}(),
			[]string{`cmd/tree/BUILD.bazel:25: go_test "tree_test" hands the test "/tmp/treebin"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkOutcome(t, checkTmpHandoff(writeTree(t, tc.files)), tc.want)
		})
	}
}

func TestShellWords(t *testing.T) {
	got := shellWords(`k=$(mktemp -p "$d" x.XXX) --test_env=A="$k b" 'c d' e # f g`)
	want := []string{`k=$(mktemp -p "$d" x.XXX)`, `--test_env=A=$k b`, `c d`, `e`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("shellWords = %q, want %q", got, want)
	}
}
