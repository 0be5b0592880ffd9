package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tools holds the gazelle and buildifier binaries, built once for all tests.
var tools config

func TestMain(m *testing.M) {
	g, b, err := buildTools("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tools = config{gazelle: g, buildifier: b}
	os.Exit(m.Run())
}

const goodModule = `module(name = "tree")

bazel_dep(name = "rules_go", version = "0.63.0")
bazel_dep(name = "gazelle", version = "0.53.0")

go_deps = use_extension("@gazelle//:extensions.bzl", "go_deps")
go_deps.from_file(go_mod = "//:go.mod")
use_repo(go_deps, "com_github_sirupsen_logrus")
`

const libBuild = `load("@rules_go//go:def.bzl", "go_library")

go_library(
    name = "lib",
    srcs = ["lib.go"],
    importpath = "example.com/tree/lib",
    visibility = ["//visibility:public"],
    deps = ["@com_github_sirupsen_logrus//:logrus"],
)
`

// cmdBuild has what Gazelle must leave alone: a go_binary renamed by hand
// with pure/static set, and a go_test with hand-set size, data, env, rundir
// and tags.
const cmdBuild = `load("@rules_go//go:def.bzl", "go_binary", "go_library", "go_test")

go_library(
    name = "tree_lib",
    srcs = ["main.go"],
    importpath = "example.com/tree/cmd/tree",
    visibility = ["//visibility:private"],
    deps = ["//lib"],
)

go_binary(
    name = "treebin",
    embed = [":tree_lib"],
    pure = "on",
    static = "on",
    visibility = ["//visibility:public"],
)

go_test(
    name = "tree_test",
    size = "small",
    srcs = ["main_test.go"],
    data = [":treebin"],
    embed = [":tree_lib"],
    env = {"TREE_BIN": "$(rootpath :treebin)"},
    rundir = ".",
    tags = [
        "external",
        "manual",
    ],
)
`

// goodTree is a small repository on which every check passes.
func goodTree() map[string]string {
	return map[string]string{
		"MODULE.bazel": goodModule,
		"BUILD.bazel": `load("@gazelle//:def.bzl", "gazelle")

# gazelle:prefix example.com/tree
gazelle(name = "gazelle")
`,
		"go.mod": `module example.com/tree

go 1.26.0

require github.com/sirupsen/logrus v1.10.2

require golang.org/x/sys v0.48.0 // indirect
`,
		"lib/lib.go":            "package lib\n\nimport \"github.com/sirupsen/logrus\"\n\nvar L = logrus.New()\n",
		"lib/BUILD.bazel":       libBuild,
		"cmd/tree/main.go":      "package main\n\nimport \"example.com/tree/lib\"\n\nfunc main() { _ = lib.L }\n",
		"cmd/tree/main_test.go": "package main\n\nimport \"testing\"\n\nfunc TestMain(t *testing.T) {}\n",
		"cmd/tree/BUILD.bazel":  cmdBuild,
	}
}

func writeTree(t *testing.T, files map[string]string) config {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := tools
	cfg.root = dir
	return cfg
}

// TestChecks proves each check passes on a good tree and fails on the broken
// input it exists for. fail maps each check that must fail to a substring of
// its report; every other check must pass.
func TestChecks(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(files map[string]string)
		fail   map[string]string
	}{
		{
			name:   "good tree passes every check",
			mutate: func(map[string]string) {},
		},
		{
			name: "BUILD out of sync with the Go imports",
			mutate: func(f map[string]string) {
				f["lib/lib.go"] = "package lib\n\nimport (\n\t\"github.com/sirupsen/logrus\"\n\t\"golang.org/x/sys/unix\"\n)\n\nvar L, P = logrus.New(), unix.Getpid\n"
			},
			fail: map[string]string{"gazelle": `+        "@org_golang_x_sys//unix",`},
		},
		{
			name: "Go file added without its BUILD file",
			mutate: func(f map[string]string) {
				f["util/util.go"] = "package util\n"
			},
			fail: map[string]string{"gazelle": "+++ util/BUILD.bazel"},
		},
		{
			name: "import of a module go.mod lacks: Gazelle drops it and only says so on stderr",
			mutate: func(f map[string]string) {
				f["lib/lib.go"] = "package lib\n\nimport (\n\t\"github.com/sirupsen/logrus\"\n\t_ \"github.com/nowhere/missing\"\n)\n\nvar L = logrus.New()\n"
			},
			fail: map[string]string{"gazelle": "github.com/nowhere/missing"},
		},
		{
			name: "buildifier lint warning",
			mutate: func(f map[string]string) {
				f["defs.bzl"] = "\"\"\"Macros.\"\"\"\n\ndef f():\n    x = 1\n"
			},
			fail: map[string]string{"buildifier": "unused-variable"},
		},
		{
			name: "buildifier formatting (a .bzl file, which Gazelle never rewrites)",
			mutate: func(f map[string]string) {
				f["defs.bzl"] = "\"\"\"Constants.\"\"\"\n\nX = [ 1]\n"
			},
			fail: map[string]string{"buildifier": "defs.bzl # reformat"},
		},
		{
			name: "label in an undeclared repository",
			mutate: func(f map[string]string) {
				f["data/BUILD.bazel"] = "load(\"@rules_pkg//pkg:tar.bzl\", \"pkg_tar\")\n\npkg_tar(\n    name = \"t\",\n    srcs = [\"@nowhere//:file\"],\n)\n"
			},
			fail: map[string]string{"labels": "not declared in MODULE.bazel (bazel_dep or use_repo): nowhere, rules_pkg"},
		},
		{
			name: "use_repo misses a direct requirement",
			mutate: func(f map[string]string) {
				f["MODULE.bazel"] = strings.Replace(goodModule, `use_repo(go_deps, "com_github_sirupsen_logrus")`, `use_repo(go_deps)`, 1)
			},
			fail: map[string]string{
				"use_repo": "missing from use_repo(go_deps, ...): com_github_sirupsen_logrus",
				"labels":   "@com_github_sirupsen_logrus: lib/BUILD.bazel:8",
			},
		},
		{
			name: "non-testonly rule depends on a testonly one",
			mutate: func(f map[string]string) {
				f["data/BUILD.bazel"] = `filegroup(
    name = "fixtures",
    testonly = True,
    srcs = ["a.txt"],
)

filegroup(
    name = "bundle",
    srcs = [":fixtures"],
)

filegroup(
    name = "test_bundle",
    testonly = True,
    srcs = ["//data:fixtures"],
)
`
			},
			fail: map[string]string{"testonly": "data/BUILD.bazel: //data:bundle (not testonly) depends on testonly //data:fixtures"},
		},
		{
			name: "go_test without size",
			mutate: func(f map[string]string) {
				f["cmd/tree/BUILD.bazel"] = strings.Replace(cmdBuild, "    size = \"small\",\n", "", 1)
			},
			fail: map[string]string{"test_size": `cmd/tree/BUILD.bazel: go_test "tree_test" has no size`},
		},
		{
			name: "use_repo lists an indirect requirement",
			mutate: func(f map[string]string) {
				f["MODULE.bazel"] = strings.Replace(goodModule, `"com_github_sirupsen_logrus")`, `"com_github_sirupsen_logrus", "org_golang_x_sys")`, 1)
			},
			fail: map[string]string{"use_repo": "not direct requirements in go.mod: org_golang_x_sys"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := goodTree()
			tt.mutate(files)
			cfg := writeTree(t, files)
			for _, c := range checks {
				err := c.run(cfg)
				want, mustFail := tt.fail[c.name]
				switch {
				case mustFail && err == nil:
					t.Errorf("check %s passed, want a failure containing %q", c.name, want)
				case mustFail && !strings.Contains(err.Error(), want):
					t.Errorf("check %s failed with:\n%s\nwant it to contain %q", c.name, err, want)
				case !mustFail && err != nil:
					t.Errorf("check %s failed, want it to pass:\n%s", c.name, err)
				case mustFail:
					t.Logf("check %s failed as expected:\n%s", c.name, err)
				}
			}
		})
	}
}

// TestFix proves -fix repairs what it can (BUILD files, formatting, use_repo)
// while keeping hand-written attributes, and that the tree then passes.
func TestFix(t *testing.T) {
	files := goodTree()
	delete(files, "lib/BUILD.bazel")
	files["MODULE.bazel"] = strings.Replace(goodModule, `use_repo(go_deps, "com_github_sirupsen_logrus")`, `use_repo(go_deps, "org_golang_x_sys")`, 1)
	files["data/BUILD.bazel"] = "exports_files( [\"a.txt\"])\n"
	files["cmd/tree/BUILD.bazel"] = strings.Replace(cmdBuild, "    size = \"small\",\n", "", 1)
	// A new import makes Gazelle rewrite the go_test it shares with hand-set attributes.
	files["cmd/tree/main_test.go"] = "package main\n\nimport (\n\t\"testing\"\n\n\t\"github.com/sirupsen/logrus\"\n)\n\nfunc TestMain(t *testing.T) { _ = logrus.New() }\n"
	cfg := writeTree(t, files)

	var stdout, stderr bytes.Buffer
	code := run([]string{"-root", cfg.root, "-fix", "-gazelle", cfg.gazelle, "-buildifier", cfg.buildifier}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("run -fix exited %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	if !strings.Contains(stdout.String(), "all checks passed") {
		t.Errorf("stdout lacks the success line:\n%s", &stdout)
	}
	for name, want := range map[string]string{
		"lib/BUILD.bazel": libBuild,
		// The go_test gains the new dep; the renamed binary, pure/static, size,
		// data, env, rundir and tags are all kept.
		"cmd/tree/BUILD.bazel": strings.Replace(cmdBuild, "    tags = [\n        \"external\",\n        \"manual\",\n    ],\n)",
			"    tags = [\n        \"external\",\n        \"manual\",\n    ],\n    deps = [\"@com_github_sirupsen_logrus//:logrus\"],\n)", 1),
		"MODULE.bazel":     strings.Replace(goodModule, `use_repo(go_deps, "com_github_sirupsen_logrus")`, "use_repo(\n    go_deps,\n    \"com_github_sirupsen_logrus\",\n)", 1),
		"data/BUILD.bazel": "exports_files([\"a.txt\"])\n",
	} {
		got, err := os.ReadFile(filepath.Join(cfg.root, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s after -fix:\n%s\nwant:\n%s", name, got, want)
		}
	}
}

// TestRunExitCodes checks the command's contract: 0 and a success line on a
// good tree, 1 and the failing check's name on a broken one.
func TestRunExitCodes(t *testing.T) {
	good := writeTree(t, goodTree())
	broken := goodTree()
	broken["data/BUILD.bazel"] = "alias(\n    name = \"x\",\n    actual = \"@nowhere//:y\",\n)\n"
	bad := writeTree(t, broken)
	for _, tc := range []struct {
		cfg      config
		code     int
		contains string
	}{
		{good, 0, "bazelcheck: all checks passed"},
		{bad, 1, "FAIL labels:"},
	} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"-root", tc.cfg.root, "-gazelle", tc.cfg.gazelle, "-buildifier", tc.cfg.buildifier}, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String(), tc.contains) {
			t.Errorf("run on %s: exit %d, want %d; stdout:\n%s\nstderr:\n%s", tc.cfg.root, code, tc.code, &stdout, &stderr)
		}
	}
}

// checkOutcome holds a check's error to want: nil when want is empty, else a
// failure whose text holds every line of want.
func checkOutcome(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("check failed, want it to pass:\n%s", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("check passed, want a failure containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("failure lacks %q:\n%s", w, err)
		}
	}
}
