package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/client-go/kubernetes"

	"github.com/pod-ashiato/ashiato/src/emit"
	"github.com/pod-ashiato/ashiato/src/pipeline"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/sink"
	"github.com/pod-ashiato/ashiato/src/source"
)

// oneshotRetry bounds how long --oneshot waits for an unreachable API server:
// a script should fail, not hang.
const oneshotRetry = 2 * time.Minute

// run is the whole program. Records go to stdout and nothing else does;
// diagnostics go to stderr as JSON.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if cfg.printVersion {
		fmt.Fprintln(stdout, version)
		return nil
	}
	log := newDiagnostics(stderr, cfg.logLevel)

	restCfg, err := restConfig(cfg)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return usagef("invalid kubeconfig: %w", err)
	}
	namespaces := map[string]string{"namespace": cfg.filter.Namespace}
	if cfg.storeInCM {
		namespaces["cm-namespace"] = cfg.cmNamespace
	}
	if err := checkNamespaces(ctx, client, log, namespaces); err != nil {
		return err
	}

	policy := retry.Policy{Backoff: retry.DefaultBackoff(), Log: log}
	interval := cfg.interval
	if cfg.oneshot {
		policy.MaxElapsed, interval = oneshotRetry, 0
	}
	src := &source.List{
		Client:    client,
		Selection: source.Selection{Namespace: cfg.filter.Namespace, LabelSelector: cfg.filter.LabelSelector},
		PageSize:  cfg.pageSize,
		Interval:  interval,
		Retry:     policy,
		Log:       log,
	}

	var stages []pipeline.Stage
	if chain := cfg.filter.Chain(); len(chain) > 0 {
		stages = append(stages, chain.Run)
	}
	out := bufio.NewWriterSize(stdout, 64<<10)
	stages = append(stages, (&emit.Emitter{Log: emit.NewLogger(out)}).Run)

	var store pipeline.Sink
	if cfg.storeInCM {
		store = (&sink.ConfigMaps{
			Client:        client,
			Namespace:     cfg.cmNamespace,
			FlushInterval: cfg.flushEvery,
			Retry:         policy,
			Log:           log,
		}).Run
	}

	log.WithFields(logrus.Fields{
		"server": restCfg.Host, "oneshot": cfg.oneshot, "interval": cfg.interval.String(),
		"namespace": cfg.filter.Namespace, "name": cfg.filter.NamePrefix, "label": cfg.filter.LabelSelector,
		"store_in_cm": cfg.storeInCM, "cm_namespace": cfg.cmNamespace, "version": version,
	}).Info("starting")
	err = pipeline.Run(ctx, src.Run, stages, store)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		log.Info("stopped by signal; everything read was emitted and stored")
	}
	return nil
}

// newDiagnostics is the stderr logger, JSON like the records so one log
// pipeline can take both streams.
func newDiagnostics(w io.Writer, level logrus.Level) *logrus.Logger {
	return &logrus.Logger{
		Out:       w,
		Formatter: &logrus.JSONFormatter{TimestampFormat: time.RFC3339Nano},
		Hooks:     make(logrus.LevelHooks),
		Level:     level,
		ExitFunc:  func(int) {},
	}
}
