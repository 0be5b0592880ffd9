package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/pod-ashiato/ashiato/src/cliflag"
	"github.com/pod-ashiato/ashiato/src/emit"
	"github.com/pod-ashiato/ashiato/src/kubeconn"
	"github.com/pod-ashiato/ashiato/src/metrics"
	"github.com/pod-ashiato/ashiato/src/recorder"
	"github.com/pod-ashiato/ashiato/src/sink"
	"github.com/pod-ashiato/ashiato/src/source"
	"github.com/pod-ashiato/ashiato/src/storeopen"
	"github.com/pod-ashiato/ashiato/src/usage"
)

// defaultRetention keeps a week of hours, --retention's default.
const defaultRetention = 7 * 24 * time.Hour

// config is everything the recorder's flags say, validated.
type config struct {
	recorder.Config
	kube         kubeconn.Flags
	storeInCM    bool // the history is stored: --store-in-cm, or --store given
	store        storeopen.Flags
	logLevel     logrus.Level
	printVersion bool
	nodeLabels   cliflag.LabelKeys
}

// parseFlags reads args into a config and validates it, without touching the
// network. Flags keep the original tool's names and defaults, and package
// flag's syntax: one dash or two. Help goes to out.
func parseFlags(args []string, out io.Writer) (*config, error) {
	c := &config{nodeLabels: cliflag.LabelKeys{Max: source.MaxNodeLabels}}
	fs := flag.NewFlagSet("ashiato", flag.ContinueOnError)
	// flag would print every error followed by the whole usage; errors are
	// reported by main in one line instead, and usage only for --help.
	fs.SetOutput(io.Discard)
	c.kube.Register(fs)
	c.kube.UserAgent = "pod-ashiato/" + version
	fs.DurationVar(&c.Interval, "interval", 30*time.Second, "time between two full snapshots of every pod (watch: from memory, printed as --snapshot says; list: a LIST, printed)")
	fs.BoolVar(&c.Oneshot, "oneshot", false, "list every pod once, print, store, and exit")
	fs.Var((*cliflag.List)(&c.Filter.Namespaces), "namespace", "only pods of these namespaces, comma-separated (default: all namespaces)")
	fs.Var((*cliflag.List)(&c.Filter.ExcludeNamespaces), "exclude-namespace", "not the pods of these namespaces, comma-separated")
	fs.StringVar(&c.Filter.NamePrefix, "name", "", "only pods whose name starts with this prefix")
	fs.Var((*cliflag.List)(&c.Filter.ExcludeNamePrefixes), "exclude-name", "not the pods whose name starts with this prefix (repeatable, or comma-separated)")
	fs.StringVar(&c.Filter.LabelSelector, "label", "", "only pods matching this label selector, e.g. 'app=nginx,tier!=cache' or '!canary,tier notin (a,b)'")
	fs.StringVar(&c.Filter.FieldSelector, "field-selector", "", "only pods matching this field selector, e.g. 'status.phase!=Succeeded' (applied by the API server)")
	fs.StringVar(&c.Filter.Node, "node", "", "only pods on this node (same as --field-selector spec.nodeName=NODE)")
	fs.Var((*cliflag.List)(&c.Filter.OwnerKinds), "owner-kind", "only pods whose owner is of these kinds, comma-separated: ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, ReplicationController, Node, None")
	fs.Var((*cliflag.List)(&c.Filter.ExcludeOwnerKinds), "exclude-owner-kind", "not the pods whose owner is of these kinds, comma-separated")
	fs.BoolVar(&c.storeInCM, "store-in-cm", false, "also keep the history in hourly ConfigMaps pod-ashiato-YYYYMMDDHH")
	fs.DurationVar(&c.FlushEvery, "cm-flush-interval", sink.DefaultFlushInterval, "how often pending placements are written to the store")
	c.Retention, c.RetentionFlag = defaultRetention, "retention"
	fs.Var(&cliflag.AliasedDuration{D: &c.Retention, Given: &c.RetentionFlag, Name: "retention"}, "retention", "when storing, delete the hours that ended longer ago than this `duration`, at least 1h (checked at start and every hour, or once after a --oneshot run); 0 keeps every hour (with --store s3, an S3 lifecycle rule can expire them instead)")
	fs.Var(&cliflag.AliasedDuration{D: &c.Retention, Given: &c.RetentionFlag, Name: "cm-retention"}, "cm-retention", "the same `duration` as --retention (its original name)")
	c.store.Register(fs, "namespace of the history ConfigMaps (--store configmap) and of the --leader-elect Lease", "cluster-name", "with --store s3: the cluster's name, recorded with every hour and part of every key (default: the kubeconfig context's name made a DNS name, or \""+storeopen.DefaultCluster+"\" in a pod)")
	fs.Int64Var(&c.PageSize, "page-size", source.DefaultPageSize, "pods per LIST request")
	fs.Float64Var(&c.kube.QPS, "kube-api-qps", 50, "client-side limit of API requests per second")
	fs.IntVar(&c.kube.Burst, "kube-api-burst", 100, "client-side burst of API requests")
	fs.StringVar(&c.Source, "source", "watch", "how continuous mode reads pods: watch (one LIST, then WATCH; every change as it happens) or list (a LIST every --interval)")
	fs.StringVar(&c.Snapshot, "snapshot", string(source.SnapshotsHourly), "with --source=watch, which full snapshots are printed: hour (the first of each UTC hour; between them only changes) or interval (every --interval, as the original tool)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "serve /metrics, /healthz and /readyz on this address, e.g. :8080 (default: off)")
	fs.IntVar(&c.MetricsNamespaces, "metrics-namespaces", metrics.DefaultMaxNamespaces, "at most this many namespaces get their own namespace label on ashiato_reschedules_total; the others count as namespace=\"_other\" (0: all of them)")
	fs.BoolVar(&c.LeaderElect, "leader-elect", false, "run several replicas: only the holder of a Lease in --cm-namespace emits and writes")
	fs.StringVar(&c.LeaseName, "leader-elect-lease", "pod-ashiato", "name of the leader-election Lease")
	jsonFields := fs.String("json-fields", string(emit.FieldsOriginal), "field names of the JSON lines: original (namespace, pod_name, node_name, ...) or otel (OpenTelemetry's k8s.namespace.name, k8s.pod.name, k8s.node.name, ...; docs/fields.md)")
	logLevel := fs.String("log-level", "info", "diagnostics on stderr: debug, info, warn or error")
	fs.BoolVar(&c.printVersion, "version", false, "print the version and exit")
	fs.StringVar(&c.nodeLabels.Raw, "node-labels", strings.Join(source.DefaultNodeLabels, ","),
		"comma-separated node labels that node records carry and the history keeps (for history incident --node-selector); at most 16, \"\" for none")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), rootUsage)
		fs.PrintDefaults()
	}

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(out)
			fs.Usage()
			return nil, err
		}
		return nil, usage.Wrap(usage.FirstLine(err))
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q (flags start with --; see --help)", fs.Arg(0))
	}
	c.store.Parsed(fs)
	if c.store.Explicit && c.storeInCM && c.store.S3() {
		return nil, usagef("--store-in-cm keeps the history in ConfigMaps and --store s3 in S3: give one")
	}
	c.storeInCM = c.storeInCM || c.store.Explicit
	level, err := logrus.ParseLevel(*logLevel)
	if err != nil {
		return nil, usagef("invalid --log-level %q: want debug, info, warn or error", *logLevel)
	}
	c.logLevel = level
	if c.JSONFields, err = emit.ParseFieldSet(*jsonFields); err != nil {
		return nil, usage.Wrap(err)
	}
	return c, c.validate()
}

func (c *config) validate() error {
	if err := c.Filter.Validate(); err != nil {
		return usage.Wrap(err)
	}
	if err := c.Config.Validate(); err != nil {
		return err
	}
	if err := c.store.Validate("cluster-name"); err != nil {
		return usage.Wrap(err)
	}
	if c.kube.QPS <= 0 || c.kube.Burst <= 0 {
		return usagef("invalid --kube-api-qps %g / --kube-api-burst %d: must be positive", c.kube.QPS, c.kube.Burst)
	}
	if err := c.nodeLabels.Validate("node-labels"); err != nil {
		return usage.Wrap(err)
	}
	c.NodeLabels = c.nodeLabels.Keys
	return nil
}
