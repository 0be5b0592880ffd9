package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/pod-ashiato/ashiato/src/cliflag"
	"github.com/pod-ashiato/ashiato/src/export"
	"github.com/pod-ashiato/ashiato/src/readers"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/s3store"
)

// storeExportConfig is what `ashiato store export` was asked, validated.
type storeExportConfig struct {
	kube         cliflag.Shared
	dest         export.Dest
	since, until time.Time
}

func (a *app) storeExportCommand() *cobra.Command {
	c := &storeExportConfig{}
	var format string
	cmd := &cobra.Command{
		Use:   "export --format parquet [--since T] [--until T] DEST",
		Short: "Write the history's Parquet tables into a folder or s3://bucket/prefix",
		Long:  storeExportLong,
		Example: `  ashiato store export --format parquet --since 720h ./ashiato-tables
  ashiato store export --format parquet --store s3 --s3-bucket my-history s3://analytics/pod-ashiato`,
	}
	c.kube.Register(cmd.Flags(), "namespace of the history ConfigMaps to export (default: found, see ashiato history --help)", "cluster",
		"with --store s3: this cluster's history only (default: every cluster under --s3-prefix); with ConfigMaps: the name the files go under", 50, 100)
	cmd.Flags().StringVar(&format, "format", "parquet", "the files' format: parquet (the only one)")
	cmd.Flags().Var(cliflag.Time{T: &c.since, Now: a.now}, "since", "the first hour to export (default: the oldest stored)")
	cmd.Flags().Var(cliflag.Time{T: &c.until, Now: a.now}, "until", "the last hour to export (default: the newest closed)")
	cmd.RunE = func(cmd *cobra.Command, args []string) (err error) {
		if len(args) != 1 {
			return usagef("store export takes one DEST, a folder or s3://bucket/prefix; got %d arguments", len(args))
		}
		if format != "parquet" {
			return usagef("invalid --format %q: want parquet", format)
		}
		if c.dest, err = export.ParseDest(args[0]); err != nil {
			return usagef("%v", err)
		}
		if err := c.kube.Parsed(cmd, "cluster"); err != nil {
			return err
		}
		return do(a, c, func(c *storeExportConfig) error { return a.runStoreExport(cmd.Context(), c) })
	}
	return cmd
}

// runStoreExport is `ashiato store export`: a line per cluster on stdout.
func (a *app) runStoreExport(ctx context.Context, c *storeExportConfig) error {
	rs, err := readers.ForPerson(ctx, &c.kube.Conn, &c.kube.Store, c.kube.NamespaceGiven, historyRetry, a.stderr)
	if err != nil {
		return err
	}
	files, err := export.Open(ctx, c.dest, s3store.Options{Endpoint: c.kube.Store.Endpoint, Region: c.kube.Store.Region})
	if err != nil {
		return usagef("%v", err)
	}
	sources := make([]export.Source, len(rs))
	for i, r := range rs {
		sources[i] = export.Source{Store: r.Reader.Store, Cluster: r.Cluster}
		if r.Cluster == "" {
			sources[i].Cluster = c.kube.Conn.ClusterName(c.kube.Store.Cluster)
		}
	}
	opts := export.Options{Since: c.since, Until: c.until, Dest: files, Retry: retry.Policy{Backoff: retry.DefaultBackoff(), MaxElapsed: 2 * time.Minute}}
	return export.All(ctx, sources, opts, c.dest.String(), a.stdout)
}
