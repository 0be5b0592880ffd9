// Package oracle proves the history against ground truth. A seeded generator
// plays a cluster's life — creates, deletes, moves, pods that live half a
// second, a burst that grows an hour from one shard to four, and the faults:
// a write refused in the middle of that growth (a ResourceQuota), SIGKILL and
// restart, concurrent writers, a leader hand-over, an API server restart —
// against the real API server, while the real stages of src (watch source,
// filter, emitter, ConfigMap sink) record it in-process. Time is a fake clock
// (k8s.io/utils/clock), so four hours pass in a few minutes; the product runs
// on the real clock by default.
//
// The generator keeps the truth: every stay of every pod on every node. At
// the end it reads the store with src/history, the code `ashiato history`
// runs, and compares `history pod` for every pod and `history node N --at T`
// for sampled (N, T) — every second of the first and last minute of each
// hour, the seconds around every bind, deletion and move, and random ones —
// with what docs/storage.md's guarantee ("What --at guarantees") allows:
//
//   - must: a pod on N at T is listed, unless T lies in the shadow of a kill
//     or a failed process: from LastSeenStep plus one snapshot interval before
//     its last complete flush to its restart (what was observed and not yet
//     written is not promised);
//   - may: a listed pod was on N at some second of [H−5m, T] and of T's hour
//     H, no more than LastSeenStep before T (last seen's precision; two stays
//     on N in one hour, or across an edge, read as one), or, after a process
//     died, until the end of the hour for a pod it had stored as still
//     running and that left before the restart.
//
// A mismatch is an answer outside those bounds; a placement lost is a
// (pod, node, hour) that must have a row and has none.
package oracle

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pod-ashiato/ashiato/src/storeio"
)

// The recorders' timing, in fake time.
const (
	snapInterval  = 30 * time.Second // --interval's default
	flushInterval = 3 * time.Minute
	skipPrefix    = "skip-" // pods the filter drops: they must never be in the history
	waitTimeout   = 2 * time.Minute
)

// Config is one oracle run.
type Config struct {
	Rest *rest.Config // an admin of the cluster
	Seed uint64
	// BurstPods is the size of the burst that grows an hour to four shards
	// (253-character names); 7000 does.
	BurstPods int
	// RestartAPIServer stops the API server, calls down while it is down, and
	// starts it again; nil leaves that scenario out.
	RestartAPIServer func(ctx context.Context, down func() error) error
	// Logf receives progress lines; nil is silent.
	Logf func(format string, args ...any)
	// Store, when set, keeps the history instead of ConfigMaps in the run's
	// store namespace (the S3 store, for one cluster name of its own); the
	// growth's refusal then comes from the store (see refusing) instead of a
	// ResourceQuota.
	Store storeio.Store
}

// Figures are what a run proves.
type Figures struct {
	Seed        uint64
	Store       string // configmap, or the other store's name (s3://…)
	Scenarios   map[string]int
	Hours       int // hour boundaries crossed
	Pods        int
	PodQueries  int
	NodeQueries int
	APIQueries  int // of those, asked through Reader.PodRows/NodeRows, the path `ashiato history` takes
	Mismatches  int
	Lost        int
	Warnings    int
	MaxShards   int      // the most objects an hour had at the end
	Examples    []string // the first mismatches and losses, for the report
	Elapsed     time.Duration
}

// ScenariosRun is how many scenario instances ran, of every kind.
func (f Figures) ScenariosRun() int {
	n := 0
	for _, c := range f.Scenarios {
		n += c
	}
	return n
}

func (f Figures) String() string {
	kinds := make([]string, 0, len(f.Scenarios))
	for k, n := range f.Scenarios {
		kinds = append(kinds, fmt.Sprintf("%s:%d", k, n))
	}
	sort.Strings(kinds)
	return fmt.Sprintf("ORACLE seed=%d store=%s scenarios_run=%d queries_checked=%d mismatches=%d placements_lost=%d warnings=%d max_shards=%d hour_boundaries=%d pods=%d pod_queries=%d node_queries=%d via_history_command_path=%d elapsed=%s scenarios=%s",
		f.Seed, f.Store, f.ScenariosRun(), f.PodQueries+f.NodeQueries, f.Mismatches, f.Lost, f.Warnings, f.MaxShards, f.Hours, f.Pods, f.PodQueries, f.NodeQueries, f.APIQueries,
		f.Elapsed.Round(time.Second), strings.Join(kinds, ","))
}

// runner is one run's state.
type runner struct {
	cfg       Config
	clk       *clocktesting.FakeClock
	client    kubernetes.Interface
	podNS     string
	storeNS   string
	objects   *refusing // nil: the ConfigMaps of storeNS
	rng       *rand.Rand
	truth     *truth
	nodes     []string
	recs      []*recorder // running processes, leading or standing by
	figs      Figures
	nextID    int
	skipped   []string // pods the filter drops
	burstHour time.Time
	log       logrus.FieldLogger
}

// Run plays one scenario and checks the history it left.
func Run(ctx context.Context, cfg Config) (Figures, error) {
	started := time.Now()
	if cfg.BurstPods == 0 {
		cfg.BurstPods = 7000
	}
	admin := rest.CopyConfig(cfg.Rest)
	admin.QPS, admin.Burst = 500, 1000
	admin.WarningHandler = rest.NoWarnings{}
	client, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return Figures{}, err
	}
	quiet := logrus.New()
	quiet.Out = io.Discard
	suffix := fmt.Sprintf("%d-%d", cfg.Seed, rand.IntN(1_000_000))
	r := &runner{
		cfg: cfg, client: client, rng: rand.New(rand.NewPCG(cfg.Seed, 12)), truth: newTruth(),
		podNS: "oracle-pods-" + suffix, storeNS: "oracle-store-" + suffix, log: quiet,
		figs: Figures{Seed: cfg.Seed, Store: "configmap", Scenarios: map[string]int{}},
	}
	if cfg.Store != nil {
		r.objects = newRefusing(cfg.Store)
		r.figs.Store = cfg.Store.String()
	}
	for i := range 6 {
		r.nodes = append(r.nodes, fmt.Sprintf("node-%d", i))
	}
	// The fake clock starts ten minutes before an hour; far from now, so no
	// real hour is touched.
	r.clk = clocktesting.NewFakeClock(time.Date(2031, 1, 1, 0, 50, 0, 0, time.UTC).Add(time.Duration(r.rng.IntN(1000)) * time.Hour))
	defer r.cleanup()
	if err := r.play(ctx); err != nil {
		return r.figs, err
	}
	if err := r.check(ctx); err != nil {
		return r.figs, err
	}
	r.figs.Elapsed = time.Since(started)
	return r.figs, nil
}

func (r *runner) logf(format string, args ...any) {
	if r.cfg.Logf != nil {
		r.cfg.Logf("oracle: %s %s", r.clk.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
}
