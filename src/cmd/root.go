package main

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pod-ashiato/ashiato/src/cliflag"
	"github.com/pod-ashiato/ashiato/src/usage"
)

// version is set at link time (-X main.version=...).
var version = "dev"

// app is one run of the program: where it prints, its clock, and (tests)
// a hook that receives each command's validated config instead of running it.
type app struct {
	stdout, stderr io.Writer
	now            func() time.Time
	parsed         func(cfg any) error
}

// do runs fn on cfg, or hands cfg to the test hook.
func do[T any](a *app, cfg T, fn func(T) error) error {
	if a.parsed != nil {
		return a.parsed(cfg)
	}
	return fn(cfg)
}

// run is the whole program: the command tree on args.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return (&app{stdout: stdout, stderr: stderr, now: time.Now}).execute(ctx, args)
}

// execute runs the command args name. Only a first argument that names a
// subcommand leaves the recorder, as before cobra: `ashiato -namespace
// history` records the namespace history.
func (a *app) execute(ctx context.Context, args []string) error {
	root := a.rootCommand()
	if sub, _, _ := root.Find(args[:min(len(args), 1)]); sub == root && !strings.HasPrefix(strings.Join(args, " "), "__complete") {
		return a.record(ctx, args)
	}
	root.SetArgs(cliflag.LongDashes(root, args))
	return root.ExecuteContext(ctx)
}

// rootCommand is `ashiato`, the recorder, and its subcommands. The
// recorder's own flags are parsed by package flag (parseFlags), so the
// original tool's single-dash flags (-oneshot -store-in-cm) keep working;
// the subcommands use cobra's (kubectl's) flags. To add a subcommand, write
// a func returning its *cobra.Command and add it here.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:                "ashiato",
		Short:              "Record where every pod runs, and answer where it ran",
		DisableFlagParsing: true, // parseFlags reads them, as the original tool did
		Args:               cobra.ArbitraryArgs,
		SilenceErrors:      true, // main prints the error in one line
		SilenceUsage:       true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.record(cmd.Context(), args)
		},
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usage.Wrap(err) })
	root.AddCommand(a.historyCommand(), a.serveCommand(), a.storeCommand())
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	defaultHelp := root.HelpFunc()
	root.SetHelpFunc(func(cmd *cobra.Command, args []string) {
		if cmd != root {
			cmd.SetOut(a.stderr) // as flag's help, and the recorder's
			defaultHelp(cmd, args)
			return
		}
		_, _ = parseFlags([]string{"--help"}, a.stderr)
	})
	return root
}

// noArgs refuses arguments to a command that takes none; hint follows the
// message.
func noArgs(hint string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usagef("unexpected argument %q%s", args[0], hint)
		}
		return nil
	}
}
