package main

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/bazelbuild/buildtools/build"
)

// The registry check: every bazel_dep of MODULE.bazel asks for a version the
// Bazel Central Registry lists, and not a yanked one. Bazel reads
// modules/<name>/<version>/MODULE.bazel from the registry before it does
// anything else, so a version it lacks stops every command ("module not found
// in registries"), and a yanked one does too unless --allow_yanked_versions.
//
// Nothing here can reach the registry, so the check carries a snapshot,
// bcr_versions.json: for each module MODULE.bazel depends on, the versions and
// yanked_versions of its modules/<name>/metadata.json, copied unchanged, with
// the registry commit they were read at. A module with a non-registry
// override (local_path_override, git_override, archive_override) is not
// looked up; single_version_override and multiple_version_override versions
// are.

//go:embed bcr_versions.json
var bcrVersionsJSON []byte

// registrySnapshot is bcr_versions.json.
type registrySnapshot struct {
	Registry string                    `json:"registry"`
	Source   string                    `json:"source"`
	Commit   string                    `json:"commit"`
	Date     string                    `json:"date"`
	Modules  map[string]registryModule `json:"modules"`
}

// registryModule is what the check keeps of one metadata.json.
type registryModule struct {
	Versions []string          `json:"versions"`
	Yanked   map[string]string `json:"yanked_versions"`
}

func loadRegistrySnapshot() (registrySnapshot, error) {
	var s registrySnapshot
	if err := json.Unmarshal(bcrVersionsJSON, &s); err != nil {
		return s, fmt.Errorf("bcr_versions.json: %w", err)
	}
	return s, nil
}

func checkRegistry(cfg config) error {
	snap, err := loadRegistrySnapshot()
	if err != nil {
		return err
	}
	return checkRegistryAgainst(cfg, snap)
}

// moduleVersion is one version MODULE.bazel asks the registry for.
type moduleVersion struct {
	module, version string
	line            int
	how             string // the call, for the report
}

func checkRegistryAgainst(cfg config, snap registrySnapshot) error {
	mod, err := readModule(cfg.root)
	if err != nil {
		return err
	}
	notRegistry := map[string]bool{} // modules fetched from elsewhere
	var asked []moduleVersion
	for _, stmt := range mod.Stmt {
		call, ok := stmt.(*build.CallExpr)
		if !ok {
			continue
		}
		name := stringValue(keyword(call, "module_name"))
		switch callName(call) {
		case "local_path_override", "git_override", "archive_override":
			notRegistry[name] = true
		case "single_version_override":
			if keyword(call, "registry") != nil {
				notRegistry[name] = true
			} else if v := stringValue(keyword(call, "version")); v != "" {
				asked = append(asked, moduleVersion{name, v, startLine(call), fmt.Sprintf("single_version_override(module_name = %q, version = %q)", name, v)})
			}
		case "multiple_version_override":
			if keyword(call, "registry") != nil {
				notRegistry[name] = true
				continue
			}
			for _, v := range stringList(keyword(call, "versions")) {
				asked = append(asked, moduleVersion{name, v.Value, v.Start.Line, fmt.Sprintf("multiple_version_override(module_name = %q, versions = [..., %q])", name, v.Value)})
			}
		case "bazel_dep":
			name := stringValue(keyword(call, "name"))
			v := stringValue(keyword(call, "version"))
			asked = append(asked, moduleVersion{name, v, startLine(call), fmt.Sprintf("bazel_dep(name = %q, version = %q)", name, v)})
		}
	}
	at := fmt.Sprintf("%s %.7s of %s", strings.TrimPrefix(snap.Source, "github.com/"), snap.Commit, snap.Date)
	var problems []string
	for _, a := range asked {
		if notRegistry[a.module] {
			continue
		}
		where := fmt.Sprintf("MODULE.bazel:%d: %s", a.line, a.how)
		if a.version == "" {
			continue // bazel_dep without a version: only valid with an override, which Bazel itself reports
		}
		m, known := snap.Modules[a.module]
		switch {
		case !known:
			problems = append(problems, fmt.Sprintf("%s: %s is not in the registry snapshot this check carries (%s); add the versions of %s/modules/%s/metadata.json to tools/bazelcheck/bcr_versions.json",
				where, a.module, at, snap.Registry, a.module))
		case !slices.Contains(m.Versions, a.version):
			last := m.Versions
			if len(last) > 3 {
				last = last[len(last)-3:]
			}
			problems = append(problems, fmt.Sprintf("%s: the registry has no version %s of %s (%s lists %d, the last %s); Bazel stops with \"module not found in registries\". "+
				"Ask for a listed version, or, if the registry has it since, refresh tools/bazelcheck/bcr_versions.json from %s/modules/%s/metadata.json",
				where, a.version, a.module, at, len(m.Versions), strings.Join(last, ", "), snap.Registry, a.module))
		case m.Yanked[a.version] != "":
			problems = append(problems, fmt.Sprintf("%s: %s %s is yanked in the registry (%s): %q; Bazel refuses it without --allow_yanked_versions",
				where, a.module, a.version, at, m.Yanked[a.version]))
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}
