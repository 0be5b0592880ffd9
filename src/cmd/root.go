package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pod-ashiato/ashiato/src/kubeconn"
	"github.com/pod-ashiato/ashiato/src/storeio"
	"github.com/pod-ashiato/ashiato/src/storeopen"
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
	root.SetArgs(longDashes(root, args))
	return root.ExecuteContext(ctx)
}

// longDashes gives the subcommands' long flags written with one dash, as
// package flag took them before the subcommands moved to cobra (serve
// -addr :8080), their second dash (--addr). The recorder parses its own.
func longDashes(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == root {
		return args
	}
	cmd.InitDefaultHelpFlag()
	out := slices.Clone(args)
	for i, arg := range out {
		if arg == "--" {
			break
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(arg, "-"), "=")
		if len(name) > 1 && arg[0] == '-' && arg[1] != '-' && cmd.Flag(name) != nil {
			out[i] = "-" + arg
		}
	}
	return out
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

// sharedFlags are the cluster and store flags every command that reads or
// writes the history shares: --kubeconfig and --context (kubeconn.Flags),
// --store, --cm-namespace, the --s3-* flags and the cluster flag
// (storeopen.Flags). Each is defined once, in those packages, on a Go
// flag.FlagSet; the recorder parses that set itself, the subcommands add it
// to cobra's flags.
type sharedFlags struct {
	conn    kubeconn.Flags
	store   storeopen.Flags
	nsGiven bool // --cm-namespace was given
}

// register adds the shared flags to a command's flags: clusterFlag is the cluster flag's
// name (cluster-name for writers, cluster for readers).
func (s *sharedFlags) register(to *pflag.FlagSet, nsHelp, clusterFlag, clusterHelp string, qps float64, burst int) {
	s.conn.QPS, s.conn.Burst, s.conn.UserAgent = qps, burst, "pod-ashiato/"+version
	fs := flag.NewFlagSet("shared", flag.ContinueOnError)
	s.conn.Register(fs)
	s.store.Register(fs, nsHelp, clusterFlag, clusterHelp)
	to.AddGoFlagSet(fs)
	if clusterFlag == "cluster" { // a reader: the namespace is found (readers.Open)
		to.Lookup("cm-namespace").DefValue = ""
	}
}

// parsed notes which shared flags were given and validates them.
func (s *sharedFlags) parsed(cmd *cobra.Command, clusterFlag string) error {
	s.store.Explicit = cmd.Flags().Changed("store")
	s.nsGiven = cmd.Flags().Changed("cm-namespace")
	return usage.Wrap(s.store.Validate(clusterFlag))
}

// openStore is the store f names, for cluster (storeopen.Open). Every
// failure is a usage error (exit 2), before any work.
func openStore(ctx context.Context, f *storeopen.Flags, cluster string, kube func() (storeopen.Kube, error), stderr io.Writer) (storeio.Store, error) {
	if f.Warn == nil {
		g := *f
		g.Warn = func(msg string) { fmt.Fprintf(stderr, "ashiato: warning: %s\n", msg) }
		f = &g
	}
	st, err := f.Open(ctx, cluster, kube)
	return st, usage.Wrap(err)
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
