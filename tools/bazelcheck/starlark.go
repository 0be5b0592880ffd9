package main

import (
	"io/fs"
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
