package main

import (
	"math"
	"slices"
)

// stat is a figure measured over several runs.
type stat struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Runs   []float64 `json:"runs"`
}

// newStat summarises the runs, leaving out NaN (a figure a run could not
// measure). No runs is the zero stat, which JSON omits.
func newStat(runs []float64) stat {
	runs = slices.DeleteFunc(slices.Clone(runs), math.IsNaN)
	if len(runs) == 0 {
		return stat{}
	}
	s := slices.Clone(runs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{Median: m, Min: s[0], Max: s[len(s)-1], Runs: runs}
}

func (s stat) valid() bool { return len(s.Runs) > 0 }

// results is what --out writes.
type results struct {
	Machine machine      `json:"machine"`
	Command string       `json:"command"`
	Sizes   []sizeResult `json:"sizes"`
	Targets []target     `json:"targets"`
}

type machine struct {
	Cores        int    `json:"cores"`
	MemoryGiB    int    `json:"memory_gib"`
	Kernel       string `json:"kernel"`
	GoVersion    string `json:"go_version"`
	APIServer    string `json:"kube_apiserver"`
	Kubectl      string `json:"kubectl"`
	AshiatoBuild string `json:"ashiato_build"`
	RSSMethod    string `json:"peak_rss_method"`
	Date         string `json:"date"`
}

// program is one program's timed runs at one size.
type program struct {
	Command string `json:"command"`
	WallS   stat   `json:"wall_seconds"`
	CPUS    stat   `json:"cpu_seconds"` // user + system
	RSSMiB  stat   `json:"peak_rss_mib"`
}

type sizeResult struct {
	Pods        int     `json:"pods"`
	Nodes       int     `json:"nodes"`
	Namespaces  int     `json:"namespaces"`
	SeedSeconds float64 `json:"seed_seconds,omitempty"`
	// ControlPlaneMiB is the resident set of etcd and kube-apiserver when
	// the measurements of this size began.
	ControlPlaneMiB map[string]float64 `json:"control_plane_rss_mib,omitempty"`

	// Floor is one LIST without a limit decoded as the original tool does;
	// Paginated a paginated protobuf LIST (see measureOneshot).
	Floor     *program `json:"floor,omitempty"`
	Paginated *program `json:"paginated,omitempty"`
	Oneshot   *program `json:"oneshot,omitempty"`
	// OneshotRecords is the lines one extra --oneshot run printed (it should
	// be Pods).
	OneshotRecords int      `json:"oneshot_records,omitempty"`
	Kubectl        *program `json:"kubectl,omitempty"`
	// StoreNew writes into a namespace with no history yet (the hour's
	// ConfigMaps are created); StoreExisting into one that already holds this
	// hour (read, merge, rewrite), as a cron job does every run after the first.
	StoreNew      *program `json:"store_new_hour,omitempty"`
	StoreExisting *program `json:"store_existing_hour,omitempty"`
	// What one --store-in-cm run left in its namespace.
	StoredPods    int `json:"stored_pods,omitempty"`
	StoredObjects int `json:"stored_objects,omitempty"`
	StoredBytes   int `json:"stored_bytes,omitempty"`

	Watch      *watchResult `json:"watch,omitempty"`
	WatchStore *watchResult `json:"watch_store_in_cm,omitempty"`
	Soak       *soakResult  `json:"soak,omitempty"`
	// History is `ashiato history` against 24 stored hours of every pod.
	History *historyResult `json:"history,omitempty"`
	// S3 is hours of every pod in an S3 store on SeaweedFS, written and read back.
	S3 *s3Result `json:"s3,omitempty"`
	// Serve and ServeS3 are `ashiato serve` under load over 24 stored hours
	// of every pod, in ConfigMaps and in S3.
	Serve   *serveResult `json:"serve,omitempty"`
	ServeS3 *serveResult `json:"serve_s3,omitempty"`
	// SQL is docs/sql.md's questions by DuckDB over the tables and by
	// ashiato history over the hours, for many clusters.
	SQL *sqlResult `json:"sql,omitempty"`

	// BusyPercent is the machine's CPU use (both cores, every process) in
	// the second before each timed run; runs wait for it to fall under 15%.
	BusyPercent stat `json:"busy_percent_before_runs,omitzero"`

	Skipped []string `json:"skipped,omitempty"`
}

// watchResult is continuous mode, measured from outside the process.
type watchResult struct {
	Command       string  `json:"command"`
	Mode          string  `json:"mode"` // "watch", or what ran instead
	WindowSeconds float64 `json:"window_seconds"`

	StartRSSMiB  stat `json:"start_rss_mib"`  // VmRSS when /healthz first answers
	SyncSeconds  stat `json:"sync_seconds"`   // process start to /readyz 200
	SyncRSSMiB   stat `json:"sync_rss_mib"`   // VmRSS when /readyz first answers 200
	SteadyRSSMiB stat `json:"steady_rss_mib"` // VmRSS at the end of the steady window
	PeakRSSMiB   stat `json:"peak_rss_mib"`   // VmHWM at the end
	HeapMiB      stat `json:"heap_inuse_mib"` // go_memstats_heap_inuse_bytes at the end
	// BytesPerPod is (steady RSS - start RSS) / pods.
	BytesPerPod stat `json:"bytes_per_pod"`
	// RequestsPerHour counts the requests of ashiato's own identity (its
	// service account's APF flow schema) during the steady window, per hour.
	RequestsPerHour stat `json:"requests_per_hour"`
	// RequestsPerHourTotal is the API server's whole request count in the
	// window minus the baseline measured without ashiato, per hour.
	RequestsPerHourTotal stat    `json:"requests_per_hour_total_minus_baseline"`
	BaselinePerHour      float64 `json:"baseline_requests_per_hour"`
	// OpenWatches is the pod watches open at the end of the window, less
	// those open without ashiato (the API server's Node authorizer has one).
	OpenWatches stat `json:"open_pod_watches"`

	// With --store-in-cm: the writes of the first flush after sync, and those
	// of the steady window per hour.
	SyncWrites          stat `json:"sync_cm_writes,omitzero"`
	SyncBytes           stat `json:"sync_cm_bytes,omitzero"`
	SteadyWritesPerHour stat `json:"steady_cm_writes_per_hour,omitzero"`
	SteadyBytesPerHour  stat `json:"steady_cm_bytes_per_hour,omitzero"`
	// SnapshotsPerHour is how many full snapshots (one every --interval) an
	// hour holds that the window did not see; each writes about what the sync
	// wrote.
	SnapshotsPerHour float64 `json:"unseen_snapshots_per_hour,omitempty"`

	Records int `json:"records"` // lines printed by the end of the window (one run)
}

// target is one of the goals, judged at the largest size measured.
type target struct {
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      *bool  `json:"met"` // nil: not measured
}

const mib = 1 << 20

var nan = math.NaN()
