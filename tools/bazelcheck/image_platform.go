package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/bazelbuild/buildtools/build"
)

// The image_platform check: no image target is built for the host platform
// by `bazel build //...`. An oci_image takes its base for the target
// platform's architecture but its layers from whatever the target platform
// builds: on a macOS host that is a darwin binary in a Linux image, which
// runs nowhere. Only targets reached through a platform transition
// (platform_transition_filegroup, oci_image_index's platforms) build it for
// Linux. So every oci_image carries an OS constraint in target_compatible_with
// (Bazel then skips it in //... on other hosts and refuses it by name), and
// every oci_image_index either transitions (platforms) or carries one too.

// hasOSConstraint reports whether a target_compatible_with value names an
// @platforms//os: constraint (in a list or a select branch).
func hasOSConstraint(x build.Expr) bool {
	for _, s := range allStrings(x) {
		if strings.HasPrefix(s, "@platforms//os:") {
			return true
		}
	}
	return false
}

func checkImagePlatform(cfg config) error {
	bfs, err := buildFiles(cfg.root)
	if err != nil {
		return err
	}
	var problems []string
	for _, bf := range bfs {
		for _, r := range bf.file.Rules("") {
			kind := r.Kind()
			if kind != "oci_image" && kind != "oci_image_index" {
				continue
			}
			if hasOSConstraint(r.Attr("target_compatible_with")) {
				continue
			}
			if kind == "oci_image_index" && r.Attr("platforms") != nil {
				continue // each image is built through a transition to its platform
			}
			problems = append(problems, fmt.Sprintf("%s:%d: %s %q has no OS constraint and no platform transition: `bazel build //...` on a macOS host "+
				"builds it with a darwin binary on a Linux base. Add target_compatible_with = [\"@platforms//os:linux\"] and build it through a transition "+
				"(platform_transition_filegroup, oci_image_index platforms)",
				bf.rel, startLine(r.Call), kind, r.Name()))
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}
