package main

import (
	"strings"
	"testing"
)

// e2eTree is goodTree plus a k8s/ folder and an e2e go_test that renders it
// the way e2e/deploy_test.go does, with data given by the case.
func e2eTree(data, testSrc string) map[string]string {
	files := goodTree()
	files["k8s/base/kustomization.yaml"] = "resources: [deployment.yaml]\n"
	files["k8s/base/deployment.yaml"] = "kind: Deployment\n"
	files["k8s/overlays/kind/kustomization.yaml"] = "resources: [../../base]\n"
	files["k8s/BUILD.bazel"] = `filegroup(
    name = "manifests",
    srcs = glob(
        ["**"],
        exclude = ["BUILD.bazel"],
    ),
    visibility = ["//e2e:__pkg__"],
)

filegroup(
    name = "base_only",
    srcs = glob(["base/*.yaml"]),
    visibility = ["//e2e:__pkg__"],
)
`
	files["e2e/main_test.go"] = testSrc
	files["e2e/BUILD.bazel"] = `load("@rules_go//go:def.bzl", "go_test")

go_test(
    name = "e2e_test",
    size = "large",
    srcs = ["main_test.go"],
    data = ` + data + `,
)
`
	return files
}

const renderSrc = `package e2e

import (
	"path/filepath"
	"runtime"
	"testing"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

func render(dir string) string { return filepath.Join(repoRoot(), "k8s", dir) }

func TestRender(t *testing.T) { _ = render("base") }
`

func TestTestData(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string // substrings of the failure; none: the check passes
	}{
		{"the manifests' filegroup in data", e2eTree(`["//k8s:manifests"]`, renderSrc), nil},
		{"the files listed one by one, as labels of their package", e2eTree(
			`["//k8s:base/kustomization.yaml", "//k8s:base/deployment.yaml", "//k8s:overlays/kind/kustomization.yaml"]`, renderSrc), nil},
		{
			// The defect of issue 19: kubectl kustomize finds no k8s/ in the runfiles.
			"data has the binary only",
			e2eTree(`["//cmd/tree:treebin"]`, renderSrc),
			[]string{`e2e/main_test.go:14: //e2e:e2e_test reads k8s (filepath.Join(repoRoot(), "k8s", ...)) but its data lacks 3 of the 3 files there`},
		},
		{
			"a filegroup covering part of the folder",
			e2eTree(`["//k8s:base_only"]`, renderSrc),
			[]string{"lacks 1 of the 3 files there: k8s/overlays/kind/kustomization.yaml"},
		},
		{
			"a glob does not reach into a subpackage",
			func() map[string]string {
				f := e2eTree(`["//k8s:manifests"]`, renderSrc)
				f["k8s/overlays/BUILD.bazel"] = "exports_files([\"kind/kustomization.yaml\"])\n"
				return f
			}(),
			[]string{"lacks 1 of the 3 files there: k8s/overlays/kind/kustomization.yaml"},
		},
		{
			"a variable holding repoRoot()",
			e2eTree(`["//k8s:base_only"]`, strings.Replace(renderSrc, `return filepath.Join(repoRoot(), "k8s", dir)`,
				`root := repoRoot()
	return filepath.Join(root, "k8s", "overlays", dir)`, 1)),
			[]string{`reads k8s/overlays (filepath.Join(root, "k8s", "overlays", ...))`},
		},
		{
			"a repository path in a string literal",
			e2eTree(`["//k8s:base_only"]`, strings.Replace(renderSrc, `_ = render("base")`, `_ = "k8s/overlays/kind/kustomization.yaml"`, 1)),
			[]string{`reads k8s/overlays/kind/kustomization.yaml ("k8s/overlays/kind/kustomization.yaml")`},
		},
		{
			"a folder that does not exist",
			e2eTree(`["//k8s:manifests"]`, strings.Replace(renderSrc, `"k8s", dir`, `"manifests", dir`, 1)),
			[]string{"reads manifests", "which does not exist"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkOutcome(t, checkTestData(writeTree(t, tc.files)), tc.want)
		})
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"**", "base/deployment.yaml", true},
		{"**/*.yaml", "deployment.yaml", true},
		{"**/*.yaml", "overlays/kind/kustomization.yaml", true},
		{"**/*.yaml", "README.md", false},
		{"base/*.yaml", "base/x/deployment.yaml", false},
		{"BUILD.bazel", "BUILD.bazel", true},
	} {
		if got := globMatch(tc.pattern, tc.name); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}
