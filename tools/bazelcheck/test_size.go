package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bazelbuild/buildtools/build"
)

// goTestsWithoutSize returns, per BUILD file, the go_test rules lacking size.
func goTestsWithoutSize(root string) (map[string][]*build.Rule, map[string]*build.File, error) {
	files, err := starlarkFiles(root)
	if err != nil {
		return nil, nil, err
	}
	missing, parsed := map[string][]*build.Rule{}, map[string]*build.File{}
	for _, rel := range files {
		if base := filepath.Base(rel); base != "BUILD" && base != "BUILD.bazel" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			return nil, nil, err
		}
		f, err := build.ParseBuild(rel, data)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range f.Rules("go_test") {
			if r.Attr("size") == nil {
				missing[rel] = append(missing[rel], r)
				parsed[rel] = f
			}
		}
	}
	return missing, parsed, nil
}

func checkTestSize(cfg config) error {
	missing, _, err := goTestsWithoutSize(cfg.root)
	if err != nil || len(missing) == 0 {
		return err
	}
	var lines []string
	for rel, rules := range missing {
		for _, r := range rules {
			lines = append(lines, fmt.Sprintf("%s: go_test %q has no size (small: unit test; medium/large: real processes)", rel, r.Name()))
		}
	}
	sort.Strings(lines)
	return errors.New(strings.Join(lines, "\n"))
}

// fixTestSize sets size = "small" on go_tests that have none; a test that
// needs longer is given medium or large by hand, and Gazelle keeps it.
func fixTestSize(cfg config) error {
	missing, parsed, err := goTestsWithoutSize(cfg.root)
	if err != nil {
		return err
	}
	for rel, rules := range missing {
		for _, r := range rules {
			r.SetAttr("size", &build.StringExpr{Value: "small"})
		}
		if err := os.WriteFile(filepath.Join(cfg.root, rel), build.Format(parsed[rel]), 0o644); err != nil {
			return err
		}
	}
	return nil
}
