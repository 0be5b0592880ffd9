package main

import (
	"context"
	"flag"

	"github.com/spf13/cobra"

	"github.com/pod-ashiato/ashiato/src/klogrus"
	"github.com/pod-ashiato/ashiato/src/readers"
	"github.com/pod-ashiato/ashiato/src/serve"
	"github.com/pod-ashiato/ashiato/src/webview"
)

// serveConfig is what `ashiato serve` was asked, validated.
type serveConfig struct {
	kube sharedFlags
	webview.Flags
}

func (a *app) serveCommand() *cobra.Command {
	c := &serveConfig{}
	cmd := &cobra.Command{
		Use:   "serve --addr ADDR",
		Short: "A read-only web view of the history",
		Long:  serveLong,
		Example: `  # this machine only, as the kubeconfig's user sees it
  ashiato serve --addr 127.0.0.1:8080
  # the history in S3, every cluster under the prefix
  ashiato serve --addr 127.0.0.1:8080 --store s3 --s3-bucket my-history`,
		Args: noArgs(" (see ashiato serve --help)"),
	}
	c.kube.register(cmd.Flags(), "namespace of the history ConfigMaps (--store configmap; default: found, see --help)", "cluster", "with --store s3: the cluster whose history to show (default: the only cluster under --s3-prefix)", 20, 40)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.Register(fs)
	cmd.Flags().AddGoFlagSet(fs)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := c.Validate(cmd.Flags().Changed); err != nil {
			return err
		}
		if err := c.kube.parsed(cmd, "cluster"); err != nil {
			return err
		}
		return do(a, c, func(c *serveConfig) error { return a.runServe(cmd.Context(), c) })
	}
	return cmd
}

// runServe is `ashiato serve`: the web view until the signal.
func (a *app) runServe(ctx context.Context, cfg *serveConfig) error {
	log := newDiagnostics(a.stderr, cfg.LogLevel)
	klogrus.Route(log)
	cfg.kube.store.Warn = func(msg string) { log.Warn(msg) }
	st, err := readers.Open(ctx, readers.Options{Kube: &cfg.kube.conn, Store: &cfg.kube.store, NamespaceGiven: cfg.kube.nsGiven,
		Wrap: serve.ReadOnly, Log: log, Info: func(line string) { log.Info(line) }})
	if err != nil {
		return err
	}
	o := cfg.Options
	o.Store, o.Cluster, o.Kube, o.Retry, o.Log, o.Version = st, cfg.kube.store.Cluster, &cfg.kube.conn, historyRetry, log, version
	return webview.Run(ctx, o)
}
