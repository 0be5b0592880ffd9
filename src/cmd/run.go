package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/utils/clock"

	"github.com/pod-ashiato/ashiato/src/emit"
	"github.com/pod-ashiato/ashiato/src/metrics"
	"github.com/pod-ashiato/ashiato/src/pipeline"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/sink"
	ashiatostore "github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeopen"
)

// oneshotRetry bounds how long --oneshot waits for an unreachable API server:
// a script should fail, not hang.
const oneshotRetry = 2 * time.Minute

// run is the whole program. Records go to stdout and nothing else does;
// diagnostics go to stderr as JSON.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "history" {
		return runHistory(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "store" {
		return runStoreCopy(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "serve" {
		return runServe(ctx, args[1:], stderr)
	}
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
	routeKlog(log)
	if !cfg.oneshot {
		releaseCtx, stopRelease := context.WithCancel(ctx)
		defer stopRelease()
		go releaseMemory(releaseCtx, clock.RealClock{}, readHeap, debug.FreeOSMemory)
	}

	restCfg, err := restConfig(cfg)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return usagef("invalid kubeconfig: %w", err)
	}
	meta, err := metadata.NewForConfig(restCfg)
	if err != nil {
		return usagef("invalid kubeconfig: %w", err)
	}
	if cfg.storeInCM {
		cfg.store.Warn = func(msg string) { log.Warn(msg) }
		cfg.objects, err = openStore(ctx, &cfg.store, clusterName(cfg), func() (storeopen.Kube, error) {
			return storeopen.Kube{ConfigMaps: client.CoreV1(), Metadata: meta}, nil
		})
		if err != nil {
			return err
		}
	}
	namespaces := map[string][]string{"namespace": cfg.filter.Namespaces}
	if (cfg.storeInCM && !cfg.store.S3()) || cfg.leaderElect {
		namespaces["cm-namespace"] = []string{cfg.store.Namespace}
	}
	if err := checkNamespaces(ctx, client, log, namespaces); err != nil {
		return err
	}

	m := metrics.New()
	m.SetLeader(!cfg.leaderElect)
	m.SetMaxNamespaces(cfg.metricsNS)
	stopServing := func() {}
	serveErr := make(chan error, 1)
	if cfg.metricsAddr != "" {
		serve, err := m.Listen(cfg.metricsAddr)
		if err != nil {
			return usagef("invalid --metrics-addr: %w", err)
		}
		serveCtx, cancel := context.WithCancel(context.Background())
		stopServing = cancel
		go func() { serveErr <- serve(serveCtx) }()
	}
	defer stopServing()

	fields := logrus.Fields{
		"server": restCfg.Host, "oneshot": cfg.oneshot, "interval": cfg.interval.String(), "source": cfg.source,
		"filters":     cfg.filter.String(),
		"store_in_cm": cfg.storeInCM, "cm_namespace": cfg.store.Namespace, "leader_elect": cfg.leaderElect, "version": version,
	}
	if cfg.objects != nil {
		fields["store"] = cfg.objects.String()
	}
	log.WithFields(fields).Info("starting")

	work := func(ctx context.Context) error {
		return withRetention(ctx, cfg, cfg.objects, log, m, func(ctx context.Context) error { return runPipeline(ctx, cfg, client, meta, log, m, stdout) })
	}
	if cfg.leaderElect {
		err = lead(ctx, cfg, client, log, m, work)
	} else {
		err = work(ctx)
	}
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		log.Info("stopped by signal; everything read was emitted and stored")
	}
	select {
	case err := <-serveErr:
		return err
	default:
		return nil
	}
}

// runPipeline builds the stages the flags ask for and runs them until ctx
// ends (continuous) or the listing is done (--oneshot).
func runPipeline(ctx context.Context, cfg *config, client kubernetes.Interface, meta metadata.Interface, log logrus.FieldLogger, m *metrics.Metrics, stdout io.Writer) error {
	policy := retry.Policy{Backoff: retry.DefaultBackoff(), Log: log, OnFailure: m.APIError}
	if cfg.oneshot {
		policy.MaxElapsed = oneshotRetry
	}
	plan := cfg.filter.Plan()
	m.SetReady(false)
	src := newSource(cfg, client, plan, policy, log, m)

	var stages []pipeline.Stage
	if len(plan.Chain) > 0 {
		stages = append(stages, plan.Chain.Run)
	}
	out := bufio.NewWriterSize(stdout, 64<<10)
	stages = append(stages, m.Count, (&emit.Emitter{Log: emit.NewLogger(out), Schema: emit.Schema{Set: cfg.jsonFields, Cluster: clusterName(cfg)}}).Run)

	var store pipeline.Sink
	if cfg.storeInCM {
		cms := &sink.Writer{
			Store:         cfg.objects,
			FlushInterval: cfg.flushEvery,
			// A running pod is seen at every snapshot: unseen for two of them
			// (at least LastSeenStep), it left without a record saying so.
			Stale:   max(ashiatostore.LastSeenStep, 2*cfg.interval),
			Retry:   policy,
			Log:     log,
			Observe: func(w sink.Write) { m.StoreWrite(cfg.store.Kind, w.Bytes, w.Err) },
		}
		// A oneshot run ends before anyone could delete what it wrote; S3
		// has no watch (the next write of an hour restores it).
		cms.WatchDeletions = !cfg.oneshot
		cms.OnFlush = func(at time.Time, err error) { m.StoreFlushed(at, err, cms.Pending(), cms.Shards()) }
		m.StoreStarted(time.Now())
		store = cms.Run
	}
	return pipeline.Run(ctx, src, stages, store)
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
