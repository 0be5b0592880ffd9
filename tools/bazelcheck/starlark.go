package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bazelbuild/buildtools/build"
)

// Readers of the repository's Starlark files, shared by the checks.

// starlarkFiles lists the repository's Starlark files, relative to root.
// bazel-* output symlinks are not followed.
func starlarkFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (d.Name() == ".git" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		switch n := d.Name(); {
		case n == "BUILD", n == "BUILD.bazel", n == "MODULE.bazel", n == "REPO.bazel",
			n == "WORKSPACE", n == "WORKSPACE.bazel", strings.HasSuffix(n, ".bzl"):
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, rel)
		}
		return nil
	})
	return files, err
}

// startLine is the line an expression starts on (a CallExpr's Pos is its
// closing parenthesis).
func startLine(x build.Expr) int {
	start, _ := x.Span()
	return start.Line
}

func callName(c *build.CallExpr) string {
	if id, ok := c.X.(*build.Ident); ok {
		return id.Name
	}
	return ""
}

func keyword(c *build.CallExpr, name string) build.Expr {
	for _, arg := range c.List {
		if as, ok := arg.(*build.AssignExpr); ok {
			if id, ok := as.LHS.(*build.Ident); ok && id.Name == name {
				return as.RHS
			}
		}
	}
	return nil
}

func stringValue(x build.Expr) string {
	if s, ok := x.(*build.StringExpr); ok {
		return s.Value
	}
	return ""
}

// readModule parses the repository's MODULE.bazel.
func readModule(root string) (*build.File, error) {
	path := filepath.Join(root, "MODULE.bazel")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return build.ParseModule(path, data)
}

// buildFile is one parsed BUILD file: its path relative to the root and its
// package ("" for the root package).
type buildFile struct {
	rel, pkg string
	file     *build.File
}

// buildFiles parses every BUILD file of the repository.
func buildFiles(root string) ([]buildFile, error) {
	files, err := starlarkFiles(root)
	if err != nil {
		return nil, err
	}
	var out []buildFile
	for _, rel := range files {
		if base := filepath.Base(rel); base != "BUILD" && base != "BUILD.bazel" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			return nil, err
		}
		f, err := build.ParseBuild(rel, data)
		if err != nil {
			return nil, err
		}
		pkg := filepath.ToSlash(filepath.Dir(rel))
		if pkg == "." {
			pkg = ""
		}
		out = append(out, buildFile{rel: rel, pkg: pkg, file: f})
	}
	return out, nil
}

// extensionProxies returns the names bound to use_extension(bzlFile, name)
// in MODULE.bazel, e.g. go_deps or oci.
func extensionProxies(f *build.File, bzlFile, name string) map[string]bool {
	proxies := map[string]bool{}
	for _, stmt := range f.Stmt {
		as, ok := stmt.(*build.AssignExpr)
		if !ok {
			continue
		}
		call, ok := as.RHS.(*build.CallExpr)
		if !ok || callName(call) != "use_extension" || len(call.List) < 2 ||
			stringValue(call.List[0]) != bzlFile || stringValue(call.List[1]) != name {
			continue
		}
		if id, ok := as.LHS.(*build.Ident); ok {
			proxies[id.Name] = true
		}
	}
	return proxies
}

// stringList returns the string literals of a list expression.
func stringList(x build.Expr) []*build.StringExpr {
	l, ok := x.(*build.ListExpr)
	if !ok {
		return nil
	}
	var out []*build.StringExpr
	for _, e := range l.List {
		if s, ok := e.(*build.StringExpr); ok {
			out = append(out, s)
		}
	}
	return out
}
