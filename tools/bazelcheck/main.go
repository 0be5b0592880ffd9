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
//
// Gazelle and buildifier are built from the tools module (tools/go.mod), so
// their versions are the ones pinned there. Usage, from tools/:
//
//	go run ./bazelcheck -root ..        # check; exit 1 on any failure
//	go run ./bazelcheck -root .. -fix   # rewrite use_repo, BUILD files, formatting; then check
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/bazelbuild/buildtools/build"
	"golang.org/x/mod/modfile"
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

// ---- use_repo ----------------------------------------------------------

// goDepsUsage is what MODULE.bazel says about the go_deps extension.
type goDepsUsage struct {
	goMods  []string        // go.mod files given to go_deps.from_file, as paths
	listed  map[string]bool // repositories named in use_repo(go_deps, ...)
	useRepo []*build.CallExpr
}

const goDepsExtension = "@gazelle//:extensions.bzl"

// readGoDeps finds the go_deps extension proxies, their from_file go.mod files
// and their use_repo calls in MODULE.bazel.
func readGoDeps(root string, f *build.File) (goDepsUsage, error) {
	u := goDepsUsage{listed: map[string]bool{}}
	proxies := map[string]bool{}
	for _, stmt := range f.Stmt {
		if as, ok := stmt.(*build.AssignExpr); ok {
			if call, ok := as.RHS.(*build.CallExpr); ok && callName(call) == "use_extension" &&
				len(call.List) >= 2 && stringValue(call.List[0]) == goDepsExtension && stringValue(call.List[1]) == "go_deps" {
				if id, ok := as.LHS.(*build.Ident); ok {
					proxies[id.Name] = true
				}
			}
		}
	}
	if len(proxies) == 0 {
		return u, fmt.Errorf("MODULE.bazel has no go_deps = use_extension(%q, \"go_deps\")", goDepsExtension)
	}
	for _, stmt := range f.Stmt {
		call, ok := stmt.(*build.CallExpr)
		if !ok {
			continue
		}
		if dot, ok := call.X.(*build.DotExpr); ok && dot.Name == "from_file" {
			if id, ok := dot.X.(*build.Ident); ok && proxies[id.Name] {
				label := stringValue(keyword(call, "go_mod"))
				if label == "" {
					return u, fmt.Errorf("MODULE.bazel: %s.from_file without go_mod (go_work is not supported here)", id.Name)
				}
				p, err := labelPath(root, label)
				if err != nil {
					return u, err
				}
				u.goMods = append(u.goMods, p)
			}
		}
		if callName(call) == "use_repo" && len(call.List) > 0 {
			if id, ok := call.List[0].(*build.Ident); ok && proxies[id.Name] {
				u.useRepo = append(u.useRepo, call)
				for _, arg := range call.List[1:] {
					switch a := arg.(type) {
					case *build.StringExpr:
						u.listed[a.Value] = true
					case *build.AssignExpr: // alias = "repo"
						u.listed[stringValue(a.RHS)] = true
					}
				}
			}
		}
	}
	return u, nil
}

// labelPath turns a main-repository file label such as //:go.mod into a path.
func labelPath(root, label string) (string, error) {
	l := strings.TrimPrefix(label, "@@")
	l = strings.TrimPrefix(l, "@")
	if !strings.HasPrefix(l, "//") {
		return "", fmt.Errorf("MODULE.bazel: go_mod = %q is not a label in this repository", label)
	}
	pkg, name, _ := strings.Cut(strings.TrimPrefix(l, "//"), ":")
	return filepath.Join(root, filepath.FromSlash(pkg), name), nil
}

// goModules is one go.mod's requirements: every module, and the direct ones.
type goModules struct {
	all    []*modfile.Require
	direct map[string]bool // repo names of direct requirements and tool providers
}

func readGoMod(path string) (goModules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return goModules{}, err
	}
	mf, err := modfile.Parse(path, data, nil)
	if err != nil {
		return goModules{}, err
	}
	m := goModules{direct: map[string]bool{}}
	for _, r := range mf.Require {
		m.all = append(m.all, r)
		if !r.Indirect {
			m.direct[repoName(r.Mod.Path)] = true
		}
	}
	// go_deps also treats a module that provides a `tool` as direct.
	for _, t := range mf.Tool {
		for _, r := range mf.Require {
			if t.Path == r.Mod.Path || strings.HasPrefix(t.Path, r.Mod.Path+"/") {
				m.direct[repoName(r.Mod.Path)] = true
			}
		}
	}
	return m, nil
}

// repoName is Gazelle's repository name for a Go module path, as go_deps
// computes it (_repo_name in gazelle's internal/bzlmod/go_deps.bzl):
// github.com/foo/bar-baz -> com_github_foo_bar_baz.
func repoName(importpath string) string {
	segs := strings.Split(importpath, "/")
	host := strings.Split(segs[0], ".")
	for i, j := 0, len(host)-1; i < j; i, j = i+1, j-1 {
		host[i], host[j] = host[j], host[i]
	}
	cand := strings.ReplaceAll(strings.Join(append(host, segs[1:]...), "_"), "-", "_")
	var b strings.Builder
	for _, c := range cand {
		switch {
		case c >= 'A' && c <= 'Z':
			b.WriteRune(c + 'a' - 'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// wantedGoRepos reads MODULE.bazel and its go.mod files: what use_repo lists
// now, and what `bazel mod tidy` would list (the direct requirements).
func wantedGoRepos(root string) (*build.File, goDepsUsage, map[string]bool, error) {
	path := filepath.Join(root, "MODULE.bazel")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, goDepsUsage{}, nil, err
	}
	f, err := build.ParseModule(path, data)
	if err != nil {
		return nil, goDepsUsage{}, nil, err
	}
	u, err := readGoDeps(root, f)
	if err != nil {
		return nil, u, nil, err
	}
	want := map[string]bool{}
	for _, gm := range u.goMods {
		m, err := readGoMod(gm)
		if err != nil {
			return nil, u, nil, err
		}
		for r := range m.direct {
			want[r] = true
		}
	}
	return f, u, want, nil
}

// checkUseRepo fails when use_repo(go_deps, ...) differs from go.mod's direct
// requirements. Bazel only warns about that, but then a BUILD file can name a
// repository that stops existing when the last indirect user goes away.
func checkUseRepo(cfg config) error {
	_, u, want, err := wantedGoRepos(cfg.root)
	if err != nil {
		return err
	}
	missing, extra := diffSets(want, u.listed)
	if len(missing)+len(extra) == 0 {
		return nil
	}
	var b strings.Builder
	if len(missing) > 0 {
		fmt.Fprintf(&b, "direct requirements in go.mod missing from use_repo(go_deps, ...): %s\n", strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		fmt.Fprintf(&b, "use_repo(go_deps, ...) lists repositories that are not direct requirements in go.mod: %s\n", strings.Join(extra, ", "))
	}
	b.WriteString("(run go mod tidy in the product module, then bazelcheck -fix)")
	return errors.New(b.String())
}

// fixUseRepo rewrites the first use_repo(go_deps, ...) to list the direct
// requirements, as `bazel mod tidy` would, keeping aliased entries.
func fixUseRepo(cfg config) error {
	f, u, want, err := wantedGoRepos(cfg.root)
	if err != nil {
		return err
	}
	if missing, extra := diffSets(want, u.listed); len(missing)+len(extra) == 0 {
		return nil
	}
	if len(u.useRepo) == 0 {
		return errors.New("MODULE.bazel has no use_repo(go_deps, ...) to rewrite; add one")
	}
	names := make([]string, 0, len(want))
	for r := range want {
		names = append(names, r)
	}
	sort.Strings(names)
	for i, call := range u.useRepo {
		keep := []build.Expr{call.List[0]}
		for _, arg := range call.List[1:] {
			if _, ok := arg.(*build.StringExpr); !ok {
				keep = append(keep, arg)
			}
		}
		if i == 0 {
			for _, n := range names {
				keep = append(keep, &build.StringExpr{Value: n})
			}
		}
		call.List = keep
		call.ForceMultiLine = true
	}
	return os.WriteFile(filepath.Join(cfg.root, "MODULE.bazel"), build.Format(f), 0o644)
}

func diffSets(want, have map[string]bool) (missing, extra []string) {
	for k := range want {
		if !have[k] {
			missing = append(missing, k)
		}
	}
	for k := range have {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return missing, extra
}

// ---- gazelle -----------------------------------------------------------

// writeRepoConfig writes the file `bazel run //:gazelle` passes as
// -repo_config under bzlmod (@bazel_gazelle_go_repository_config//:WORKSPACE):
// one go_repository per module required by the go.mod files go_deps reads.
// Gazelle maps an import to a repository by the longest matching importpath.
func writeRepoConfig(root, dir string) (string, error) {
	_, u, _, err := wantedGoRepos(root)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	seen := map[string]string{}
	for _, gm := range u.goMods {
		m, err := readGoMod(gm)
		if err != nil {
			return "", err
		}
		for _, r := range m.all {
			name := repoName(r.Mod.Path)
			if prev, ok := seen[name]; ok && prev != r.Mod.Path {
				return "", fmt.Errorf("go modules %s and %s both map to repository %s; go_deps would fail", prev, r.Mod.Path, name)
			}
			seen[name] = r.Mod.Path
			fmt.Fprintf(&b, "go_repository(\n    name = %q,\n    importpath = %q,\n    version = %q,\n)\n\n", name, r.Mod.Path, r.Mod.Version)
		}
	}
	path := filepath.Join(dir, "WORKSPACE")
	return path, os.WriteFile(path, b.Bytes(), 0o644)
}

// runGazelle runs Gazelle the way `bazel run //:gazelle` does under bzlmod
// (gazelle's internal/gazelle.bash.in: update -bzlmod -repo_config FILE), with
// the module proxy off so nothing is looked up on the network.
func runGazelle(cfg config, mode string) (stdout, stderr string, err error) {
	tmp, err := os.MkdirTemp("", "bazelcheck-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	repoConfig, err := writeRepoConfig(cfg.root, tmp)
	if err != nil {
		return "", "", err
	}
	cmd := exec.Command(cfg.gazelle, "update", "-bzlmod", "-repo_config="+repoConfig,
		"-repo_root="+cfg.root, "-mode="+mode)
	cmd.Dir = cfg.root
	cmd.Env = append(os.Environ(),
		"BUILD_WORKSPACE_DIRECTORY="+cfg.root,
		"GOPROXY=off", "GOTOOLCHAIN=local", "GOWORK=off")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// checkGazelle fails if Gazelle would change a BUILD file or says anything on
// stderr. Offline Gazelle reports an import it cannot resolve on stderr and
// leaves the dependency out of the BUILD file, so stderr alone is a failure.
func checkGazelle(cfg config) error {
	out, errOut, err := runGazelle(cfg, "diff")
	var msgs []string
	if strings.TrimSpace(errOut) != "" {
		msgs = append(msgs, "Gazelle wrote to stderr (an import it cannot map to a go.mod module, or a bad directive):\n"+errOut)
	}
	if strings.TrimSpace(out) != "" {
		msgs = append(msgs, "BUILD files differ from what `bazel run //:gazelle` would write:\n"+out)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		msgs = append(msgs, "running gazelle: "+err.Error())
	} else if err != nil && len(msgs) == 0 {
		msgs = append(msgs, "gazelle exited with "+err.Error())
	}
	if len(msgs) > 0 {
		return errors.New(strings.Join(msgs, "\n"))
	}
	return nil
}

func fixGazelle(cfg config) error {
	_, _, err := runGazelle(cfg, "fix")
	return err // stderr is reported by the check that follows
}

// ---- buildifier --------------------------------------------------------

// starlarkFiles lists the repository's Starlark files, relative to root.
// bazel-* output symlinks are not followed.
func starlarkFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (d.Name() == ".git" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		switch n := d.Name(); {
		case n == "BUILD", n == "BUILD.bazel", n == "MODULE.bazel", n == "REPO.bazel",
			n == "WORKSPACE", n == "WORKSPACE.bazel", strings.HasSuffix(n, ".bzl"):
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, rel)
		}
		return nil
	})
	return files, err
}

func runBuildifier(cfg config, args ...string) (string, error) {
	files, err := starlarkFiles(cfg.root)
	if err != nil {
		return "", err
	}
	cmd := exec.Command(cfg.buildifier, append(args, files...)...)
	cmd.Dir = cfg.root
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// checkBuildifier fails on any file buildifier would reformat and any lint
// warning (buildifier's default warning set).
func checkBuildifier(cfg config) error {
	out, err := runBuildifier(cfg, "-mode=check", "-lint=warn")
	if err != nil || strings.TrimSpace(out) != "" {
		if out == "" {
			out = err.Error()
		}
		return fmt.Errorf("buildifier -mode=check -lint=warn:\n%s", out)
	}
	return nil
}

func fixBuildifier(cfg config) error {
	out, err := runBuildifier(cfg, "-mode=fix", "-lint=fix")
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return nil // what is left is reported by the check that follows
		}
		return fmt.Errorf("buildifier -mode=fix: %v\n%s", err, out)
	}
	return nil
}

// ---- labels ------------------------------------------------------------

// builtinRepos are visible to the root module without being declared.
var builtinRepos = map[string]bool{"bazel_tools": true}

// declaredRepos is every repository name the root module can see: its own
// name, each bazel_dep's (repo_name if given), each use_repo'd repository and
// each repository made by a use_repo_rule.
func declaredRepos(f *build.File) map[string]bool {
	repos := map[string]bool{"": true} // "@//foo" is the main repository
	repoRules := map[string]bool{}
	for _, stmt := range f.Stmt {
		if as, ok := stmt.(*build.AssignExpr); ok {
			if call, ok := as.RHS.(*build.CallExpr); ok && callName(call) == "use_repo_rule" {
				if id, ok := as.LHS.(*build.Ident); ok {
					repoRules[id.Name] = true
				}
			}
		}
	}
	for _, stmt := range f.Stmt {
		call, ok := stmt.(*build.CallExpr)
		if !ok {
			continue
		}
		switch name := callName(call); {
		case name == "module" || name == "bazel_dep":
			r := keyword(call, "repo_name")
			if r == nil {
				repos[stringValue(keyword(call, "name"))] = true
			} else if s := stringValue(r); s != "" {
				repos[s] = true
			}
		case name == "use_repo":
			for _, arg := range call.List[1:] {
				switch a := arg.(type) {
				case *build.StringExpr:
					repos[a.Value] = true
				case *build.AssignExpr: // apparent = "exported"
					if id, ok := a.LHS.(*build.Ident); ok {
						repos[id.Name] = true
					}
				}
			}
		case repoRules[name]:
			repos[stringValue(keyword(call, "name"))] = true
		}
	}
	return repos
}

// labelRepo matches a string that is a label in another repository:
// @repo, @repo//pkg:target, @@repo//..., and returns the repository name.
var labelRepo = regexp.MustCompile(`^@@?([A-Za-z0-9_.+~-]*)(//.*)?$`)

// checkLabels fails on a label naming a repository MODULE.bazel does not
// declare: Bazel reports those only when the target is built, Gazelle never.
func checkLabels(cfg config) error {
	modPath := filepath.Join(cfg.root, "MODULE.bazel")
	data, err := os.ReadFile(modPath)
	if err != nil {
		return err
	}
	mod, err := build.ParseModule(modPath, data)
	if err != nil {
		return err
	}
	declared := declaredRepos(mod)
	files, err := starlarkFiles(cfg.root)
	if err != nil {
		return err
	}
	undeclared := map[string][]string{}
	for _, rel := range files {
		if strings.HasPrefix(filepath.Base(rel), "WORKSPACE") {
			continue // not read under bzlmod
		}
		data, err := os.ReadFile(filepath.Join(cfg.root, rel))
		if err != nil {
			return err
		}
		f, err := build.Parse(rel, data)
		if err != nil {
			return err
		}
		build.Walk(f, func(x build.Expr, _ []build.Expr) {
			s, ok := x.(*build.StringExpr)
			if !ok {
				return
			}
			m := labelRepo.FindStringSubmatch(s.Value)
			if m == nil || declared[m[1]] || builtinRepos[m[1]] {
				return
			}
			undeclared[m[1]] = append(undeclared[m[1]], fmt.Sprintf("%s:%d %q", rel, s.Start.Line, s.Value))
		})
	}
	if len(undeclared) == 0 {
		return nil
	}
	names := make([]string, 0, len(undeclared))
	for n := range undeclared {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "repositories used but not declared in MODULE.bazel (bazel_dep or use_repo): %s\n", strings.Join(names, ", "))
	for _, n := range names {
		for _, where := range undeclared[n] {
			fmt.Fprintf(&b, "  @%s: %s\n", n, where)
		}
	}
	return errors.New(strings.TrimSuffix(b.String(), "\n"))
}

// ---- testonly ----------------------------------------------------------

// localLabel resolves a label written in package pkg to "//pkg:name", or ""
// if it names another repository or is not a label.
func localLabel(pkg, l string) string {
	switch {
	case strings.HasPrefix(l, "@//"):
		l = l[1:]
	case strings.HasPrefix(l, ":"):
		return "//" + pkg + l
	case !strings.HasPrefix(l, "//"):
		return ""
	}
	if !strings.Contains(l, ":") {
		return l + ":" + path.Base(l)
	}
	return l
}

// isTrue reports whether a rule attribute is the literal True (or 1).
func isTrue(x build.Expr) bool {
	switch v := x.(type) {
	case *build.Ident:
		return v.Name == "True"
	case *build.LiteralExpr:
		return v.Token == "1"
	}
	return false
}

// checkTestonly fails when a rule that is neither testonly nor a test
// depends on a testonly rule of this repository.
func checkTestonly(cfg config) error {
	files, err := starlarkFiles(cfg.root)
	if err != nil {
		return err
	}
	type ruleInfo struct {
		file     string
		rule     *build.Rule
		testonly bool
	}
	rules := map[string]ruleInfo{}
	for _, rel := range files {
		if base := filepath.Base(rel); base != "BUILD" && base != "BUILD.bazel" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(cfg.root, rel))
		if err != nil {
			return err
		}
		f, err := build.ParseBuild(rel, data)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(rel))
		if pkg == "." {
			pkg = ""
		}
		for _, r := range f.Rules("") {
			if r.Name() != "" {
				rules["//"+pkg+":"+r.Name()] = ruleInfo{rel, r, isTrue(r.Attr("testonly"))}
			}
		}
	}
	var problems []string
	for name, info := range rules {
		if info.testonly || strings.HasSuffix(info.rule.Kind(), "_test") {
			continue
		}
		pkg := strings.TrimPrefix(name[:strings.Index(name, ":")], "//")
		for _, attr := range []string{"deps", "embed", "srcs", "data"} {
			for _, l := range info.rule.AttrStrings(attr) {
				if dep, ok := rules[localLabel(pkg, l)]; ok && dep.testonly {
					problems = append(problems, fmt.Sprintf("%s: %s (not testonly) depends on testonly %s; mark it testonly = True or drop the dependency", info.file, name, localLabel(pkg, l)))
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

// ---- test_size ---------------------------------------------------------

// goTestsWithoutSize returns, per BUILD file, the go_test rules lacking size.
func goTestsWithoutSize(root string) (map[string][]*build.Rule, map[string]*build.File, error) {
	files, err := starlarkFiles(root)
	if err != nil {
		return nil, nil, err
	}
	missing, parsed := map[string][]*build.Rule{}, map[string]*build.File{}
	for _, rel := range files {
		if base := filepath.Base(rel); base != "BUILD" && base != "BUILD.bazel" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			return nil, nil, err
		}
		f, err := build.ParseBuild(rel, data)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range f.Rules("go_test") {
			if r.Attr("size") == nil {
				missing[rel] = append(missing[rel], r)
				parsed[rel] = f
			}
		}
	}
	return missing, parsed, nil
}

func checkTestSize(cfg config) error {
	missing, _, err := goTestsWithoutSize(cfg.root)
	if err != nil || len(missing) == 0 {
		return err
	}
	var lines []string
	for rel, rules := range missing {
		for _, r := range rules {
			lines = append(lines, fmt.Sprintf("%s: go_test %q has no size (small: unit test; medium/large: real processes)", rel, r.Name()))
		}
	}
	sort.Strings(lines)
	return errors.New(strings.Join(lines, "\n"))
}

// fixTestSize sets size = "small" on go_tests that have none; a test that
// needs longer is given medium or large by hand, and Gazelle keeps it.
func fixTestSize(cfg config) error {
	missing, parsed, err := goTestsWithoutSize(cfg.root)
	if err != nil {
		return err
	}
	for rel, rules := range missing {
		for _, r := range rules {
			r.SetAttr("size", &build.StringExpr{Value: "small"})
		}
		if err := os.WriteFile(filepath.Join(cfg.root, rel), build.Format(parsed[rel]), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ---- small helpers -----------------------------------------------------

func callName(c *build.CallExpr) string {
	if id, ok := c.X.(*build.Ident); ok {
		return id.Name
	}
	return ""
}

func keyword(c *build.CallExpr, name string) build.Expr {
	for _, arg := range c.List {
		if as, ok := arg.(*build.AssignExpr); ok {
			if id, ok := as.LHS.(*build.Ident); ok && id.Name == name {
				return as.RHS
			}
		}
	}
	return nil
}

func stringValue(x build.Expr) string {
	if s, ok := x.(*build.StringExpr); ok {
		return s.Value
	}
	return ""
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n")
}
