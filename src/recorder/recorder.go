// Package recorder runs the recorder: the pipeline from the API server to
// stdout and the store (package pipeline), the deletion of expired hours
// beside it, under leader election when asked. Its Config is what the flags
// said, already validated; package main parses them.
package recorder

import (
	"bufio"
	"context"
	"io"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"

	"github.com/pod-ashiato/ashiato/src/emit"
	"github.com/pod-ashiato/ashiato/src/filter"
	"github.com/pod-ashiato/ashiato/src/metrics"
	"github.com/pod-ashiato/ashiato/src/pipeline"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/sink"
	"github.com/pod-ashiato/ashiato/src/source"
	ashiatostore "github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
	"github.com/pod-ashiato/ashiato/src/usage"
)

// OneshotRetry bounds how long --oneshot waits for an unreachable API
// server: a script should fail, not hang.
const OneshotRetry = 2 * time.Minute

// Config is how to record.
type Config struct {
	Oneshot    bool
	Interval   time.Duration // between two full snapshots
	Source     string        // watch or list
	Snapshot   string        // source.Snapshots
	PageSize   int64
	Filter     filter.Options
	NodeLabels []string // node labels the node records carry
	JSONFields emit.FieldSet
	Cluster    string // the cluster's name, in the records and the store

	// Store is where the history is kept; nil records to stdout only.
	Store      storeio.Store
	StoreKind  string // storeopen.ConfigMap or S3, for the metrics
	FlushEvery time.Duration
	// Retention deletes the hours that ended longer ago; 0 keeps them.
	Retention     time.Duration
	RetentionFlag string // the flag's name as given, for messages
	// CompactTables writes the Parquet tables of closed hours beside them
	// (package compact) in continuous mode, where the store keeps files
	// (S3); elsewhere it does nothing.
	CompactTables bool

	LeaderElect    bool
	LeaseNamespace string
	LeaseName      string

	// MetricsAddr serves /metrics, /healthz and /readyz there; "" does not.
	MetricsAddr       string
	MetricsNamespaces int // metrics.SetMaxNamespaces
}

// minRetention is the shortest Retention: an hour is deleted once it ended
// longer ago than Retention, so below an hour the previous hour would be
// deleted minutes after it ended.
const minRetention = time.Hour

// Validate checks the config; its errors name the flags that set it.
func (c *Config) Validate() error {
	if !c.Oneshot && c.Interval <= 0 {
		return usage.Errorf("invalid --interval %s: must be positive", c.Interval)
	}
	if c.Source != "watch" && c.Source != "list" {
		return usage.Errorf("invalid --source %q: want watch or list", c.Source)
	}
	if c.Snapshot != string(source.SnapshotsHourly) && c.Snapshot != string(source.SnapshotsEveryInterval) {
		return usage.Errorf("invalid --snapshot %q: want hour or interval", c.Snapshot)
	}
	if c.LeaderElect && c.Oneshot {
		return usage.Errorf("--leader-elect needs continuous mode: a --oneshot run has nothing to hand over")
	}
	if errs := validation.IsDNS1123Subdomain(c.LeaseName); c.LeaderElect && len(errs) > 0 {
		return usage.Errorf("invalid --leader-elect-lease %q: %s", c.LeaseName, errs[0])
	}
	if c.Retention != 0 && c.Retention < minRetention {
		return usage.Errorf("invalid --%s %s: must be 0 (keep every hour) or at least %s (a shorter one would delete every hour but the current one)", c.RetentionFlag, c.Retention, minRetention)
	}
	if c.FlushEvery <= 0 {
		return usage.Errorf("invalid --cm-flush-interval %s: must be positive", c.FlushEvery)
	}
	if c.MetricsNamespaces < 0 {
		return usage.Errorf("invalid --metrics-namespaces %d: must be 0 or positive", c.MetricsNamespaces)
	}
	if c.PageSize <= 0 {
		return usage.Errorf("invalid --page-size %d: must be positive", c.PageSize)
	}
	return nil
}

// Run records until ctx ends (continuous) or the listing is done
// (--oneshot); under LeaderElect only while this instance leads. started
// are the fields of the "starting" log line.
func Run(ctx context.Context, cfg *Config, client kubernetes.Interface, log logrus.FieldLogger, started logrus.Fields, stdout io.Writer) error {
	m := metrics.New()
	m.SetLeader(!cfg.LeaderElect)
	m.SetMaxNamespaces(cfg.MetricsNamespaces)
	serveErr := make(chan error, 1)
	if cfg.MetricsAddr != "" {
		serve, err := m.Listen(cfg.MetricsAddr)
		if err != nil {
			return usage.Errorf("invalid --metrics-addr: %w", err)
		}
		serveCtx, stopServing := context.WithCancel(context.Background())
		defer stopServing()
		go func() { serveErr <- serve(serveCtx) }()
	}
	log.WithFields(started).Info("starting")
	work := func(ctx context.Context) error {
		flushed := newStored()
		return withRetention(ctx, cfg, log, m, func(ctx context.Context) error {
			return withCompaction(ctx, cfg, log, m, flushed, func(ctx context.Context) error {
				return runPipeline(ctx, cfg, client, log, m, flushed, stdout)
			})
		})
	}
	var err error
	if cfg.LeaderElect {
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

// runPipeline builds the stages the config asks for and runs them until ctx
// ends (continuous) or the listing is done (--oneshot).
func runPipeline(ctx context.Context, cfg *Config, client kubernetes.Interface, log logrus.FieldLogger, m *metrics.Metrics, flushed *stored, stdout io.Writer) error {
	policy := retry.Policy{Backoff: retry.DefaultBackoff(), Log: log, OnFailure: m.APIError}
	if cfg.Oneshot {
		policy.MaxElapsed = OneshotRetry
	}
	plan := cfg.Filter.Plan()
	m.SetReady(false)
	src := newSource(cfg, client, plan, policy, log, m)

	var stages []pipeline.Stage
	if len(plan.Chain) > 0 {
		stages = append(stages, plan.Chain.Run)
	}
	out := bufio.NewWriterSize(stdout, 64<<10)
	stages = append(stages, m.Count, (&emit.Emitter{Log: emit.NewLogger(out), Schema: emit.Schema{Set: cfg.JSONFields, Cluster: cfg.Cluster}}).Run)

	var store pipeline.Sink
	if cfg.Store != nil {
		cms := &sink.Writer{
			Store:         cfg.Store,
			FlushInterval: cfg.FlushEvery,
			// A running pod is seen at every snapshot: unseen for two of them
			// (at least LastSeenStep), it left without a record saying so.
			Stale:   max(ashiatostore.LastSeenStep, 2*cfg.Interval),
			Retry:   policy,
			Log:     log,
			Observe: func(w sink.Write) { m.StoreWrite(cfg.StoreKind, w.Bytes, w.Err) },
		}
		// A oneshot run ends before anyone could delete what it wrote; S3
		// has no watch (the next write of an hour restores it).
		cms.WatchDeletions = !cfg.Oneshot
		cms.OnFlush = func(at time.Time, err error) {
			m.StoreFlushed(at, err, cms.Pending(), cms.Shards())
			if err == nil {
				flushed.flushed(at, m.Ready(), cfg.FlushEvery)
			}
		}
		m.StoreStarted(time.Now())
		store = cms.Run
	}
	return pipeline.Run(ctx, src, stages, store)
}
