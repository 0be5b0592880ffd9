package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/utils/clock"

	"github.com/pod-ashiato/ashiato/src/heap"
	"github.com/pod-ashiato/ashiato/src/klogrus"
	"github.com/pod-ashiato/ashiato/src/kubeconn"
	"github.com/pod-ashiato/ashiato/src/recorder"
	"github.com/pod-ashiato/ashiato/src/storeopen"
)

// record is `ashiato [flags]`, the recorder. Records go to stdout and
// nothing else does; diagnostics go to stderr as JSON.
func (a *app) record(ctx context.Context, args []string) error {
	cfg, err := parseFlags(args, a.stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return do(a, cfg, func(cfg *config) error { return a.runRecorder(ctx, cfg) })
}

func (a *app) runRecorder(ctx context.Context, cfg *config) error {
	if cfg.printVersion {
		_, err := fmt.Fprintln(a.stdout, version)
		return err
	}
	log := newDiagnostics(a.stderr, cfg.logLevel)
	klogrus.Route(log)
	if !cfg.Oneshot {
		releaseCtx, stopRelease := context.WithCancel(ctx)
		defer stopRelease()
		go heap.ReleaseMemory(releaseCtx, clock.RealClock{}, heap.ReadHeap, debug.FreeOSMemory)
	}
	restCfg, err := cfg.kube.RestConfig()
	if err != nil {
		return err
	}
	client, meta, err := cfg.kube.Clients(nil)
	if err != nil {
		return err
	}
	cfg.Cluster, cfg.StoreKind, cfg.LeaseNamespace = cfg.kube.ClusterName(cfg.store.Cluster), cfg.store.Kind, cfg.store.Namespace
	if cfg.storeInCM {
		cfg.store.Warn = func(msg string) { log.Warn(msg) }
		cfg.Store, err = openStore(ctx, &cfg.store, cfg.Cluster, func() (storeopen.Kube, error) {
			return storeopen.Kube{ConfigMaps: client.CoreV1(), Metadata: meta}, nil
		}, a.stderr)
		if err != nil {
			return err
		}
	}
	namespaces := map[string][]string{"namespace": cfg.Filter.Namespaces}
	if (cfg.storeInCM && !cfg.store.S3()) || cfg.LeaderElect {
		namespaces["cm-namespace"] = []string{cfg.store.Namespace}
	}
	if err := kubeconn.CheckNamespaces(ctx, client, log, namespaces); err != nil {
		return err
	}
	started := logrus.Fields{
		"server": restCfg.Host, "oneshot": cfg.Oneshot, "interval": cfg.Interval.String(), "source": cfg.Source,
		"filters":     cfg.Filter.String(),
		"store_in_cm": cfg.storeInCM, "cm_namespace": cfg.store.Namespace, "leader_elect": cfg.LeaderElect, "version": version,
	}
	if cfg.Store != nil {
		started["store"] = cfg.Store.String()
	}
	return recorder.Run(ctx, &cfg.Config, client, log, started, a.stdout)
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
