package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestCompletion: completion bash|zsh|fish prints cobra's script on
// stdout, and the script completes the subcommands.
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "__start_ashiato", "zsh": "#compdef ashiato", "fish": "complete -c ashiato"} {
		var stdout, stderr bytes.Buffer
		if err := run(t.Context(), []string{"completion", shell}, &stdout, &stderr); err != nil || !strings.Contains(stdout.String(), want) {
			t.Errorf("completion %s: %v, stdout lacks %q (%d bytes)", shell, err, want, stdout.Len())
		}
	}
	var stdout bytes.Buffer
	if err := run(t.Context(), []string{"__complete", "history", "n"}, &stdout, &bytes.Buffer{}); err != nil || !strings.Contains(stdout.String(), "node") {
		t.Errorf("completing history n: %v, %q", err, stdout.String())
	}
}

// TestHelpHasExamples: every command's --help shows examples, on stderr
// as the recorder's help always was, and each example parses.
func TestHelpHasExamples(t *testing.T) {
	a := &app{}
	var walk func(cmd *cobra.Command, path []string)
	walk = func(cmd *cobra.Command, path []string) {
		for _, sub := range cmd.Commands() {
			if sub.Name() != "help" && sub.Name() != "completion" { // cobra's
				walk(sub, append(path, sub.Name()))
			}
		}
		for _, line := range strings.Split(cmd.Example, "\n") {
			line, _, _ = strings.Cut(strings.TrimSpace(line), " >")
			if args, ok := strings.CutPrefix(line, "ashiato "); ok {
				if _, err := parseCommand[any](strings.Fields(args), historyNow, &bytes.Buffer{}); err != nil {
					t.Errorf("example %q: %v", line, err)
				}
			}
		}
		var stdout, stderr bytes.Buffer
		if err := run(t.Context(), append(path, "--help"), &stdout, &stderr); err != nil {
			t.Errorf("%q --help: %v", path, err)
		}
		if !strings.Contains(stderr.String(), "Examples:") || stdout.Len() > 0 {
			t.Errorf("ashiato %s --help: no examples on stderr, or something on stdout:\n%s", strings.Join(path, " "), stderr.String())
		}
	}
	root := a.rootCommand()
	walk(root, nil)
	// The recorder's help (help/root.txt) lists every subcommand.
	var stderr bytes.Buffer
	if err := run(t.Context(), []string{"--help"}, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, sub := range root.Commands() {
		if !strings.Contains(stderr.String(), "\n  "+sub.Name()+" ") {
			t.Errorf("ashiato --help does not list %s (help/root.txt)", sub.Name())
		}
	}
}

// TestRecorderFirst: only a first argument that names a subcommand leaves
// the recorder; a flag's value that does (-namespace history) is the
// recorder's, as before the subcommands moved to cobra.
func TestRecorderFirst(t *testing.T) {
	for _, args := range [][]string{{"-namespace", "history"}, {"-oneshot", "-namespace", "serve"}} {
		c, err := parseCommand[*config](args, historyNow, &bytes.Buffer{})
		if err != nil || c == nil || c.Filter.String() != `--namespace="`+args[len(args)-1]+`"` {
			t.Errorf("%q: %+v, %v; want the recorder", args, c, err)
		}
	}
}
