package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bazelbuild/buildtools/build"
)

// The test_env check: every ASHIATO_* environment variable a go_test reads
// reaches it under `bazel test`. A test sees only the variables Bazel gives
// it: those of its env attribute and those a --test_env flag names; the
// caller's shell is not inherited. So each variable the test's Go code reads
// (os.Getenv or os.LookupEnv of a constant, in the test or in a library of
// this repository it links) must be set in its env or forwarded by a
// --test_env line of .bazelrc (under some config, e.g. test:e2e); otherwise
// setting it in the shell, as the docs and scripts say, does nothing.

// envPrefix names the variables that are ours to forward; Bazel's own
// (TEST_SRCDIR, ...) are set by Bazel.
const envPrefix = "ASHIATO_"

// bazelrcForwards returns the variables the repository's .bazelrc (and the
// files it imports from the workspace) forward with --test_env, each with
// where and under which command:config.
func bazelrcForwards(root string) (map[string][]string, error) {
	forwards := map[string][]string{}
	seen := map[string]bool{}
	var read func(rel string, optional bool) error
	read = func(rel string, optional bool) error {
		if seen[rel] {
			return nil
		}
		seen[rel] = true
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			if optional && errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		for _, ll := range logicalLines(string(data)) {
			words := shellWords(ll.text)
			if len(words) == 0 {
				continue
			}
			if words[0] == "import" || words[0] == "try-import" {
				if len(words) > 1 && strings.HasPrefix(words[1], "%workspace%/") {
					if err := read(strings.TrimPrefix(words[1], "%workspace%/"), words[0] == "try-import"); err != nil {
						return err
					}
				}
				continue
			}
			for i := 1; i < len(words); i++ {
				v, ok := strings.CutPrefix(words[i], "--test_env=")
				if !ok && words[i] == "--test_env" && i+1 < len(words) {
					v, ok = words[i+1], true
				}
				if ok {
					name, _, _ := strings.Cut(v, "=")
					forwards[name] = append(forwards[name], fmt.Sprintf("%s:%d (%s)", rel, ll.no, words[0]))
				}
			}
		}
		return nil
	}
	return forwards, read(".bazelrc", true)
}

// envKeys returns the keys of a rule's env dict.
func envKeys(r *build.Rule) map[string]bool {
	keys := map[string]bool{}
	if d, ok := r.Attr("env").(*build.DictExpr); ok {
		for _, kv := range d.List {
			if k, ok := kv.Key.(*build.StringExpr); ok {
				keys[k.Value] = true
			}
		}
	}
	return keys
}

func checkTestEnv(cfg config) error {
	forwards, err := bazelrcForwards(cfg.root)
	if err != nil {
		return err
	}
	var problems []string
	err = goTests(cfg.root, func(bf buildFile, r *build.Rule, label string, reads goReads) error {
		set := envKeys(r)
		reported := map[string]bool{}
		for _, rd := range reads.env {
			name := rd.value
			if !strings.HasPrefix(name, envPrefix) || set[name] || len(forwards[name]) > 0 || reported[name] {
				continue
			}
			reported[name] = true
			problems = append(problems, fmt.Sprintf("%s: %s reads %s (%s), but neither its env nor any .bazelrc config forwards it: "+
				"under bazel test it is never set, whatever the shell exports. Add `test:<config> --test_env=%s` to .bazelrc (the config that runs this test)",
				rd.where, label, name, rd.how, name))
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
