package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/bazelbuild/buildtools/build"
)

// What the Go code a go_test compiles does at run time, for the test_env and
// path_binaries checks: which environment variables it reads and where it
// looks up programs on PATH.
//
// A test compiles its srcs and, transitively, the go_library rules of this
// repository it embeds or depends on; outside repositories are not read. The
// search is per package, not per call graph: a read anywhere in a package the
// test links counts, since a test that links it can reach it.

// goRule is one go_test or go_library of the repository.
type goRule struct {
	pkg  string
	rule *build.Rule
}

// goRuleIndex holds the repository's Go rules by label.
type goRuleIndex map[string]goRule

func newGoRuleIndex(bfs []buildFile) goRuleIndex {
	idx := goRuleIndex{}
	for _, bf := range bfs {
		for _, r := range bf.file.Rules("") {
			if strings.HasPrefix(r.Kind(), "go_") && r.Name() != "" {
				idx["//"+bf.pkg+":"+r.Name()] = goRule{bf.pkg, r}
			}
		}
	}
	return idx
}

// sources returns the Go files (relative to the root) the rule compiles,
// with those of the rules it embeds or depends on here, and the import path
// of each go_library among them.
func (idx goRuleIndex) sources(start goRule) (files []string, importpaths map[string]string) {
	importpaths = map[string]string{} // import path -> package folder
	seen := map[*build.Rule]bool{}
	queue := []goRule{start}
	set := map[string]bool{}
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		if seen[g.rule] {
			continue
		}
		seen[g.rule] = true
		if ip := stringValue(g.rule.Attr("importpath")); ip != "" {
			importpaths[ip] = g.pkg
		}
		for _, s := range allStrings(g.rule.Attr("srcs")) {
			if strings.HasSuffix(s, ".go") && !strings.ContainsAny(s, ":@") {
				set[path.Join(g.pkg, s)] = true
			}
		}
		for _, attr := range []string{"embed", "deps"} {
			for _, l := range allStrings(g.rule.Attr(attr)) {
				if dep, ok := idx[localLabel(g.pkg, l)]; ok {
					queue = append(queue, dep)
				}
			}
		}
	}
	for f := range set {
		files = append(files, f)
	}
	sort.Strings(files)
	return files, importpaths
}

// allStrings returns every string literal in an attribute value, including
// those inside select() branches and concatenations.
func allStrings(x build.Expr) []string {
	if x == nil {
		return nil
	}
	var out []string
	build.Walk(x, func(e build.Expr, _ []build.Expr) {
		if s, ok := e.(*build.StringExpr); ok {
			out = append(out, s.Value)
		}
	})
	return out
}

// goRead is one run-time read found in a Go file.
type goRead struct {
	where string // file:line
	how   string // the call as written, for the report
	value string // the variable's or program's name, "" when not a constant
}

// goReads is what a set of Go files reads at run time.
type goReads struct {
	env  []goRead // os.Getenv / os.LookupEnv
	path []goRead // exec.LookPath, and exec.Command(Context) of a bare name
}

// analyzeGo parses files (relative to root) and returns their environment
// reads and PATH lookups. importpaths maps the import paths of the packages
// among them to their folders, so that pkg.Const names resolve.
func analyzeGo(root string, files []string, importpaths map[string]string) (goReads, error) {
	fset := token.NewFileSet()
	parsed := map[string]*ast.File{}
	consts := map[string]map[string]string{} // folder -> name -> string value
	pkgNames := map[string]string{}          // folder -> package name
	for _, rel := range files {
		f, err := parser.ParseFile(fset, filepath.Join(root, filepath.FromSlash(rel)), nil, parser.SkipObjectResolution)
		if err != nil {
			return goReads{}, err
		}
		parsed[rel] = f
		dir := path.Dir(rel)
		pkgNames[dir] = strings.TrimSuffix(f.Name.Name, "_test")
		if consts[dir] == nil {
			consts[dir] = map[string]string{}
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if s, ok := stringLit(vs.Values[i]); ok {
							consts[dir][name.Name] = s
						}
					}
				}
			}
		}
	}
	var reads goReads
	for _, rel := range files {
		f := parsed[rel]
		dir := path.Dir(rel)
		imports := map[string]string{} // local name -> import path
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			name := path.Base(p)
			if d, ok := importpaths[p]; ok && pkgNames[d] != "" {
				name = pkgNames[d]
			}
			if im.Name != nil {
				name = im.Name.Name
			}
			imports[name] = p
		}
		// constant resolves an expression to a string constant: a literal, a
		// constant of this package or one of a package of the closure.
		constant := func(e ast.Expr) (string, bool) {
			switch x := e.(type) {
			case *ast.BasicLit:
				return stringLit(x)
			case *ast.Ident:
				v, ok := consts[dir][x.Name]
				return v, ok
			case *ast.SelectorExpr:
				pkg, ok := x.X.(*ast.Ident)
				if !ok {
					return "", false
				}
				d, ok := importpaths[imports[pkg.Name]]
				if !ok {
					return "", false
				}
				v, ok := consts[d][x.Sel.Name]
				return v, ok
			}
			return "", false
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			where := fmt.Sprintf("%s:%d", rel, fset.Position(call.Pos()).Line)
			how := fmt.Sprintf("%s.%s(%s)", pkg.Name, sel.Sel.Name, argsText(call.Args))
			switch imports[pkg.Name] + "." + sel.Sel.Name {
			case "os.Getenv", "os.LookupEnv":
				if len(call.Args) == 1 {
					v, _ := constant(call.Args[0])
					reads.env = append(reads.env, goRead{where, how, v})
				}
			case "os/exec.LookPath":
				if len(call.Args) == 1 {
					v, _ := constant(call.Args[0])
					reads.path = append(reads.path, goRead{where, how, v})
				}
			case "os/exec.Command", "os/exec.CommandContext":
				i := 0
				if sel.Sel.Name == "CommandContext" {
					i = 1
				}
				if len(call.Args) <= i {
					return true
				}
				// exec.Command looks a name up on PATH only when it has no
				// path separator; a variable's value is not known here.
				if v, ok := constant(call.Args[i]); ok && !strings.Contains(v, "/") {
					reads.path = append(reads.path, goRead{where, how, v})
				}
			}
			return true
		})
	}
	return reads, nil
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// argsText renders call arguments briefly: identifiers, selectors and
// literals as written, anything else as "...".
func argsText(args []ast.Expr) string {
	parts := make([]string, len(args))
	for i, a := range args {
		switch x := a.(type) {
		case *ast.BasicLit:
			parts[i] = x.Value
		case *ast.Ident:
			parts[i] = x.Name
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok {
				parts[i] = id.Name + "." + x.Sel.Name
			} else {
				parts[i] = "..."
			}
		default:
			parts[i] = "..."
		}
	}
	if len(parts) > 2 {
		parts = append(parts[:2], "...")
	}
	return strings.Join(parts, ", ")
}

// goTests calls fn for every go_test of the repository with what its Go code
// reads at run time.
func goTests(root string, fn func(bf buildFile, r *build.Rule, label string, reads goReads) error) error {
	bfs, err := buildFiles(root)
	if err != nil {
		return err
	}
	idx := newGoRuleIndex(bfs)
	for _, bf := range bfs {
		for _, r := range bf.file.Rules("go_test") {
			label := "//" + bf.pkg + ":" + r.Name()
			files, importpaths := idx.sources(goRule{bf.pkg, r})
			reads, err := analyzeGo(root, files, importpaths)
			if err != nil {
				return fmt.Errorf("%s: %w", label, err)
			}
			if err := fn(bf, r, label, reads); err != nil {
				return err
			}
		}
	}
	return nil
}

// hasTag reports whether a rule's tags list the tag.
func hasTag(r *build.Rule, tag string) bool {
	for _, t := range allStrings(r.Attr("tags")) {
		if t == tag {
			return true
		}
	}
	return false
}
