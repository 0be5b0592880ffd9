package main

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

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
