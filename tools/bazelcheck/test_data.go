package main

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/bazelbuild/buildtools/build"
)

// The test_data check: every file of the repository that a go_test reads at
// run time is in the test's data. `go test` runs in the source tree and finds
// anything; `bazel test` runs in a runfiles tree holding only the test's
// srcs, deps and data, so a file missing from data is simply not there.
//
// A read is found in the Go sources of the go_test, in two forms:
//   - filepath.Join(repoRoot(), "k8s", dir): the literal segments after
//     repoRoot() (a func of that name, or a variable assigned from it) name a
//     folder or file of the repository, here k8s/;
//   - a string literal such as "k8s/base/deployment.yaml" that is an existing
//     path of the repository whose first segment is a top-level folder.
// For a folder, every file under it except BUILD files must be in data; data
// is followed through filegroups and glob() of this repository.

// repoRootFunc is the helper the e2e tests use for the repository root.
const repoRootFunc = "repoRoot"

// repoRead is one read of the repository found in a test source.
type repoRead struct {
	path  string // relative to the repository root, "/"-separated
	where string // file:line
	how   string // the expression, for the report
}

// findRepoReads parses one Go file and returns the repository paths it reads.
func findRepoReads(root, file string) ([]repoRead, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join(root, file), nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	isRootCall := func(e ast.Expr) bool {
		c, ok := e.(*ast.CallExpr)
		if !ok {
			return false
		}
		id, ok := c.Fun.(*ast.Ident)
		return ok && id.Name == repoRootFunc && len(c.Args) == 0
	}
	// Variables assigned from repoRoot(), by name: enough for test helpers.
	rootVars := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.AssignStmt:
			for i, r := range s.Rhs {
				if i >= len(s.Lhs) || !isRootCall(r) {
					continue
				}
				if id, ok := s.Lhs[i].(*ast.Ident); ok {
					rootVars[id.Name] = true
				}
			}
		case *ast.ValueSpec:
			for i, r := range s.Values {
				if i < len(s.Names) && isRootCall(r) {
					rootVars[s.Names[i].Name] = true
				}
			}
		}
		return true
	})
	isRoot := func(e ast.Expr) bool {
		if id, ok := e.(*ast.Ident); ok {
			return rootVars[id.Name]
		}
		return isRootCall(e)
	}
	top, err := topLevelDirs(root)
	if err != nil {
		return nil, err
	}
	var reads []repoRead
	joinArgs := map[*ast.BasicLit]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.ImportSpec:
			return false
		case *ast.CallExpr:
			sel, ok := x.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Join" || len(x.Args) < 2 || !isRoot(x.Args[0]) {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || (pkg.Name != "filepath" && pkg.Name != "path") {
				return true
			}
			var segs []string
			for _, a := range x.Args[1:] {
				lit, ok := a.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					break
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					break
				}
				joinArgs[lit] = true
				segs = append(segs, s)
			}
			quoted := make([]string, len(segs))
			for i, s := range segs {
				quoted[i] = strconv.Quote(s)
			}
			how := fmt.Sprintf("%s.Join(%s", sel.X.(*ast.Ident).Name, strings.Join(append([]string{exprText(x.Args[0])}, quoted...), ", "))
			if len(segs) < len(x.Args)-1 {
				how += ", ..."
			}
			reads = append(reads, repoRead{
				path:  path.Clean(strings.Join(append([]string{"."}, segs...), "/")),
				where: fmt.Sprintf("%s:%d", file, fset.Position(x.Pos()).Line),
				how:   how + ")",
			})
		case *ast.BasicLit:
			if x.Kind != token.STRING || joinArgs[x] {
				return true
			}
			s, err := strconv.Unquote(x.Value)
			if err != nil || !strings.Contains(s, "/") || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") {
				return true
			}
			first, _, _ := strings.Cut(s, "/")
			if !top[first] {
				return true
			}
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(s))); err != nil {
				return true
			}
			reads = append(reads, repoRead{path: path.Clean(s), where: fmt.Sprintf("%s:%d", file, fset.Position(x.Pos()).Line), how: x.Value})
		}
		return true
	})
	return reads, nil
}

func exprText(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.CallExpr:
		return exprText(x.Fun) + "()"
	}
	return "..."
}

// topLevelDirs lists the repository's top-level folders (not hidden ones).
func topLevelDirs(root string) (map[string]bool, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	dirs := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && !strings.HasPrefix(e.Name(), "bazel-") {
			dirs[e.Name()] = true
		}
	}
	return dirs, nil
}

// runfilesIndex resolves data attributes to the source files they bring.
type runfilesIndex struct {
	root  string
	rules map[string]*build.Rule // "//pkg:name"
	pkgs  map[string]bool        // packages (folders with a BUILD file)
}

func newRunfilesIndex(root string, bfs []buildFile) runfilesIndex {
	idx := runfilesIndex{root: root, rules: map[string]*build.Rule{}, pkgs: map[string]bool{}}
	for _, bf := range bfs {
		idx.pkgs[bf.pkg] = true
		for _, r := range bf.file.Rules("") {
			if r.Name() != "" {
				idx.rules["//"+bf.pkg+":"+r.Name()] = r
			}
		}
	}
	return idx
}

// sourceFiles adds to out the repository files an attribute value (a list of
// labels, glob() calls, or a sum of those) written in package pkg brings into
// the runfiles. Outputs of other rules (a go_binary) are not source files and
// add nothing.
func (idx runfilesIndex) sourceFiles(pkg string, x build.Expr, out, seen map[string]bool) error {
	switch v := x.(type) {
	case nil:
		return nil
	case *build.ListExpr:
		for _, e := range v.List {
			if err := idx.sourceFiles(pkg, e, out, seen); err != nil {
				return err
			}
		}
	case *build.BinaryExpr:
		if err := idx.sourceFiles(pkg, v.X, out, seen); err != nil {
			return err
		}
		return idx.sourceFiles(pkg, v.Y, out, seen)
	case *build.CallExpr:
		if callName(v) != "glob" {
			return nil
		}
		files, err := idx.glob(pkg, v)
		if err != nil {
			return err
		}
		for _, f := range files {
			out[f] = true
		}
	case *build.StringExpr:
		l := v.Value
		if strings.HasPrefix(l, "@") && !strings.HasPrefix(l, "@//") {
			return nil // another repository
		}
		if !strings.HasPrefix(l, "//") && !strings.HasPrefix(l, "@//") && !strings.HasPrefix(l, ":") {
			l = ":" + l // a file of this package
		}
		label := localLabel(pkg, l)
		if label == "" || seen[label] {
			return nil
		}
		seen[label] = true
		p, name, _ := strings.Cut(strings.TrimPrefix(label, "//"), ":")
		if r, ok := idx.rules[label]; ok {
			if r.Kind() == "filegroup" {
				if err := idx.sourceFiles(p, r.Attr("srcs"), out, seen); err != nil {
					return err
				}
				return idx.sourceFiles(p, r.Attr("data"), out, seen)
			}
			return nil
		}
		out[path.Join(p, name)] = true
	}
	return nil
}

// glob expands glob(include, exclude = [...]) in package pkg as Bazel does:
// files only, not crossing into a subpackage.
func (idx runfilesIndex) glob(pkg string, call *build.CallExpr) ([]string, error) {
	var include []string
	if len(call.List) > 0 {
		if _, named := call.List[0].(*build.AssignExpr); !named {
			for _, s := range stringList(call.List[0]) {
				include = append(include, s.Value)
			}
		}
	}
	for _, s := range stringList(keyword(call, "include")) {
		include = append(include, s.Value)
	}
	var exclude []string
	for _, s := range stringList(keyword(call, "exclude")) {
		exclude = append(exclude, s.Value)
	}
	dir := filepath.Join(idx.root, filepath.FromSlash(pkg))
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && idx.pkgs[path.Join(pkg, rel)] {
				return filepath.SkipDir
			}
			return nil
		}
		matched := false
		for _, pat := range include {
			matched = matched || globMatch(pat, rel)
		}
		for _, pat := range exclude {
			matched = matched && !globMatch(pat, rel)
		}
		if matched {
			out = append(out, path.Join(pkg, rel))
		}
		return nil
	})
	return out, err
}

// globMatch matches a "/"-separated path against a Bazel glob pattern, where
// "**" is any number of whole segments and other segments are path.Match
// patterns.
func globMatch(pattern, name string) bool {
	return matchSegs(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchSegs(pat, name []string) bool {
	if len(pat) == 0 {
		return len(name) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(name); i++ {
			if matchSegs(pat[1:], name[i:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 {
		return false
	}
	ok, err := path.Match(pat[0], name[0])
	return err == nil && ok && matchSegs(pat[1:], name[1:])
}

// filesUnder lists the files a read of rel needs: rel itself, or every file
// under the folder rel except BUILD files.
func filesUnder(root, rel string) ([]string, error) {
	full := filepath.Join(root, filepath.FromSlash(rel))
	info, err := os.Stat(full)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{rel}, nil
	}
	var out []string
	err = filepath.WalkDir(full, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if n := d.Name(); n == "BUILD" || n == "BUILD.bazel" {
			return nil
		}
		r, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(r))
		return nil
	})
	return out, err
}

func checkTestData(cfg config) error {
	bfs, err := buildFiles(cfg.root)
	if err != nil {
		return err
	}
	idx := newRunfilesIndex(cfg.root, bfs)
	var problems []string
	for _, bf := range bfs {
		for _, r := range bf.file.Rules("go_test") {
			label := "//" + bf.pkg + ":" + r.Name()
			var reads []repoRead
			for _, src := range r.AttrStrings("srcs") {
				if !strings.HasSuffix(src, ".go") || strings.ContainsAny(src, ":@") {
					continue
				}
				rs, err := findRepoReads(cfg.root, path.Join(bf.pkg, src))
				if err != nil {
					return fmt.Errorf("%s: %w", label, err)
				}
				reads = append(reads, rs...)
			}
			if len(reads) == 0 {
				continue
			}
			have := map[string]bool{}
			if err := idx.sourceFiles(bf.pkg, r.Attr("data"), have, map[string]bool{}); err != nil {
				return fmt.Errorf("%s: data: %w", label, err)
			}
			for _, rd := range reads {
				if rd.path == "." {
					continue // the root itself, e.g. as a working directory: names no file
				}
				need, err := filesUnder(cfg.root, rd.path)
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: %s reads %s (%s), which does not exist", rd.where, label, rd.path, rd.how))
					continue
				}
				var missing []string
				for _, f := range need {
					if !have[f] {
						missing = append(missing, f)
					}
				}
				if len(missing) == 0 {
					continue
				}
				sort.Strings(missing)
				shown := missing
				if len(shown) > 4 {
					shown = append(shown[:4:4], fmt.Sprintf("... %d more", len(missing)-4))
				}
				problems = append(problems, fmt.Sprintf("%s: %s reads %s (%s) but its data lacks %d of the %d files there: %s; add them to data (a filegroup in %s/BUILD.bazel)",
					rd.where, label, rd.path, rd.how, len(missing), len(need), strings.Join(shown, ", "), strings.Split(rd.path, "/")[0]))
			}
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}
