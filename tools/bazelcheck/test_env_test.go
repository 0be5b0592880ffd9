package main

import (
	"strings"
	"testing"
)

// probeTree is goodTree plus what issue 28 found in e2e/monitoring: a library
// that finds a tool in the folder $ASHIATO_TOOL_BIN names, else on PATH, a
// test of it (tags and env given by the case), and a second package's test
// that reads the same variable through the library's constant.
func probeTree(testAttrs, bazelrc string) map[string]string {
	f := goodTree()
	f["probe/probe.go"] = `package probe

import (
	"os"
	"os/exec"
	"path/filepath"
)

// EnvBin names the folder holding the tools.
const EnvBin = "ASHIATO_TOOL_BIN"

func Tool(name string) (string, error) {
	if dir := os.Getenv(EnvBin); dir != "" {
		return filepath.Join(dir, name), nil
	}
	return exec.LookPath(name)
}
`
	f["probe/probe_test.go"] = `package probe

import "testing"

func TestTool(t *testing.T) { _, _ = Tool("promtool") }
`
	f["probe/BUILD.bazel"] = `load("@rules_go//go:def.bzl", "go_library", "go_test")

go_library(
    name = "probe",
    srcs = ["probe.go"],
    importpath = "example.com/tree/probe",
    visibility = ["//visibility:public"],
)

go_test(
    name = "probe_test",
    size = "small",
    srcs = ["probe_test.go"],
    embed = [":probe"],
` + testAttrs + `)
`
	f["suite/suite_test.go"] = `package suite

import (
	"os"
	"os/exec"
	"testing"

	tool "example.com/tree/probe"
)

func TestSuite(t *testing.T) {
	_ = os.Getenv(tool.EnvBin)
	_, _ = os.LookupEnv("ASHIATO_BROWSER")
	_ = os.Getenv("HOME")
	_ = exec.Command("/usr/bin/env")
	_ = exec.CommandContext(t.Context(), "kubectl", "version")
}
`
	f["suite/BUILD.bazel"] = `load("@rules_go//go:def.bzl", "go_test")

go_test(
    name = "suite_test",
    size = "large",
    srcs = ["suite_test.go"],
    env = {"ASHIATO_BROWSER": "/usr/bin/chromium"},
    tags = ["manual"],
    deps = ["//probe"],
)
`
	if bazelrc != "" {
		f[".bazelrc"] = bazelrc
	}
	return f
}

func TestTestEnv(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string // substrings of the failure; none: the check passes
	}{
		{
			// The defect of issue 28: test:e2e forwarded neither variable.
			"read, forwarded by no config",
			probeTree("", "test:e2e --test_env=ASHIATO_OTHER\n"),
			[]string{
				`probe/probe.go:13: //probe:probe_test reads ASHIATO_TOOL_BIN (os.Getenv(EnvBin)), but neither its env nor any .bazelrc config forwards it`,
				`probe/probe.go:13: //suite:suite_test reads ASHIATO_TOOL_BIN`,
			},
		},
		{"forwarded by a config", probeTree("", "test:e2e --test_env=ASHIATO_TOOL_BIN\n"), nil},
		{"an imported file that does not exist", probeTree("", "try-import %workspace%/user.bazelrc\nimport %workspace%/ci.bazelrc\n"), []string{"ci.bazelrc"}},
		{
			"forwarded by an imported file",
			func() map[string]string {
				f := probeTree("", "import %workspace%/ci.bazelrc # CI\n")
				f["ci.bazelrc"] = "test --test_env ASHIATO_TOOL_BIN=/opt/tools\n"
				return f
			}(),
			nil,
		},
		{
			"set in every test's env",
			func() map[string]string {
				f := probeTree(`    env = {"ASHIATO_TOOL_BIN": "/opt/tools"},`+"\n", "")
				f["suite/BUILD.bazel"] = strings.Replace(f["suite/BUILD.bazel"], `env = {`, `env = {"ASHIATO_TOOL_BIN": "/opt/tools", `, 1)
				return f
			}(),
			nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkOutcome(t, checkTestEnv(writeTree(t, tc.files)), tc.want)
		})
	}
}

func TestAnalyzeGo(t *testing.T) {
	cfg := writeTree(t, probeTree("", ""))
	bfs, err := buildFiles(cfg.root)
	if err != nil {
		t.Fatal(err)
	}
	idx := newGoRuleIndex(bfs)
	files, importpaths := idx.sources(idx["//suite:suite_test"])
	if got, want := strings.Join(files, " "), "probe/probe.go suite/suite_test.go"; got != want {
		t.Errorf("sources = %s, want %s", got, want)
	}
	reads, err := analyzeGo(cfg.root, files, importpaths)
	if err != nil {
		t.Fatal(err)
	}
	var env, path []string
	for _, r := range reads.env {
		env = append(env, r.value)
	}
	for _, r := range reads.path {
		path = append(path, r.where+" "+r.how+" "+r.value)
	}
	if got, want := strings.Join(env, " "), "ASHIATO_TOOL_BIN ASHIATO_TOOL_BIN ASHIATO_BROWSER HOME"; got != want {
		t.Errorf("env reads = %s, want %s", got, want)
	}
	// exec.LookPath(name): a variable; exec.Command("/usr/bin/env"): not PATH.
	if got, want := strings.Join(path, "|"), `probe/probe.go:16 exec.LookPath(name) |suite/suite_test.go:16 exec.CommandContext(..., "kubectl", ...) kubectl`; got != want {
		t.Errorf("PATH lookups = %s, want %s", got, want)
	}
}
