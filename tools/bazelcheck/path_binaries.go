package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/bazelbuild/buildtools/build"
)

// The path_binaries check: no test that `bazel test //...` runs looks a
// program up on PATH. Such a program is not a Bazel dependency: nothing pins
// it, and .bazelrc's --incompatible_strict_action_env gives tests a PATH of
// /bin:/usr/bin:/usr/local/bin, so the test passes only where a package
// manager happened to put the program there (Debian's prometheus: yes;
// Homebrew's, or none: no). A test that needs a program from outside is either
// given it as data from a repository pinned by digest, or tagged manual and
// run by name with a config that forwards what it needs (test:e2e).
//
// A PATH lookup is exec.LookPath, or exec.Command / exec.CommandContext of a
// constant name without a "/", anywhere in the Go code the test links from
// this repository. A test tagged manual is not in //... and is not checked.

func checkPathBinaries(cfg config) error {
	var problems []string
	err := goTests(cfg.root, func(bf buildFile, r *build.Rule, label string, reads goReads) error {
		if hasTag(r, "manual") {
			return nil
		}
		for _, rd := range reads.path {
			what := "a program"
			if rd.value != "" {
				what = rd.value
			}
			problems = append(problems, fmt.Sprintf("%s: %s looks up %s on PATH (%s), and it is not tagged manual, so `bazel test //...` runs it "+
				"with PATH=/bin:/usr/bin:/usr/local/bin (--incompatible_strict_action_env): it passes only where a package put the program there. "+
				"Give it the program as data from a pinned repository, or tag it manual and run it with a config that forwards what it needs (.bazelrc, test:e2e)",
				rd.where, label, what, rd.how))
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
