package main

import (
	"strings"
	"testing"
)

// ociModule is goodModule plus a distroless pull, written the way rules_oci's
// docs/pull.md shows a multi-arch base with variants.
const ociModule = goodModule + `
bazel_dep(name = "rules_oci", version = "2.3.0")

oci = use_extension("@rules_oci//oci:extensions.bzl", "oci")
oci.pull(
    name = "distroless_static",
    digest = "sha256:e2e927ec666bae08560abb3c55d0659eceabb657f56b6782ab500a9fc7f555e3",
    image = "gcr.io/distroless/static-debian13",
    platforms = [
        "linux/amd64",
        "linux/arm64/v8",
    ],
)
use_repo(
    oci,
    "distroless_static",
    "distroless_static_linux_amd64",
    "distroless_static_linux_arm64_v8",
)
`

func TestOCIPlatforms(t *testing.T) {
	for _, tc := range []struct {
		name   string
		module func(string) string
		want   []string // substrings of the failure; none: the check passes
	}{
		{"variants and repositories as the index and bazel mod tidy have them", func(m string) string { return m }, nil},
		{
			// The defect of issue 19: the pull fails with "No matching manifest found".
			"arm64 without its variant",
			func(m string) string {
				m = strings.Replace(m, `"linux/arm64/v8",`, `"linux/arm64",`, 1)
				return strings.Replace(m, `"distroless_static_linux_arm64_v8",`, `"distroless_static_linux_arm64",`, 1)
			},
			[]string{`platform "linux/arm64" is listed in the image index as "linux/arm64/v8"`},
		},
		{
			"amd64 with a variant the index does not have",
			func(m string) string { return strings.Replace(m, `"linux/amd64",`, `"linux/amd64/v8",`, 1) },
			[]string{`platform "linux/amd64/v8" is listed in the image index as "linux/amd64"`, "lacks repositories", "distroless_static_linux_amd64_v8"},
		},
		{
			"use_repo names the platform repositories without the variant",
			func(m string) string {
				return strings.Replace(m, `"distroless_static_linux_arm64_v8",`, `"distroless_static_linux_arm64",`, 1)
			},
			[]string{"lacks repositories the oci extension makes for the root module (what `bazel mod tidy` would add): distroless_static_linux_arm64_v8",
				"lists repositories no oci.pull makes: distroless_static_linux_arm64"},
		},
		{
			"use_repo lists only the alias repository",
			func(m string) string {
				i := strings.Index(m, "use_repo(\n    oci,")
				return m[:i] + "use_repo(oci, \"distroless_static\")\n"
			},
			[]string{"distroless_static_linux_amd64, distroless_static_linux_arm64_v8"},
		},
		{
			"a tag instead of a digest",
			func(m string) string {
				return strings.Replace(m, `digest = "sha256:e2e927ec666bae08560abb3c55d0659eceabb657f56b6782ab500a9fc7f555e3",`, `tag = "nonroot",`, 1)
			},
			[]string{`digest "" is not a pinned sha256 digest`, "tag is set"},
		},
		{
			"an image whose index variants nobody recorded",
			func(m string) string {
				return strings.Replace(m, "gcr.io/distroless/static-debian13", "docker.io/library/alpine", 1)
			},
			[]string{"no recorded index variants for this image"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := goodTree()
			files["MODULE.bazel"] = tc.module(ociModule)
			err := checkOCIPlatforms(writeTree(t, files))
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

func TestOCIPlatformRepo(t *testing.T) {
	// As `bazel mod tidy` writes them for rules_oci's docs/pull.md example.
	for platform, want := range map[string]string{
		"linux/amd64":    "distroless_base_nossl_debian12_linux_amd64",
		"linux/arm64/v8": "distroless_base_nossl_debian12_linux_arm64_v8",
	} {
		if got := ociPlatformRepo("distroless_base_nossl_debian12", platform); got != want {
			t.Errorf("ociPlatformRepo(%q) = %q, want %q", platform, got, want)
		}
	}
}
