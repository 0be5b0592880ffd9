// Command bazelcheck checks the Bazel side of the repository without running
// Bazel, which developer machines and CI here cannot run:
//
//   - use_repo: MODULE.bazel's use_repo(go_deps, ...) lists exactly the direct
//     requirements of go.mod, i.e. what `bazel mod tidy` would write.
//   - gazelle: the BUILD files are exactly what `bazel run //:gazelle` would
//     write, and Gazelle says nothing on stderr (offline, Gazelle drops any
//     import it cannot map to a repository and only says so on stderr).
//   - buildifier: every Starlark file is formatted and lint-clean.
//   - labels: every @repo named in a BUILD, .bzl or MODULE.bazel file is one
//     MODULE.bazel declares (a bazel_dep or a use_repo'd repository).
//   - testonly: no rule that is not testonly depends on a testonly rule of
//     this repository (Bazel rejects that at analysis time, Gazelle never sees it).
//   - test_size: every go_test sets size (Gazelle never does; unset means
//     "medium" and a 5-minute timeout, which hides a hanging unit test).
//   - oci_platforms: every multi-arch oci.pull names its platforms as the
//     image index lists them (arm64 carries variant v8), is pinned by digest,
//     and use_repo(oci, ...) lists the repositories `bazel mod tidy` would.
//   - test_data: every repository file a go_test reads (repoRoot() joins,
//     repository paths in string literals) is in its data, so in its runfiles.
//   - tmp_handoff: no script, .bazelrc or test rule hands a test a path in the
//     temp dir written outside it (a sandboxed test has its own empty /tmp).
//   - registry: every bazel_dep asks for a version the Bazel Central Registry
//     lists and has not yanked (a snapshot of its metadata, bcr_versions.json).
//   - test_env: every ASHIATO_* variable a go_test reads is set in its env or
//     forwarded by a --test_env line of .bazelrc.
//   - path_binaries: no go_test in //... (not tagged manual) looks a program
//     up on PATH, which is not a Bazel dependency and is cut short by
//     --incompatible_strict_action_env.
//   - image_platform: every oci_image is Linux-only (target_compatible_with),
//     and every oci_image_index transitions to its platforms or is too, so
//     a macOS host never builds an image around a darwin binary.
//   - script_preflight: a script that runs `bazel test` deals with every
//     ASHIATO_* variable those tests read before it creates anything.
//
// Each check lives in its own file, named after it.
//
// Gazelle and buildifier are built from the tools module (tools/go.mod), so
// their versions are the ones pinned there. Usage, from tools/:
//
//	go run ./bazelcheck -root ..        # check; exit 1 on any failure
//	go run ./bazelcheck -root .. -fix   # rewrite use_repo, BUILD files, formatting; then check
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// config is what every check needs: the repository and the two tool binaries.
type config struct {
	root       string // absolute path of the repository root (holds MODULE.bazel)
	gazelle    string // path of the gazelle binary
	buildifier string // path of the buildifier binary
}

// check is one named verification; a non-nil error is its failure report.
type check struct {
	name string
	run  func(config) error
}

var checks = []check{
	{"use_repo", checkUseRepo},
	{"gazelle", checkGazelle},
	{"buildifier", checkBuildifier},
	{"labels", checkLabels},
	{"testonly", checkTestonly},
	{"test_size", checkTestSize},
	{"oci_platforms", checkOCIPlatforms},
	{"test_data", checkTestData},
	{"tmp_handoff", checkTmpHandoff},
	{"registry", checkRegistry},
	{"test_env", checkTestEnv},
	{"path_binaries", checkPathBinaries},
	{"image_platform", checkImagePlatform},
	{"script_preflight", checkScriptPreflight},
}

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("bazelcheck", flag.ContinueOnError)
	flags.SetOutput(stderr)
	root := flags.String("root", "..", "repository root (the folder with MODULE.bazel)")
	fix := flags.Bool("fix", false, "rewrite use_repo, BUILD files, test sizes and formatting before checking")
	toolsDir := flags.String("tools", "", "tools module to build gazelle and buildifier from (default ROOT/tools)")
	gazelleBin := flags.String("gazelle", "", "use this gazelle binary instead of building one")
	buildifierBin := flags.String("buildifier", "", "use this buildifier binary instead of building one")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	abs, err := filepath.Abs(*root)
	if err != nil {
		fmt.Fprintln(stderr, "bazelcheck:", err)
		return 2
	}
	if _, err := os.Stat(filepath.Join(abs, "MODULE.bazel")); err != nil {
		fmt.Fprintf(stderr, "bazelcheck: %s has no MODULE.bazel; pass the repository root with -root\n", abs)
		return 2
	}
	cfg := config{root: abs, gazelle: *gazelleBin, buildifier: *buildifierBin}
	if cfg.gazelle == "" || cfg.buildifier == "" {
		dir := *toolsDir
		if dir == "" {
			dir = filepath.Join(abs, "tools")
		}
		g, b, err := buildTools(dir)
		if err != nil {
			fmt.Fprintln(stderr, "bazelcheck:", err)
			return 2
		}
		cfg.gazelle, cfg.buildifier = pick(cfg.gazelle, g), pick(cfg.buildifier, b)
	}

	if *fix {
		for _, f := range []func(config) error{fixUseRepo, fixGazelle, fixTestSize, fixBuildifier} {
			if err := f(cfg); err != nil {
				fmt.Fprintln(stderr, "bazelcheck: -fix:", err)
			}
		}
	}
	failed := 0
	for _, c := range checks {
		if err := c.run(cfg); err != nil {
			failed++
			fmt.Fprintf(stdout, "FAIL %s:\n%s\n", c.name, indent(err.Error()))
			continue
		}
		fmt.Fprintf(stdout, "ok   %s\n", c.name)
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "bazelcheck: %d of %d checks failed (from tools/: go run ./bazelcheck -root .. -fix rewrites what can be rewritten)\n", failed, len(checks))
		return 1
	}
	fmt.Fprintln(stdout, "bazelcheck: all checks passed")
	return 0
}

func pick(flagValue, built string) string {
	if flagValue != "" {
		return flagValue
	}
	return built
}

// buildTools builds gazelle and buildifier from the tools module into a cache
// folder. The Go build cache makes this a no-op after the first run.
func buildTools(toolsDir string) (gazelle, buildifier string, err error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	bin := filepath.Join(cache, "pod-ashiato", "bazelcheck")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", "", err
	}
	cmd := exec.Command("go", "build", "-o", bin+string(filepath.Separator),
		"github.com/bazelbuild/bazel-gazelle/cmd/gazelle",
		"github.com/bazelbuild/buildtools/buildifier")
	cmd.Dir = toolsDir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("building gazelle and buildifier in %s: %v\n%s", toolsDir, err, out)
	}
	return filepath.Join(bin, "gazelle"), filepath.Join(bin, "buildifier"), nil
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n")
}
