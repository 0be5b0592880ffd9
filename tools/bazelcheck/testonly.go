package main

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bazelbuild/buildtools/build"
)

// localLabel resolves a label written in package pkg to "//pkg:name", or ""
// if it names another repository or is not a label.
func localLabel(pkg, l string) string {
	switch {
	case strings.HasPrefix(l, "@//"):
		l = l[1:]
	case strings.HasPrefix(l, ":"):
		return "//" + pkg + l
	case !strings.HasPrefix(l, "//"):
		return ""
	}
	if !strings.Contains(l, ":") {
		return l + ":" + path.Base(l)
	}
	return l
}

// isTrue reports whether a rule attribute is the literal True (or 1).
func isTrue(x build.Expr) bool {
	switch v := x.(type) {
	case *build.Ident:
		return v.Name == "True"
	case *build.LiteralExpr:
		return v.Token == "1"
	}
	return false
}

// checkTestonly fails when a rule that is neither testonly nor a test
// depends on a testonly rule of this repository.
func checkTestonly(cfg config) error {
	files, err := starlarkFiles(cfg.root)
	if err != nil {
		return err
	}
	type ruleInfo struct {
		file     string
		rule     *build.Rule
		testonly bool
	}
	rules := map[string]ruleInfo{}
	for _, rel := range files {
		if base := filepath.Base(rel); base != "BUILD" && base != "BUILD.bazel" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(cfg.root, rel))
		if err != nil {
			return err
		}
		f, err := build.ParseBuild(rel, data)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(rel))
		if pkg == "." {
			pkg = ""
		}
		for _, r := range f.Rules("") {
			if r.Name() != "" {
				rules["//"+pkg+":"+r.Name()] = ruleInfo{rel, r, isTrue(r.Attr("testonly"))}
			}
		}
	}
	var problems []string
	for name, info := range rules {
		if info.testonly || strings.HasSuffix(info.rule.Kind(), "_test") {
			continue
		}
		pkg := strings.TrimPrefix(name[:strings.Index(name, ":")], "//")
		for _, attr := range []string{"deps", "embed", "srcs", "data"} {
			for _, l := range info.rule.AttrStrings(attr) {
				if dep, ok := rules[localLabel(pkg, l)]; ok && dep.testonly {
					problems = append(problems, fmt.Sprintf("%s: %s (not testonly) depends on testonly %s; mark it testonly = True or drop the dependency", info.file, name, localLabel(pkg, l)))
				}
			}
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}
