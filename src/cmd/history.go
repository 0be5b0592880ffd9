package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/pod-ashiato/ashiato/src/answer"
	"github.com/pod-ashiato/ashiato/src/cliflag"
	"github.com/pod-ashiato/ashiato/src/filter"
	"github.com/pod-ashiato/ashiato/src/readers"
)

// historyRetry bounds how long a query waits for an unreachable API
// server: a person is waiting.
const historyRetry = 15 * time.Second

// historyFlags are the flags of `history` and its subcommands.
type historyFlags struct {
	kube         sharedFlags
	output       string
	at           string
	since, until string
	filter       filter.Options // history node: namespaces and name prefixes
	window       time.Duration  // incident
	nodeSelector string         // incident
}

// historyConfig is what `ashiato history pod|node` was asked, validated.
type historyConfig struct {
	kube *sharedFlags
	answer.Query
}

func (a *app) historyCommand() *cobra.Command {
	f := &historyFlags{}
	cmd := &cobra.Command{
		Use:   "history pod|node|incident",
		Short: "Where pods ran, what ran on a node, what a failed node's pods became",
		Long:  "Where a pod ran, which pods ran on a node, and what a failed node's pods became.\n\n" + historyLong,
		Example: `  ashiato history pod shop/web-0 --since 2h
  ashiato history node worker-2 --at 2026-11-26T14:02:00Z -o json
  ashiato history incident worker-2 --at 2026-11-26T14:02:00Z`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("missing what to show: ashiato history pod NAMESPACE/NAME, or ashiato history node NODE (see ashiato history --help)")
			}
			return usagef("unknown history %q: want pod, node or incident (see ashiato history --help)", args[0])
		},
	}
	pf := cmd.PersistentFlags() // for every history command
	f.kube.register(pf, "namespace of the history ConfigMaps (--store configmap; default: found, see --help)", "cluster",
		"with --store s3: read this cluster's history only (default: every cluster under --s3-prefix; each row says its cluster)", 50, 100)
	pf.StringVarP(&f.output, "output", "o", "table", "output: table, wide (every column; pod and node), json, or svg (a timeline picture)")
	pf.StringVar(&f.at, "at", "", "a single instant instead of a range (incident: when the node failed)")
	cmd.AddCommand(a.historyRowsCommand(f, "pod"), a.historyRowsCommand(f, "node"), a.incidentCommand(f))
	return cmd
}

// historyRowsCommand is `history pod` or `history node` (what).
func (a *app) historyRowsCommand(f *historyFlags, what string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pod NAMESPACE/NAME [--since T] [--until T | --at T]",
		Short: "Where the pod ran, hour by hour: HOUR, NODE, FIRST SEEN, LAST SEEN (default: the last 24h)",
		Example: `  # where shop/web-0 ran in the last 24 hours
  ashiato history pod shop/web-0
  # at an instant, as JSON
  ashiato history pod shop/web-0 --at 2026-11-26T14:00:00Z -o json`,
	}
	want := "NAMESPACE/NAME"
	if what == "node" {
		want = "NODE"
		cmd.Use = "node NODE (--at T | --since T [--until T])"
		cmd.Short = "Which pods ran on the node: NAMESPACE, POD, HOUR, FIRST SEEN, LAST SEEN"
		cmd.Example = `  # what ran on worker-2 at 14:02
  ashiato history node worker-2 --at 2026-11-26T14:02:00Z
  # the last two hours, shop's pods only, as a timeline picture
  ashiato history node worker-2 --since 2h --namespace shop -o svg > worker-2.svg`
	}
	cmd.Long = cmd.Short + ".\n\nhistory node also takes --namespace, --exclude-namespace (comma-separated)\nand --name, --exclude-name (name prefixes), as the recorder does.\n\n" + historyLong
	fl := cmd.Flags()
	fl.StringVar(&f.since, "since", "", "start of the range (pod default: 24h before --until)")
	fl.StringVar(&f.until, "until", "", "end of the range (default: now)")
	fl.Var((*cliflag.List)(&f.filter.Namespaces), "namespace", "history node: only pods of these namespaces, comma-separated")
	fl.Var((*cliflag.List)(&f.filter.ExcludeNamespaces), "exclude-namespace", "history node: not the pods of these namespaces, comma-separated")
	fl.StringVar(&f.filter.NamePrefix, "name", "", "history node: only pods whose name starts with this prefix")
	fl.Var((*cliflag.List)(&f.filter.ExcludeNamePrefixes), "exclude-name", "history node: not the pods whose name starts with this prefix (repeatable)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return usagef("history %s needs the %s", what, want)
		case len(args) > 1:
			return usagef("unexpected argument %q: history %s takes one %s", args[1], what, want)
		}
		c, err := f.rowsConfig(cmd, what, args[0], a.now())
		if err != nil {
			return err
		}
		return do(a, c, func(c *historyConfig) error { return a.runHistory(cmd.Context(), c) })
	}
	return cmd
}

// rowsConfig validates the flags of `history pod|node` and its argument.
func (f *historyFlags) rowsConfig(cmd *cobra.Command, what, arg string, now time.Time) (*historyConfig, error) {
	c := &historyConfig{kube: &f.kube, Query: answer.Query{Output: f.output, Filter: f.filter, S3: f.kube.store.S3()}}
	if err := c.Parse(what, arg, f.since, f.until, f.at, now); err != nil {
		return nil, err
	}
	return c, f.kube.parsed(cmd, "cluster")
}

// runHistory is `ashiato history pod|node`: the answer on stdout, warnings
// and "nothing found" on stderr.
func (a *app) runHistory(ctx context.Context, c *historyConfig) error {
	rs, err := readers.ForPerson(ctx, &c.kube.conn, &c.kube.store, c.kube.nsGiven, historyRetry, a.stderr)
	if err != nil {
		return err
	}
	c.Where = readers.StoreName(&c.kube.store, rs)
	return answer.History(ctx, &c.Query, rs, a.stdout, a.stderr)
}
