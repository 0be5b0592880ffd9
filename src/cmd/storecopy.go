package main

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/pod-ashiato/ashiato/src/kubeconn"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/storecopy"
	"github.com/pod-ashiato/ashiato/src/storeopen"
)

// storeCommand is `ashiato store`, the commands that move the history
// between stores. To add one (`store export`), write a func returning its
// *cobra.Command, as storeCopyCommand, and add it here.
func (a *app) storeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "store copy",
		Short:   "Move the history between stores (copy: the ConfigMap history into S3)",
		Example: "  ashiato store copy --s3-bucket my-history --cm-namespace pod-ashiato",
		Args:    cobra.ArbitraryArgs,
		// the subcommands' flags, given with a wrong subcommand, are no error
		FParseErrWhitelist: cobra.FParseErrWhitelist{UnknownFlags: true},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("missing what to do: ashiato store copy (see ashiato store copy --help)")
			}
			return usagef("unknown store command %q: want copy", args[0])
		},
	}
	cmd.AddCommand(a.storeCopyCommand())
	return cmd
}

// storeCopyConfig is what `ashiato store copy` was asked, validated.
type storeCopyConfig struct {
	kube sharedFlags // kubeconfig, context, cm-namespace, the S3 store
}

func (a *app) storeCopyCommand() *cobra.Command {
	c := &storeCopyConfig{}
	cmd := &cobra.Command{
		Use:   "copy --s3-bucket B [--s3-endpoint URL] [--cluster-name NAME] [--cm-namespace NS]",
		Short: "Copy the history kept in hourly ConfigMaps into the S3 store",
		Long:  storeCopyLong,
		Example: `  ashiato store copy --cm-namespace pod-ashiato --s3-bucket my-history
  ashiato store copy --s3-endpoint https://s3.example.com --s3-bucket my-history --cluster-name prod`,
		Args: noArgs(""),
	}
	c.kube.register(cmd.Flags(), "namespace of the history ConfigMaps to copy", "cluster-name", "the cluster the copied hours are filed under (default: as the recorder's --cluster-name)", 20, 40)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if cmd.Flags().Changed("store") && !c.kube.store.S3() {
			return usagef("store copy copies ConfigMaps into S3: --store must be s3 (or left out)")
		}
		c.kube.store.Kind = storeopen.S3
		if err := c.kube.parsed(cmd, "cluster-name"); err != nil {
			return err
		}
		return do(a, c, func(c *storeCopyConfig) error { return a.runStoreCopy(cmd.Context(), c) })
	}
	return cmd
}

// runStoreCopy is `ashiato store copy`.
func (a *app) runStoreCopy(ctx context.Context, cfg *storeCopyConfig) error {
	client, _, err := cfg.kube.conn.Clients(nil)
	if err != nil {
		return err
	}
	log := &logrus.Logger{Out: a.stderr, Formatter: &logrus.TextFormatter{DisableTimestamp: true}, Hooks: make(logrus.LevelHooks), Level: logrus.WarnLevel, ExitFunc: func(int) {}}
	if err := kubeconn.CheckNamespaces(ctx, client, log, map[string][]string{"cm-namespace": {cfg.kube.store.Namespace}}); err != nil {
		return err
	}
	kube := func() (storeopen.Kube, error) { return storeopen.Kube{ConfigMaps: client.CoreV1()}, nil }
	cfg.kube.store.Warn = func(msg string) { log.Warn(msg) }
	target, err := openStore(ctx, &cfg.kube.store, cfg.kube.conn.ClusterName(cfg.kube.store.Cluster), kube, a.stderr)
	if err != nil {
		return err
	}
	source := cfg.kube.store
	source.Kind = storeopen.ConfigMap
	from, err := openStore(ctx, &source, "", kube, a.stderr)
	if err != nil {
		return err
	}
	return storecopy.Report(ctx, from, target, retry.Policy{Backoff: retry.DefaultBackoff(), MaxElapsed: 2 * time.Minute, Log: log}, a.stdout, a.stderr)
}
