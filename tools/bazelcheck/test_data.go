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
