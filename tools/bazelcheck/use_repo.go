package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bazelbuild/buildtools/build"
	"golang.org/x/mod/modfile"
)

// goDepsUsage is what MODULE.bazel says about the go_deps extension.
type goDepsUsage struct {
	goMods  []string        // go.mod files given to go_deps.from_file, as paths
	listed  map[string]bool // repositories named in use_repo(go_deps, ...)
	useRepo []*build.CallExpr
}

const goDepsExtension = "@gazelle//:extensions.bzl"

// readGoDeps finds the go_deps extension proxies, their from_file go.mod files
// and their use_repo calls in MODULE.bazel.
func readGoDeps(root string, f *build.File) (goDepsUsage, error) {
	u := goDepsUsage{listed: map[string]bool{}}
	proxies := map[string]bool{}
	for _, stmt := range f.Stmt {
		if as, ok := stmt.(*build.AssignExpr); ok {
			if call, ok := as.RHS.(*build.CallExpr); ok && callName(call) == "use_extension" &&
				len(call.List) >= 2 && stringValue(call.List[0]) == goDepsExtension && stringValue(call.List[1]) == "go_deps" {
				if id, ok := as.LHS.(*build.Ident); ok {
					proxies[id.Name] = true
				}
			}
		}
	}
	if len(proxies) == 0 {
		return u, fmt.Errorf("MODULE.bazel has no go_deps = use_extension(%q, \"go_deps\")", goDepsExtension)
	}
	for _, stmt := range f.Stmt {
		call, ok := stmt.(*build.CallExpr)
		if !ok {
			continue
		}
		if dot, ok := call.X.(*build.DotExpr); ok && dot.Name == "from_file" {
			if id, ok := dot.X.(*build.Ident); ok && proxies[id.Name] {
				label := stringValue(keyword(call, "go_mod"))
				if label == "" {
					return u, fmt.Errorf("MODULE.bazel: %s.from_file without go_mod (go_work is not supported here)", id.Name)
				}
				p, err := labelPath(root, label)
				if err != nil {
					return u, err
				}
				u.goMods = append(u.goMods, p)
			}
		}
		if callName(call) == "use_repo" && len(call.List) > 0 {
			if id, ok := call.List[0].(*build.Ident); ok && proxies[id.Name] {
				u.useRepo = append(u.useRepo, call)
				for _, arg := range call.List[1:] {
					switch a := arg.(type) {
					case *build.StringExpr:
						u.listed[a.Value] = true
					case *build.AssignExpr: // alias = "repo"
						u.listed[stringValue(a.RHS)] = true
					}
				}
			}
		}
	}
	return u, nil
}

// labelPath turns a main-repository file label such as //:go.mod into a path.
func labelPath(root, label string) (string, error) {
	l := strings.TrimPrefix(label, "@@")
	l = strings.TrimPrefix(l, "@")
	if !strings.HasPrefix(l, "//") {
		return "", fmt.Errorf("MODULE.bazel: go_mod = %q is not a label in this repository", label)
	}
	pkg, name, _ := strings.Cut(strings.TrimPrefix(l, "//"), ":")
	return filepath.Join(root, filepath.FromSlash(pkg), name), nil
}

// goModules is one go.mod's requirements: every module, and the direct ones.
type goModules struct {
	all    []*modfile.Require
	direct map[string]bool // repo names of direct requirements and tool providers
}

func readGoMod(path string) (goModules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return goModules{}, err
	}
	mf, err := modfile.Parse(path, data, nil)
	if err != nil {
		return goModules{}, err
	}
	m := goModules{direct: map[string]bool{}}
	for _, r := range mf.Require {
		m.all = append(m.all, r)
		if !r.Indirect {
			m.direct[repoName(r.Mod.Path)] = true
		}
	}
	// go_deps also treats a module that provides a `tool` as direct.
	for _, t := range mf.Tool {
		for _, r := range mf.Require {
			if t.Path == r.Mod.Path || strings.HasPrefix(t.Path, r.Mod.Path+"/") {
				m.direct[repoName(r.Mod.Path)] = true
			}
		}
	}
	return m, nil
}

// repoName is Gazelle's repository name for a Go module path, as go_deps
// computes it (_repo_name in gazelle's internal/bzlmod/go_deps.bzl):
// github.com/foo/bar-baz -> com_github_foo_bar_baz.
func repoName(importpath string) string {
	segs := strings.Split(importpath, "/")
	host := strings.Split(segs[0], ".")
	for i, j := 0, len(host)-1; i < j; i, j = i+1, j-1 {
		host[i], host[j] = host[j], host[i]
	}
	cand := strings.ReplaceAll(strings.Join(append(host, segs[1:]...), "_"), "-", "_")
	var b strings.Builder
	for _, c := range cand {
		switch {
		case c >= 'A' && c <= 'Z':
			b.WriteRune(c + 'a' - 'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// wantedGoRepos reads MODULE.bazel and its go.mod files: what use_repo lists
// now, and what `bazel mod tidy` would list (the direct requirements).
func wantedGoRepos(root string) (*build.File, goDepsUsage, map[string]bool, error) {
	path := filepath.Join(root, "MODULE.bazel")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, goDepsUsage{}, nil, err
	}
	f, err := build.ParseModule(path, data)
	if err != nil {
		return nil, goDepsUsage{}, nil, err
	}
	u, err := readGoDeps(root, f)
	if err != nil {
		return nil, u, nil, err
	}
	want := map[string]bool{}
	for _, gm := range u.goMods {
		m, err := readGoMod(gm)
		if err != nil {
			return nil, u, nil, err
		}
		for r := range m.direct {
			want[r] = true
		}
	}
	return f, u, want, nil
}

// checkUseRepo fails when use_repo(go_deps, ...) differs from go.mod's direct
// requirements. Bazel only warns about that, but then a BUILD file can name a
// repository that stops existing when the last indirect user goes away.
func checkUseRepo(cfg config) error {
	_, u, want, err := wantedGoRepos(cfg.root)
	if err != nil {
		return err
	}
	missing, extra := diffSets(want, u.listed)
	if len(missing)+len(extra) == 0 {
		return nil
	}
	var b strings.Builder
	if len(missing) > 0 {
		fmt.Fprintf(&b, "direct requirements in go.mod missing from use_repo(go_deps, ...): %s\n", strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		fmt.Fprintf(&b, "use_repo(go_deps, ...) lists repositories that are not direct requirements in go.mod: %s\n", strings.Join(extra, ", "))
	}
	b.WriteString("(run go mod tidy in the product module, then bazelcheck -fix)")
	return errors.New(b.String())
}

// fixUseRepo rewrites the first use_repo(go_deps, ...) to list the direct
// requirements, as `bazel mod tidy` would, keeping aliased entries.
func fixUseRepo(cfg config) error {
	f, u, want, err := wantedGoRepos(cfg.root)
	if err != nil {
		return err
	}
	if missing, extra := diffSets(want, u.listed); len(missing)+len(extra) == 0 {
		return nil
	}
	if len(u.useRepo) == 0 {
		return errors.New("MODULE.bazel has no use_repo(go_deps, ...) to rewrite; add one")
	}
	names := make([]string, 0, len(want))
	for r := range want {
		names = append(names, r)
	}
	sort.Strings(names)
	for i, call := range u.useRepo {
		keep := []build.Expr{call.List[0]}
		for _, arg := range call.List[1:] {
			if _, ok := arg.(*build.StringExpr); !ok {
				keep = append(keep, arg)
			}
		}
		if i == 0 {
			for _, n := range names {
				keep = append(keep, &build.StringExpr{Value: n})
			}
		}
		call.List = keep
		call.ForceMultiLine = true
	}
	return os.WriteFile(filepath.Join(cfg.root, "MODULE.bazel"), build.Format(f), 0o644)
}

func diffSets(want, have map[string]bool) (missing, extra []string) {
	for k := range want {
		if !have[k] {
			missing = append(missing, k)
		}
	}
	for k := range have {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return missing, extra
}
