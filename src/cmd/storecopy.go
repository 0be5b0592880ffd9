package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/client-go/kubernetes"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storecopy"
	"github.com/pod-ashiato/ashiato/src/storeopen"
)

const storeCopyUsage = `Usage:
  ashiato store copy --s3-bucket B [--s3-endpoint URL] [--cluster-name NAME] [--cm-namespace NS] [flags]

Copies the history kept in hourly ConfigMaps (--cm-namespace of the
kubeconfig's cluster) into the S3 store as --cluster-name's, hour by hour,
every shard as stored; the original tool's objects are re-encoded in Pod
Ashiato's form. An hour S3 already holds with the same content is skipped;
one it holds otherwise is merged with the copy, never overwritten. Run it
again at will: it carries on where it stopped. The ConfigMaps are left as
they are. Prints one line per hour on stderr and a summary on stdout.

Flags:
`

// storeCopyConfig is what `ashiato store copy` was asked, validated.
type storeCopyConfig struct {
	kube config // kubeconfig, context, cm-namespace, the S3 store
}

func parseStoreCopyFlags(args []string, stderr io.Writer) (*storeCopyConfig, error) {
	c := &storeCopyConfig{kube: config{kubeQPS: 20, kubeBurst: 40}}
	fs := flag.NewFlagSet("ashiato store copy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.kube.kubeconfig, "kubeconfig", "", "path to a kubeconfig file (default: $KUBECONFIG, else the in-cluster config when running in a pod, else ~/.kube/config)")
	fs.StringVar(&c.kube.context, "context", "", "kubeconfig context to use (default: the current context)")
	c.kube.store.Register(fs, "namespace of the history ConfigMaps to copy", "cluster-name", "the cluster the copied hours are filed under (default: as the recorder's --cluster-name)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), storeCopyUsage)
		fs.PrintDefaults()
	}
	positional, err := parseInterleaved(fs, args, stderr)
	if err != nil {
		return nil, err
	}
	switch {
	case len(positional) == 0:
		return nil, usagef("missing what to do: ashiato store copy (see ashiato store copy --help)")
	case positional[0] != "copy":
		return nil, usagef("unknown store command %q: want copy", positional[0])
	case len(positional) > 1:
		return nil, usagef("unexpected argument %q", positional[1])
	}
	c.kube.store.Parsed(fs)
	if c.kube.store.Explicit && !c.kube.store.S3() {
		return nil, usagef("store copy copies ConfigMaps into S3: --store must be s3 (or left out)")
	}
	c.kube.store.Kind = storeopen.S3
	if err := c.kube.store.Validate("cluster-name"); err != nil {
		return nil, usageError{err}
	}
	return c, nil
}

// runStoreCopy is `ashiato store copy`.
func runStoreCopy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseStoreCopyFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	restCfg, err := restConfig(&cfg.kube)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return usagef("invalid kubeconfig: %w", err)
	}
	log := &logrus.Logger{Out: stderr, Formatter: &logrus.TextFormatter{DisableTimestamp: true}, Hooks: make(logrus.LevelHooks), Level: logrus.WarnLevel, ExitFunc: func(int) {}}
	if err := checkNamespaces(ctx, client, log, map[string][]string{"cm-namespace": {cfg.kube.store.Namespace}}); err != nil {
		return err
	}
	kube := func() (storeopen.Kube, error) { return storeopen.Kube{ConfigMaps: client.CoreV1()}, nil }
	cfg.kube.store.Warn = func(msg string) { log.Warn(msg) }
	target, err := openStore(ctx, &cfg.kube.store, clusterName(&cfg.kube), kube)
	if err != nil {
		return err
	}
	source := cfg.kube.store
	source.Kind = storeopen.ConfigMap
	from, err := openStore(ctx, &source, "", kube)
	if err != nil {
		return err
	}
	c := &storecopy.Copier{
		From: from, To: target,
		Retry: retry.Policy{Backoff: retry.DefaultBackoff(), MaxElapsed: 2 * time.Minute, Log: log},
		Warn: func(w store.Warning) {
			fmt.Fprintf(stderr, "ashiato: warning: %s: %s (left out)\n", from.Location(w.Object), w.Reason)
		},
		Hour: func(hour time.Time, outcome string) {
			fmt.Fprintf(stderr, "ashiato: %s %s\n", store.NameFor(hour), outcome)
		},
	}
	sum, err := c.Run(ctx)
	fmt.Fprintf(stdout, "store copy from %s to %s: %s\n", from, target, sum)
	return err
}
