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
)

// The script_preflight check: a script that runs tests with `bazel test`
// deals with every ASHIATO_* variable those tests read before it creates
// anything. tools/kind-e2e.sh checked for docker, kind, kubectl and bazel,
// created a cluster, built and loaded the image, and only then did the suite
// find SeaweedFS, Chromium and promtool missing.
//
// For each `bazel test` line naming go_test labels, the variables their Go
// code reads (as the test_env check finds them), less those the rule's env
// sets and those the line sets with --test_env=NAME=VALUE, come from the
// caller's shell. The script must name each one (check it, set it, build what
// it points at, or unset it) on a line before its first step that creates
// something: kind create, docker run/build, kubectl apply/create/delete, or
// bazel build/run/test.

// bazelCommand returns the command word (test, run, ...) of a bazel or
// bazelisk command line and its index, or -1.
func bazelCommand(words []string) (string, int) {
	for i, w := range words {
		if b := filepath.Base(w); b != "bazel" && b != "bazelisk" {
			continue
		}
		for j := i + 1; j < len(words); j++ {
			if !strings.HasPrefix(words[j], "-") { // past the startup options
				return words[j], j
			}
		}
	}
	return "", -1
}

// createsSomething reports whether a command line starts work that a missing
// tool would leave half done.
func createsSomething(words []string) bool {
	switch cmd, _ := bazelCommand(words); cmd {
	case "build", "run", "test", "coverage":
		return true
	}
	for i := 0; i+1 < len(words); i++ {
		next := words[i+1]
		switch filepath.Base(words[i]) {
		case "kind":
			if next == "create" {
				return true
			}
		case "docker":
			if next == "run" || next == "build" {
				return true
			}
		case "kubectl":
			if next == "apply" || next == "create" || next == "delete" {
				return true
			}
		}
	}
	return false
}

// bazelTestLine is one `bazel test` command of a script.
type bazelTestLine struct {
	line   int
	labels []string        // the targets it names
	set    map[string]bool // variables it sets: --test_env=NAME=VALUE
}

// parseBazelTest returns the labels and set variables of a bazel test
// command line, or false if it is not one.
func parseBazelTest(no int, words []string) (bazelTestLine, bool) {
	cmd, at := bazelCommand(words)
	if cmd != "test" && cmd != "coverage" {
		return bazelTestLine{}, false
	}
	bt := bazelTestLine{line: no, set: map[string]bool{}}
	for _, fv := range testFlagValues(words, false) {
		if fv[0] == "--test_env" {
			if name, _, hasValue := strings.Cut(fv[1], "="); hasValue {
				bt.set[name] = true
			}
		}
	}
	for _, w := range words[at+1:] {
		if strings.HasPrefix(w, "//") || strings.HasPrefix(w, "@//") {
			bt.labels = append(bt.labels, strings.TrimPrefix(w, "@"))
		}
	}
	return bt, true
}

func checkScriptPreflight(cfg config) error {
	bfs, err := buildFiles(cfg.root)
	if err != nil {
		return err
	}
	idx := newGoRuleIndex(bfs)
	var problems []string
	err = filepath.WalkDir(cfg.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != cfg.root && (d.Name() == ".git" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), "bazel-")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !isShellScript(p, d) {
			return nil
		}
		rel, err := filepath.Rel(cfg.root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		lines := logicalLines(string(data))
		first := 0 // the first line that creates something
		firstText := ""
		var tests []bazelTestLine
		for _, ll := range lines {
			words := shellWords(ll.text)
			if first == 0 && createsSomething(words) {
				first, firstText = ll.no, strings.Join(words, " ")
			}
			if bt, ok := parseBazelTest(ll.no, words); ok {
				tests = append(tests, bt)
			}
		}
		for _, bt := range tests {
			for _, label := range bt.labels {
				g, ok := idx[localLabel("", label)]
				if !ok || g.rule.Kind() != "go_test" {
					continue
				}
				files, importpaths := idx.sources(g)
				reads, err := analyzeGo(cfg.root, files, importpaths)
				if err != nil {
					return fmt.Errorf("%s: %w", label, err)
				}
				set := envKeys(g.rule)
				reported := map[string]bool{}
				for _, rd := range reads.env {
					name := rd.value
					if !strings.HasPrefix(name, envPrefix) || set[name] || bt.set[name] || reported[name] {
						continue
					}
					reported[name] = true
					if mentionedBefore(lines, name, first) {
						continue
					}
					problems = append(problems, fmt.Sprintf("%s:%d: %q runs before the script deals with %s, which %s reads (%s) and `bazel test` on line %d takes from the shell: "+
						"when it is missing the suite fails only after that. Check it, set it (or build what it names) or unset it before line %d",
						rel, first, firstText, name, label, rd.where, bt.line, first))
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// mentionedBefore reports whether a command (not a comment) names the
// variable on a line before line before (any line when before is 0).
func mentionedBefore(lines []logicalLine, name string, before int) bool {
	re := regexp.MustCompile(`(^|[^A-Za-z0-9_])` + regexp.QuoteMeta(name) + `($|[^A-Za-z0-9_])`)
	for _, ll := range lines {
		if before > 0 && ll.no >= before {
			return false
		}
		if re.MatchString(strings.Join(shellWords(ll.text), " ")) {
			return true
		}
	}
	return false
}
