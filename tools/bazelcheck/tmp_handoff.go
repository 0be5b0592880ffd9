package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/bazelbuild/buildtools/build"
)

// The tmp_handoff check: nothing hands a Bazel test a path in the system
// temp directory that a process outside the test wrote.
//
// Since Bazel 7 (--incompatible_sandbox_hermetic_tmp, on by default) every
// sandboxed action and test gets its own empty /tmp, so a file a script wrote
// under /tmp or $TMPDIR before `bazel test` does not exist for the test. What
// a test writes in its own temp dir (t.TempDir(), os.MkdirTemp) and gives to
// its own child processes is fine: they share the sandbox. So the check looks
// only where a value crosses into a test from outside:
//   - shell scripts (*.sh, *.bash, or a #! sh/bash line): the values of
//     --test_env=NAME=VALUE, --test_env=NAME and --test_arg=VALUE on a
//     `bazel test` or `bazel coverage` line. A value is a temp path if it
//     starts with /tmp, /var/tmp, $TMPDIR or $TMP, or expands a variable the
//     script set to one, or to $(mktemp ...) without a directory of its own
//     outside the temp dir (mktemp, mktemp -d and mktemp -t all use $TMPDIR,
//     else /tmp);
//   - .bazelrc files: the same flags on test/coverage lines;
//   - BUILD files: the env and args of every *_test rule.

var (
	shellAssign = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)
	shellVarRef = regexp.MustCompile(`^\$\{?([A-Za-z_][A-Za-z0-9_]*)`)
)

// tmpOrigin says why a shell variable holds a temp path.
type tmpOrigin struct {
	line int
	text string
}

// isTmpLiteral reports whether a value (quotes removed) is in the temp dir
// on its face.
func isTmpLiteral(v string) bool {
	for _, p := range []string{"/tmp", "/var/tmp"} {
		if v == p || strings.HasPrefix(v, p+"/") {
			return true
		}
	}
	if m := shellVarRef.FindStringSubmatch(v); m != nil {
		return m[1] == "TMPDIR" || m[1] == "TMP" || m[1] == "TEMP"
	}
	return false
}

// tmpValue reports whether a shell value is a temp path, given the variables
// known to hold one, and says why.
func tmpValue(v string, vars map[string]tmpOrigin) (bool, string) {
	if isTmpLiteral(v) {
		return true, v + " is in the temp dir"
	}
	if m := shellVarRef.FindStringSubmatch(v); m != nil {
		if o, ok := vars[m[1]]; ok {
			return true, fmt.Sprintf("$%s is in the temp dir (line %d: %s)", m[1], o.line, o.text)
		}
	}
	if inner, ok := strings.CutPrefix(v, "$("); ok && strings.HasSuffix(inner, ")") {
		if mktempInTmp(shellWords(strings.TrimSuffix(inner, ")"))) {
			return true, "$(" + inner + " makes a file in the temp dir"
		}
	}
	return false, ""
}

// mktempInTmp reports whether a mktemp command line creates its file in the
// temp dir: it does unless -p DIR, --tmpdir=DIR or a template with a "/"
// puts it elsewhere.
func mktempInTmp(words []string) bool {
	if len(words) == 0 || filepath.Base(words[0]) != "mktemp" {
		return false
	}
	for i := 1; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "-p" || w == "--tmpdir":
			if i+1 < len(words) {
				return isTmpLiteral(words[i+1])
			}
			return true
		case strings.HasPrefix(w, "--tmpdir="):
			return isTmpLiteral(strings.TrimPrefix(w, "--tmpdir="))
		case strings.HasPrefix(w, "-p"):
			return isTmpLiteral(strings.TrimPrefix(w, "-p"))
		case !strings.HasPrefix(w, "-") && strings.Contains(w, "/"):
			return isTmpLiteral(w)
		}
	}
	return true
}

// shellWords splits a shell command line into words, removing quotes but
// keeping $(...) and `...` whole; a word starting with # ends the line.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	quote := byte(0)
	depth := 0 // inside $( ... )
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
				continue
			}
			if quote == '"' && c == '\\' && i+1 < len(line) {
				i++
				c = line[i]
			}
			cur.WriteByte(c)
		case depth > 0:
			if c == '(' {
				depth++
			} else if c == ')' {
				depth--
			}
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == '$' && i+1 < len(line) && line[i+1] == '(':
			depth, inWord = 1, true
			cur.WriteString("$(")
			i++
		case c == ' ' || c == '\t' || c == ';' || c == '|' || c == '&':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '#' && !inWord:
			return words
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// logicalLine is a command line with its backslash continuations joined.
type logicalLine struct {
	no   int
	text string
}

func logicalLines(data string) []logicalLine {
	var out []logicalLine
	var cur strings.Builder
	start := 0
	for i, l := range strings.Split(data, "\n") {
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\"))
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(l)
		out = append(out, logicalLine{start, cur.String()})
		cur.Reset()
	}
	return out
}

// testFlagValues returns the --test_env and --test_arg values of a bazel
// test or coverage command, as "flag value" pairs, or nil if words is not one.
func testFlagValues(words []string, bazelrc bool) [][2]string {
	i := 0
	if !bazelrc {
		for i < len(words) && filepath.Base(words[i]) != "bazel" && filepath.Base(words[i]) != "bazelisk" {
			i++
		}
		i++
		for i < len(words) && strings.HasPrefix(words[i], "-") {
			i++ // startup options
		}
		if i >= len(words) || (words[i] != "test" && words[i] != "coverage") {
			return nil
		}
		i++
	} else {
		cmd, _, _ := strings.Cut(words[0], ":")
		if cmd != "test" && cmd != "coverage" {
			return nil
		}
		i = 1
	}
	var out [][2]string
	for ; i < len(words); i++ {
		for _, flag := range []string{"--test_env", "--test_arg"} {
			if v, ok := strings.CutPrefix(words[i], flag+"="); ok {
				out = append(out, [2]string{flag, v})
			} else if words[i] == flag && i+1 < len(words) {
				out = append(out, [2]string{flag, words[i+1]})
			}
		}
	}
	return out
}

// checkHandoff judges the values one bazel test line hands the test.
func checkHandoff(where string, flags [][2]string, vars map[string]tmpOrigin) []string {
	var problems []string
	for _, fv := range flags {
		flag, v := fv[0], fv[1]
		shown := v
		if flag == "--test_env" {
			name, val, hasVal := strings.Cut(v, "=")
			if !hasVal {
				val = "$" + name // passed through from the caller's environment
			}
			v = val
		}
		if tmp, why := tmpValue(v, vars); tmp {
			problems = append(problems, fmt.Sprintf("%s: %s=%s hands the test a path in the temp dir: %s. A sandboxed test has its own empty /tmp "+
				"(--incompatible_sandbox_hermetic_tmp, on since Bazel 7), so the file is not there; write it outside the temp dir (e.g. the project's cache folder)",
				where, flag, shown, why))
		}
	}
	return problems
}

// isShellScript reports whether a file is a sh/bash script.
func isShellScript(p string, d fs.DirEntry) bool {
	if strings.HasSuffix(d.Name(), ".sh") || strings.HasSuffix(d.Name(), ".bash") {
		return true
	}
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := f.Read(head)
	first, _, _ := strings.Cut(string(head[:n]), "\n")
	return strings.HasPrefix(first, "#!") && (strings.HasSuffix(first, "sh") || strings.Contains(first, "bash"))
}

func checkTmpHandoff(cfg config) error {
	var problems []string
	err := filepath.WalkDir(cfg.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != cfg.root && (d.Name() == ".git" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), "bazel-")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(cfg.root, p)
		if err != nil {
			return err
		}
		bazelrc := d.Name() == ".bazelrc" || strings.HasSuffix(d.Name(), ".bazelrc")
		if !bazelrc && !isShellScript(p, d) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		vars := map[string]tmpOrigin{}
		for _, ll := range logicalLines(string(data)) {
			words := shellWords(ll.text)
			if len(words) == 0 {
				continue
			}
			if !bazelrc {
				for _, w := range words {
					if w == "export" || w == "local" || w == "readonly" || w == "declare" {
						continue
					}
					m := shellAssign.FindStringSubmatch(w)
					if m == nil {
						break
					}
					if tmp, _ := tmpValue(m[2], vars); tmp {
						vars[m[1]] = tmpOrigin{ll.no, w}
					} else {
						delete(vars, m[1])
					}
				}
			}
			flags := testFlagValues(words, bazelrc)
			problems = append(problems, checkHandoff(fmt.Sprintf("%s:%d", filepath.ToSlash(rel), ll.no), flags, vars)...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	bfs, err := buildFiles(cfg.root)
	if err != nil {
		return err
	}
	for _, bf := range bfs {
		for _, r := range bf.file.Rules("") {
			if !strings.HasSuffix(r.Kind(), "_test") {
				continue
			}
			var values []*build.StringExpr
			if d, ok := r.Attr("env").(*build.DictExpr); ok {
				for _, kv := range d.List {
					if s, ok := kv.Value.(*build.StringExpr); ok {
						values = append(values, s)
					}
				}
			}
			values = append(values, stringList(r.Attr("args"))...)
			for _, s := range values {
				if isTmpLiteral(s.Value) {
					problems = append(problems, fmt.Sprintf("%s:%d: %s %q hands the test %q, a path in the temp dir, which a sandboxed test sees empty (--incompatible_sandbox_hermetic_tmp)",
						bf.rel, s.Start.Line, r.Kind(), r.Name(), s.Value))
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
