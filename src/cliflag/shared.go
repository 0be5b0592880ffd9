package cliflag

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pod-ashiato/ashiato/src/kubeconn"
	"github.com/pod-ashiato/ashiato/src/storeio"
	"github.com/pod-ashiato/ashiato/src/storeopen"
	"github.com/pod-ashiato/ashiato/src/usage"
)

// UserAgent is what the commands' API clients call themselves; main sets
// it to carry the version.
var UserAgent = "pod-ashiato/dev"

// Shared are the cluster and store flags every command that reads or
// writes the history shares: --kubeconfig and --context (kubeconn.Flags),
// --store, --cm-namespace, the --s3-* flags and the cluster flag
// (storeopen.Flags). Each is defined once, in those packages, on a Go
// flag.FlagSet; the recorder parses that set itself, the subcommands add it
// to cobra's flags.
type Shared struct {
	Conn           kubeconn.Flags
	Store          storeopen.Flags
	NamespaceGiven bool // --cm-namespace was given
}

// register adds the shared flags to a command's flags: clusterFlag is the cluster flag's
// name (cluster-name for writers, cluster for readers).
func (s *Shared) Register(to *pflag.FlagSet, nsHelp, clusterFlag, clusterHelp string, qps float64, burst int) {
	s.Conn.QPS, s.Conn.Burst, s.Conn.UserAgent = qps, burst, UserAgent
	fs := flag.NewFlagSet("shared", flag.ContinueOnError)
	s.Conn.Register(fs)
	s.Store.Register(fs, nsHelp, clusterFlag, clusterHelp)
	to.AddGoFlagSet(fs)
	if clusterFlag == "cluster" { // a reader: the namespace is found (readers.Open)
		to.Lookup("cm-namespace").DefValue = ""
	}
}

// parsed notes which shared flags were given and validates them.
func (s *Shared) Parsed(cmd *cobra.Command, clusterFlag string) error {
	s.Store.Explicit = cmd.Flags().Changed("store")
	s.NamespaceGiven = cmd.Flags().Changed("cm-namespace")
	return usage.Wrap(s.Store.Validate(clusterFlag))
}

// OpenStore is the store f names, for cluster (storeopen.Open). Every
// failure is a usage error (exit 2), before any work.
func OpenStore(ctx context.Context, f *storeopen.Flags, cluster string, kube func() (storeopen.Kube, error), stderr io.Writer) (storeio.Store, error) {
	if f.Warn == nil {
		g := *f
		g.Warn = func(msg string) { fmt.Fprintf(stderr, "ashiato: warning: %s\n", msg) }
		f = &g
	}
	st, err := f.Open(ctx, cluster, kube)
	return st, usage.Wrap(err)
}
