package main

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/bazelbuild/buildtools/build"
)

// The oci_platforms check: every oci.pull of a multi-architecture image names
// its platforms exactly as the image index lists them, is pinned by digest,
// and use_repo(oci, ...) lists the repositories `bazel mod tidy` would write.
//
// rules_oci (oci/private/pull.bzl, _find_platform_manifest) joins a manifest's
// os, architecture and variant with "/" and compares that string with the
// requested platform, so "linux/arm64" never matches an index entry that says
// variant "v8": the fetch fails with "No matching manifest found" (docs/pull.md:
// "it won't work with just linux/arm64"). Nothing offline can read an index,
// so the variants are recorded here per image family, from the publisher's
// own sources.

// indexVariants maps an image name prefix to the variant its indexes carry
// per architecture; an architecture not listed has no variant. distroless:
// distro.bzl, VARIANTS = {"arm": "v7", "arm64": "v8"}.
var indexVariants = map[string]map[string]string{
	"gcr.io/distroless/": {"arm": "v7", "arm64": "v8"},
}

const ociExtension = "@rules_oci//oci:extensions.bzl"

var pinnedDigest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// ociPlatformRepo is the repository rules_oci makes for one platform of a
// pull: the name and the platform's parts joined by "_" (oci/extensions.bzl
// and oci/pull.bzl: "_".join([name] + platform.split("/"))).
func ociPlatformRepo(name, platform string) string {
	return strings.Join(append([]string{name}, strings.Split(platform, "/")...), "_")
}

// variantsFor returns the recorded variants of an image, or false if the
// image belongs to no family recorded in indexVariants.
func variantsFor(image string) (map[string]string, bool) {
	for prefix, v := range indexVariants {
		if strings.HasPrefix(image, prefix) {
			return v, true
		}
	}
	return nil, false
}

func checkOCIPlatforms(cfg config) error {
	mod, err := readModule(cfg.root)
	if err != nil {
		return err
	}
	proxies := extensionProxies(mod, ociExtension, "oci")
	if len(proxies) == 0 {
		return nil // no images pulled
	}
	var problems []string
	want := map[string]bool{} // what the extension reports as the root module's direct deps
	listed := map[string]bool{}
	for _, stmt := range mod.Stmt {
		call, ok := stmt.(*build.CallExpr)
		if !ok {
			continue
		}
		if callName(call) == "use_repo" && len(call.List) > 0 {
			if id, ok := call.List[0].(*build.Ident); ok && proxies[id.Name] {
				for _, arg := range call.List[1:] {
					switch a := arg.(type) {
					case *build.StringExpr:
						listed[a.Value] = true
					case *build.AssignExpr:
						listed[stringValue(a.RHS)] = true
					}
				}
			}
			continue
		}
		dot, ok := call.X.(*build.DotExpr)
		if !ok || dot.Name != "pull" {
			continue
		}
		if id, ok := dot.X.(*build.Ident); !ok || !proxies[id.Name] {
			continue
		}
		name := stringValue(keyword(call, "name"))
		image := stringValue(keyword(call, "image"))
		if image == "" {
			image = stringValue(keyword(call, "registry")) + "/" + stringValue(keyword(call, "repository"))
		}
		at := fmt.Sprintf("MODULE.bazel:%d: oci.pull %q (%s)", call.Pos.Line, name, image)
		want[name] = true
		if d := stringValue(keyword(call, "digest")); !pinnedDigest.MatchString(d) {
			problems = append(problems, fmt.Sprintf("%s: digest %q is not a pinned sha256 digest (crane digest IMAGE:TAG prints it)", at, d))
		}
		if keyword(call, "tag") != nil {
			problems = append(problems, at+": tag is set; pin the digest alone (a tag moves)")
		}
		platforms := stringList(keyword(call, "platforms"))
		if len(platforms) == 0 {
			continue // single-platform image: nothing to match in an index
		}
		variants, known := variantsFor(image)
		if !known {
			problems = append(problems, fmt.Sprintf("%s: no recorded index variants for this image; list its platforms with "+
				"`crane manifest %s@DIGEST | jq -r '.manifests[].platform'` and add them to indexVariants in tools/bazelcheck/oci_platforms.go", at, image))
		}
		for _, p := range platforms {
			want[ociPlatformRepo(name, p.Value)] = true
			if !known {
				continue
			}
			parts := strings.Split(p.Value, "/")
			if len(parts) < 2 || len(parts) > 3 {
				problems = append(problems, fmt.Sprintf("%s: platform %q is not os/arch[/variant]", at, p.Value))
				continue
			}
			expect := parts[0] + "/" + parts[1]
			if v := variants[parts[1]]; v != "" {
				expect += "/" + v
			}
			if p.Value != expect {
				problems = append(problems, fmt.Sprintf("%s: platform %q is listed in the image index as %q; rules_oci matches os/arch/variant exactly, so this pull fails with \"No matching manifest found\"",
					at, p.Value, expect))
			}
		}
	}
	missing, extra := diffSets(want, listed)
	if len(missing) > 0 {
		problems = append(problems, "use_repo(oci, ...) lacks repositories the oci extension makes for the root module (what `bazel mod tidy` would add): "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		problems = append(problems, "use_repo(oci, ...) lists repositories no oci.pull makes: "+strings.Join(extra, ", "))
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}
