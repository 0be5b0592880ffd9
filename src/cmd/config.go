package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pod-ashiato/ashiato/src/emit"
	"github.com/pod-ashiato/ashiato/src/filter"
	"github.com/pod-ashiato/ashiato/src/metrics"
	"github.com/pod-ashiato/ashiato/src/sink"
	"github.com/pod-ashiato/ashiato/src/source"
	"github.com/pod-ashiato/ashiato/src/storeio"
	"github.com/pod-ashiato/ashiato/src/storeopen"
)

// version is set at link time (-X main.version=...).
var version = "dev"

// usageError is a problem with what the user asked for: it exits 2, and
// nothing has been done yet.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// config is everything the flags say, validated.
type config struct {
	kubeconfig string
	context    string
	interval   time.Duration
	oneshot    bool
	filter     filter.Options
	storeInCM  bool // the history is stored: --store-in-cm, or --store given
	store      storeopen.Flags
	// objects is the store, when storing; run sets it (storeopen.Open).
	objects     storeio.Store
	flushEvery  time.Duration
	cmRetention time.Duration
	// retentionFlag is the name --retention was given by (retention or
	// cm-retention), the one its errors and log lines use.
	retentionFlag string
	pageSize      int64
	kubeQPS       float64
	kubeBurst     int
	logLevel      logrus.Level
	printVersion  bool
	source        string
	snapshot      string
	metricsAddr   string
	metricsNS     int
	leaderElect   bool
	leaseName     string
	nodeLabels    nodeLabelsFlag
	jsonFields    emit.FieldSet
}

// parseFlags reads args into a config and validates it, without touching the
// network. Flags keep the original tool's names and defaults.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("ashiato", flag.ContinueOnError)
	// flag would print every error followed by the whole usage; errors are
	// reported by main in one line instead, and usage only for --help.
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "path to a kubeconfig file (default: $KUBECONFIG, else the in-cluster config when running in a pod, else ~/.kube/config)")
	fs.StringVar(&c.context, "context", "", "kubeconfig context to use (default: the current context)")
	fs.DurationVar(&c.interval, "interval", 30*time.Second, "time between two full snapshots of every pod (watch: from memory, printed as --snapshot says; list: a LIST, printed)")
	fs.BoolVar(&c.oneshot, "oneshot", false, "list every pod once, print, store, and exit")
	fs.Var((*listFlag)(&c.filter.Namespaces), "namespace", "only pods of these namespaces, comma-separated (default: all namespaces)")
	fs.Var((*listFlag)(&c.filter.ExcludeNamespaces), "exclude-namespace", "not the pods of these namespaces, comma-separated")
	fs.StringVar(&c.filter.NamePrefix, "name", "", "only pods whose name starts with this prefix")
	fs.Var((*listFlag)(&c.filter.ExcludeNamePrefixes), "exclude-name", "not the pods whose name starts with this prefix (repeatable, or comma-separated)")
	fs.StringVar(&c.filter.LabelSelector, "label", "", "only pods matching this label selector, e.g. 'app=nginx,tier!=cache' or '!canary,tier notin (a,b)'")
	fs.StringVar(&c.filter.FieldSelector, "field-selector", "", "only pods matching this field selector, e.g. 'status.phase!=Succeeded' (applied by the API server)")
	fs.StringVar(&c.filter.Node, "node", "", "only pods on this node (same as --field-selector spec.nodeName=NODE)")
	fs.Var((*listFlag)(&c.filter.OwnerKinds), "owner-kind", "only pods whose owner is of these kinds, comma-separated: ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, ReplicationController, Node, None")
	fs.Var((*listFlag)(&c.filter.ExcludeOwnerKinds), "exclude-owner-kind", "not the pods whose owner is of these kinds, comma-separated")
	fs.BoolVar(&c.storeInCM, "store-in-cm", false, "also keep the history in hourly ConfigMaps pod-ashiato-YYYYMMDDHH")
	fs.DurationVar(&c.flushEvery, "cm-flush-interval", sink.DefaultFlushInterval, "how often pending placements are written to the store")
	c.cmRetention, c.retentionFlag = defaultRetention, "retention"
	fs.Var(&aliasedDuration{&c.cmRetention, &c.retentionFlag, "retention"}, "retention", "when storing, delete the hours that ended longer ago than this `duration`, at least 1h (checked at start and every hour, or once after a --oneshot run); 0 keeps every hour (with --store s3, an S3 lifecycle rule can expire them instead)")
	fs.Var(&aliasedDuration{&c.cmRetention, &c.retentionFlag, "cm-retention"}, "cm-retention", "the same `duration` as --retention (its original name)")
	c.store.Register(fs, "namespace of the history ConfigMaps (--store configmap) and of the --leader-elect Lease", "cluster-name", "with --store s3: the cluster's name, recorded with every hour and part of every key (default: the kubeconfig context's name made a DNS name, or \""+defaultCluster+"\" in a pod)")
	fs.Int64Var(&c.pageSize, "page-size", source.DefaultPageSize, "pods per LIST request")
	fs.Float64Var(&c.kubeQPS, "kube-api-qps", 50, "client-side limit of API requests per second")
	fs.IntVar(&c.kubeBurst, "kube-api-burst", 100, "client-side burst of API requests")
	fs.StringVar(&c.source, "source", "watch", "how continuous mode reads pods: watch (one LIST, then WATCH; every change as it happens) or list (a LIST every --interval)")
	fs.StringVar(&c.snapshot, "snapshot", string(source.SnapshotsHourly), "with --source=watch, which full snapshots are printed: hour (the first of each UTC hour; between them only changes) or interval (every --interval, as the original tool)")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "serve /metrics, /healthz and /readyz on this address, e.g. :8080 (default: off)")
	fs.IntVar(&c.metricsNS, "metrics-namespaces", metrics.DefaultMaxNamespaces, "at most this many namespaces get their own namespace label on ashiato_reschedules_total; the others count as namespace=\"_other\" (0: all of them)")
	fs.BoolVar(&c.leaderElect, "leader-elect", false, "run several replicas: only the holder of a Lease in --cm-namespace emits and writes")
	fs.StringVar(&c.leaseName, "leader-elect-lease", "pod-ashiato", "name of the leader-election Lease")
	jsonFields := fs.String("json-fields", string(emit.FieldsOriginal), "field names of the JSON lines: original (namespace, pod_name, node_name, ...) or otel (OpenTelemetry's k8s.namespace.name, k8s.pod.name, k8s.node.name, ...; docs/fields.md)")
	logLevel := fs.String("log-level", "info", "diagnostics on stderr: debug, info, warn or error")
	fs.BoolVar(&c.printVersion, "version", false, "print the version and exit")
	c.nodeLabels.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ashiato [flags]\n       ashiato history pod|node ... (where pods ran; see ashiato history --help)\n       ashiato serve --addr ADDR    (a read-only web view of the history; see ashiato serve --help)\n       ashiato store copy ...       (copy the ConfigMap history into S3; see ashiato store copy --help)\n\nRecords where every pod runs: one JSON line per pod on stdout.\n\nFlags:\n")
		fs.PrintDefaults()
	}

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
			return nil, err
		}
		return nil, usageError{firstLine(err)}
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q (flags start with --; see --help)", fs.Arg(0))
	}
	c.store.Parsed(fs)
	if c.store.Explicit && c.storeInCM && c.store.S3() {
		return nil, usagef("--store-in-cm keeps the history in ConfigMaps and --store s3 in S3: give one")
	}
	if c.store.Explicit {
		c.storeInCM = true
	}
	level, err := logrus.ParseLevel(*logLevel)
	if err != nil {
		return nil, usagef("invalid --log-level %q: want debug, info, warn or error", *logLevel)
	}
	c.logLevel = level
	if c.jsonFields, err = emit.ParseFieldSet(*jsonFields); err != nil {
		return nil, usageError{err}
	}
	return c, c.validate()
}

func (c *config) validate() error {
	if err := c.filter.Validate(); err != nil {
		return usageError{err}
	}
	if !c.oneshot && c.interval <= 0 {
		return usagef("invalid --interval %s: must be positive", c.interval)
	}
	if c.source != "watch" && c.source != "list" {
		return usagef("invalid --source %q: want watch or list", c.source)
	}
	if c.snapshot != string(source.SnapshotsHourly) && c.snapshot != string(source.SnapshotsEveryInterval) {
		return usagef("invalid --snapshot %q: want hour or interval", c.snapshot)
	}
	if c.leaderElect && c.oneshot {
		return usagef("--leader-elect needs continuous mode: a --oneshot run has nothing to hand over")
	}
	if errs := validation.IsDNS1123Subdomain(c.leaseName); c.leaderElect && len(errs) > 0 {
		return usagef("invalid --leader-elect-lease %q: %s", c.leaseName, errs[0])
	}
	if c.cmRetention != 0 && c.cmRetention < minRetention {
		return usagef("invalid --%s %s: must be 0 (keep every hour) or at least %s (a shorter one would delete every hour but the current one)", c.retentionFlag, c.cmRetention, minRetention)
	}
	if err := c.store.Validate("cluster-name"); err != nil {
		return usageError{err}
	}
	if c.flushEvery <= 0 {
		return usagef("invalid --cm-flush-interval %s: must be positive", c.flushEvery)
	}
	if c.metricsNS < 0 {
		return usagef("invalid --metrics-namespaces %d: must be 0 or positive", c.metricsNS)
	}
	if c.pageSize <= 0 {
		return usagef("invalid --page-size %d: must be positive", c.pageSize)
	}
	if c.kubeQPS <= 0 || c.kubeBurst <= 0 {
		return usagef("invalid --kube-api-qps %g / --kube-api-burst %d: must be positive", c.kubeQPS, c.kubeBurst)
	}
	return c.nodeLabels.validate()
}

// firstLine keeps flag's error to one line (it may print usage after it).
func firstLine(err error) error {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return errors.New(msg)
}

// listFlag is a comma-separated list flag; given again, it adds to the list.
// An empty value adds nothing (--namespace "" is every namespace, as before).
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	if v == "" {
		return nil
	}
	for _, item := range strings.Split(v, ",") {
		*l = append(*l, strings.TrimSpace(item))
	}
	return nil
}

// minRetention is the shortest --retention: an hour is deleted once it ended
// longer ago than --retention, so below an hour the previous hour would be
// deleted minutes after it ended.
const minRetention = time.Hour

// aliasedDuration is a duration flag that has several names, each its own
// flag.Value on the one duration: the last name given is remembered, so
// errors name the flag as the user typed it.
type aliasedDuration struct {
	d     *time.Duration
	given *string // the name that set d last
	name  string
}

func (a *aliasedDuration) String() string {
	if a.d == nil {
		return "0s"
	}
	return a.d.String()
}

func (a *aliasedDuration) Set(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return errors.New("parse error") // as flag.Duration says: flag names the flag and the value
	}
	*a.d, *a.given = d, a.name
	return nil
}
