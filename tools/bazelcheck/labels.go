package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/bazelbuild/buildtools/build"
)

// builtinRepos are visible to the root module without being declared.
var builtinRepos = map[string]bool{"bazel_tools": true}

// declaredRepos is every repository name the root module can see: its own
// name, each bazel_dep's (repo_name if given), each use_repo'd repository and
// each repository made by a use_repo_rule.
func declaredRepos(f *build.File) map[string]bool {
	repos := map[string]bool{"": true} // "@//foo" is the main repository
	repoRules := map[string]bool{}
	for _, stmt := range f.Stmt {
		if as, ok := stmt.(*build.AssignExpr); ok {
			if call, ok := as.RHS.(*build.CallExpr); ok && callName(call) == "use_repo_rule" {
				if id, ok := as.LHS.(*build.Ident); ok {
					repoRules[id.Name] = true
				}
			}
		}
	}
	for _, stmt := range f.Stmt {
		call, ok := stmt.(*build.CallExpr)
		if !ok {
			continue
		}
		switch name := callName(call); {
		case name == "module" || name == "bazel_dep":
			r := keyword(call, "repo_name")
			if r == nil {
				repos[stringValue(keyword(call, "name"))] = true
			} else if s := stringValue(r); s != "" {
				repos[s] = true
			}
		case name == "use_repo":
			for _, arg := range call.List[1:] {
				switch a := arg.(type) {
				case *build.StringExpr:
					repos[a.Value] = true
				case *build.AssignExpr: // apparent = "exported"
					if id, ok := a.LHS.(*build.Ident); ok {
						repos[id.Name] = true
					}
				}
			}
		case repoRules[name]:
			repos[stringValue(keyword(call, "name"))] = true
		}
	}
	return repos
}

// labelRepo matches a string that is a label in another repository:
// @repo, @repo//pkg:target, @@repo//..., and returns the repository name.
var labelRepo = regexp.MustCompile(`^@@?([A-Za-z0-9_.+~-]*)(//.*)?$`)

// checkLabels fails on a label naming a repository MODULE.bazel does not
// declare: Bazel reports those only when the target is built, Gazelle never.
func checkLabels(cfg config) error {
	modPath := filepath.Join(cfg.root, "MODULE.bazel")
	data, err := os.ReadFile(modPath)
	if err != nil {
		return err
	}
	mod, err := build.ParseModule(modPath, data)
	if err != nil {
		return err
	}
	declared := declaredRepos(mod)
	files, err := starlarkFiles(cfg.root)
	if err != nil {
		return err
	}
	undeclared := map[string][]string{}
	for _, rel := range files {
		if strings.HasPrefix(filepath.Base(rel), "WORKSPACE") {
			continue // not read under bzlmod
		}
		data, err := os.ReadFile(filepath.Join(cfg.root, rel))
		if err != nil {
			return err
		}
		f, err := build.Parse(rel, data)
		if err != nil {
			return err
		}
		build.Walk(f, func(x build.Expr, _ []build.Expr) {
			s, ok := x.(*build.StringExpr)
			if !ok {
				return
			}
			m := labelRepo.FindStringSubmatch(s.Value)
			if m == nil || declared[m[1]] || builtinRepos[m[1]] {
				return
			}
			undeclared[m[1]] = append(undeclared[m[1]], fmt.Sprintf("%s:%d %q", rel, s.Start.Line, s.Value))
		})
	}
	if len(undeclared) == 0 {
		return nil
	}
	names := make([]string, 0, len(undeclared))
	for n := range undeclared {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "repositories used but not declared in MODULE.bazel (bazel_dep or use_repo): %s\n", strings.Join(names, ", "))
	for _, n := range names {
		for _, where := range undeclared[n] {
			fmt.Fprintf(&b, "  @%s: %s\n", n, where)
		}
	}
	return errors.New(strings.TrimSuffix(b.String(), "\n"))
}
