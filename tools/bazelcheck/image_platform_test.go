package main

import (
	"strings"
	"testing"
)

// imageBuild is src/cmd/BUILD.bazel's image section before issue 28: an
// oci_image built for whatever platform //... targets, a transitioned copy
// per platform and an index.
const imageBuild = `load("@aspect_bazel_lib//lib:transitions.bzl", "platform_transition_filegroup")
load("@rules_oci//oci:defs.bzl", "oci_image", "oci_image_index")

oci_image(
    name = "image",
    base = "@distroless_static",
    entrypoint = ["/ashiato"],
    tars = [":layer"],
    user = "65532:65532",
)

oci_image_index(
    name = "image_index",
    images = [":image"],
    platforms = [
        "//platforms:linux_amd64",
        "//platforms:linux_arm64",
    ],
)

platform_transition_filegroup(
    name = "image_linux_arm64",
    srcs = [":image"],
    target_platform = "//platforms:linux_arm64",
)
`

func TestImagePlatform(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build string
		want  []string // substrings of the failure; none: the check passes
	}{
		{
			// The defect of issue 28: //src/cmd:image on a macOS host.
			"an oci_image without an OS constraint",
			imageBuild,
			[]string{`img/BUILD.bazel:4: oci_image "image" has no OS constraint and no platform transition`},
		},
		{
			"Linux only",
			strings.Replace(imageBuild, `    user = "65532:65532",`, `    target_compatible_with = ["@platforms//os:linux"],`+"\n"+`    user = "65532:65532",`, 1),
			nil,
		},
		{
			"an index that does not transition",
			strings.Replace(strings.Replace(imageBuild, `    user = "65532:65532",`, `    target_compatible_with = ["@platforms//os:linux"],`+"\n"+`    user = "65532:65532",`, 1),
				"    platforms = [\n        \"//platforms:linux_amd64\",\n        \"//platforms:linux_arm64\",\n    ],\n", "", 1),
			[]string{`oci_image_index "image_index" has no OS constraint and no platform transition`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := goodTree()
			files["img/BUILD.bazel"] = tc.build
			err := checkImagePlatform(writeTree(t, files))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("check failed, want it to pass:\n%s", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("check passed, want a failure containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("failure lacks %q:\n%s", w, err)
				}
			}
		})
	}
}
