package main

import (
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"github.com/bazelbuild/buildtools/build"
)

// What a data attribute brings into a test's runfiles, for the test_data check.

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
