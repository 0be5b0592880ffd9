package main

import (
	"strings"
	"testing"
)

// The snapshot the tests use: a few versions, one yanked.
var testSnapshot = registrySnapshot{
	Registry: "https://bcr.bazel.build",
	Source:   "github.com/bazelbuild/bazel-central-registry",
	Commit:   "51181a817c98350d5c94d35b4c874ebe8f5e9c6a",
	Date:     "2026-08-22",
	Modules: map[string]registryModule{
		"rules_go": {Versions: []string{"0.33.0", "0.62.0", "0.63.0"}, Yanked: map[string]string{"0.33.0": "Obsolete experimental version"}},
		"gazelle":  {Versions: []string{"0.52.2", "0.53.0"}},
		"tar.bzl":  {Versions: []string{"0.10.5", "0.10.7", "0.10.8"}},
	},
}

func TestRegistry(t *testing.T) {
	for _, tc := range []struct {
		name   string
		module string // appended to goodModule
		want   []string
	}{
		{"listed versions", `bazel_dep(name = "tar.bzl", version = "0.10.8")` + "\n", nil},
		{
			// The defect of issue 28: MODULE.bazel asked for tar.bzl 0.10.9.
			"a version the registry does not list",
			`bazel_dep(name = "tar.bzl", version = "0.10.9")` + "\n",
			[]string{`MODULE.bazel:10: bazel_dep(name = "tar.bzl", version = "0.10.9"): the registry has no version 0.10.9 of tar.bzl (bazelbuild/bazel-central-registry 51181a8 of 2026-08-22 lists 3, the last 0.10.5, 0.10.7, 0.10.8)`},
		},
		{
			"a module the snapshot lacks",
			`bazel_dep(name = "rules_pkg", version = "1.0.0")` + "\n",
			[]string{`bazel_dep(name = "rules_pkg", version = "1.0.0"): rules_pkg is not in the registry snapshot`, "https://bcr.bazel.build/modules/rules_pkg/metadata.json"},
		},
		{
			"a module from elsewhere is not looked up",
			`bazel_dep(name = "rules_pkg", version = "9.9.9")` + "\n" + `local_path_override(module_name = "rules_pkg", path = "../rules_pkg")` + "\n",
			nil,
		},
		{
			"a single_version_override the registry lacks",
			`single_version_override(module_name = "gazelle", version = "0.53.1")` + "\n",
			[]string{`single_version_override(module_name = "gazelle", version = "0.53.1"): the registry has no version 0.53.1 of gazelle`},
		},
		{
			"a yanked version",
			`single_version_override(module_name = "rules_go", version = "0.33.0")` + "\n",
			[]string{`rules_go 0.33.0 is yanked in the registry`, "Obsolete experimental version"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := goodTree()
			files["MODULE.bazel"] = goodModule + "\n" + tc.module
			err := checkRegistryAgainst(writeTree(t, files), testSnapshot)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("check failed, want it to pass:\n%s", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("check passed, want a failure containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("failure lacks %q:\n%s", w, err)
				}
			}
		})
	}
}

// TestRegistrySnapshot: the carried snapshot parses, says where it was read,
// and holds a version list for every module it names.
func TestRegistrySnapshot(t *testing.T) {
	s, err := loadRegistrySnapshot()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Commit) != 40 || s.Date == "" || s.Registry == "" {
		t.Errorf("snapshot lacks its provenance: registry %q, commit %q, date %q", s.Registry, s.Commit, s.Date)
	}
	for name, m := range s.Modules {
		if len(m.Versions) == 0 {
			t.Errorf("%s: no versions", name)
		}
	}
}
