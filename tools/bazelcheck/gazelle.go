package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

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
