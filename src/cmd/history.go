package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"

	"github.com/pod-ashiato/ashiato/src/filter"
	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeopen"
)

const (
	// historyRange is how far back `history pod` looks without --since.
	historyRange = 24 * time.Hour
	// maxHistoryRange is the longest --since..--until: a month, four times
	// the default retention (docs/history.md, "Costs").
	maxHistoryRange = 31 * 24 * time.Hour
	// historyRetry bounds how long a query waits for an unreachable API
	// server: a person is waiting.
	historyRetry = 15 * time.Second
)

const historyUsage = `Usage:
  ashiato history pod NAMESPACE/NAME [--since T] [--until T] [flags]
  ashiato history pod NAMESPACE/NAME --at T [flags]
  ashiato history node NODE --at T [flags]
  ashiato history node NODE --since T [--until T] [flags]
  ashiato history incident NODE --at T [--window 30m] [flags]

  history node also takes --namespace, --exclude-namespace (comma-separated)
  and --name, --exclude-name (name prefixes), as the recorder does.

Reads the history that ashiato --store-in-cm keeps in hourly ConfigMaps, or
with --store s3 --s3-bucket B the one ashiato --store s3 keeps in S3: every
cluster under --s3-prefix (a CLUSTER column, a "cluster" JSON field), or the
one --cluster names.

  pod    where the pod ran, hour by hour: HOUR, NODE, FIRST SEEN, LAST SEEN
         (default: the last 24h)
  node   which pods ran on the node: NAMESPACE, POD, HOUR, FIRST SEEN, LAST SEEN
  incident  the node's events around T, its pods at T and where each went
         (see ashiato history incident --help)

Times (T) are RFC 3339 (2026-11-26T14:00:00Z, 2026-11-26T23:00:00+09:00),
"now", or a duration before now (2h, 30m, 1h30m). Output times are UTC.

A row is one pod on one node within one UTC hour, with when it was first and
last seen there (<unknown> for hours written by the original pod-ashiato).
Last seen advances in 5-minute steps, so a pod counts as on the node from
first seen until 5 minutes after last seen. With --at T, a pod counts if it
was on the node in the hour containing T and, where the times are known,
first seen <= T <= last seen + 5m; a pod last seen on the node in the last
5 minutes of the hour before counts from the hour's start (it stayed across
the edge). With --since/--until, a row counts if its hour overlaps the range
and, where known, [first seen, last seen + 5m] does.

-o svg draws the answer as one SVG timeline: a lane per pod, a bar from first
to last seen, moves marked.

With no rows, stdout is empty (-o json: [], -o svg: an empty timeline) and
stderr says so; exit 0.
Damaged values in the store are reported on stderr; the rest is answered.

Flags:
`

// historyConfig is what `ashiato history` was asked, validated.
type historyConfig struct {
	kube   config // kubeconfig, context, cm-namespace: as the main command
	pod    store.PodRef
	node   string // set for `history node`
	window history.Window
	at     bool
	output string
	filter filter.Options // history node: namespaces and name prefixes
}

// parseHistoryFlags reads the arguments after "history". Flags may come
// before or after the positional arguments, as with kubectl.
func parseHistoryFlags(args []string, now time.Time, stderr io.Writer) (*historyConfig, error) {
	c := &historyConfig{kube: config{kubeQPS: 50, kubeBurst: 100}}
	fs := flag.NewFlagSet("ashiato history", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.kube.kubeconfig, "kubeconfig", "", "path to a kubeconfig file (default: $KUBECONFIG, else the in-cluster config when running in a pod, else ~/.kube/config)")
	fs.StringVar(&c.kube.context, "context", "", "kubeconfig context to use (default: the current context)")
	c.kube.store.Register(fs, "namespace of the history ConfigMaps (--store configmap)", "cluster", "with --store s3: read this cluster's history only (default: every cluster under --s3-prefix; each row says its cluster)")
	since := fs.String("since", "", "start of the range (pod default: 24h before --until)")
	until := fs.String("until", "", "end of the range (default: now)")
	at := fs.String("at", "", "a single instant instead of a range")
	fs.StringVar(&c.output, "o", "table", "output: table, wide (every column), json, or svg (a timeline picture)")
	fs.StringVar(&c.output, "output", "table", "same as -o")
	fs.Var((*listFlag)(&c.filter.Namespaces), "namespace", "history node: only pods of these namespaces, comma-separated")
	fs.Var((*listFlag)(&c.filter.ExcludeNamespaces), "exclude-namespace", "history node: not the pods of these namespaces, comma-separated")
	fs.StringVar(&c.filter.NamePrefix, "name", "", "history node: only pods whose name starts with this prefix")
	fs.Var((*listFlag)(&c.filter.ExcludeNamePrefixes), "exclude-name", "history node: not the pods whose name starts with this prefix (repeatable)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), historyUsage)
		fs.PrintDefaults()
	}

	positional, err := parseInterleaved(fs, args, stderr)
	if err != nil {
		return nil, err
	}

	if len(positional) == 0 {
		return nil, usagef("missing what to show: ashiato history pod NAMESPACE/NAME, or ashiato history node NODE (see ashiato history --help)")
	}
	sub, positional := positional[0], positional[1:]
	want := map[string]string{"pod": "NAMESPACE/NAME", "node": "NODE"}[sub]
	switch {
	case want == "":
		return nil, usagef("unknown history %q: want pod, node or incident (see ashiato history --help)", sub)
	case len(positional) == 0:
		return nil, usagef("history %s needs the %s", sub, want)
	case len(positional) > 1:
		return nil, usagef("unexpected argument %q: history %s takes one %s", positional[1], sub, want)
	}
	if sub == "pod" {
		c.pod, err = parsePodRef(positional[0])
	} else {
		c.node, err = parseNode(positional[0])
	}
	if err != nil {
		return nil, err
	}
	if err := c.filter.Validate(); err != nil {
		return nil, usageError{err}
	}
	if sub == "pod" && c.filter.String() != "none" {
		return nil, usagef("history pod names one pod: %s filters history node only", c.filter)
	}
	if err := c.parseTimes(sub, *since, *until, *at, now); err != nil {
		return nil, err
	}
	switch c.output {
	case "table", "wide", "json", "svg":
	default:
		return nil, usagef("invalid -o %q: want table, wide, json or svg", c.output)
	}
	if err := c.kube.store.Validate("cluster"); err != nil {
		return nil, usageError{err}
	}
	return c, nil
}

// parseTimes sets the window from --since, --until and --at.
func (c *historyConfig) parseTimes(sub, since, until, at string, now time.Time) error {
	parse := func(flag, s string, def time.Time) (time.Time, error) {
		if s == "" {
			return def, nil
		}
		t, err := history.ParseTime(s, now)
		if err != nil {
			return time.Time{}, usagef("invalid --%s: %w", flag, err)
		}
		return t, nil
	}
	if at != "" {
		if since != "" || until != "" {
			return usagef("--at is an instant: give it alone, or --since/--until for a range")
		}
		t, err := parse("at", at, time.Time{})
		c.window, c.at = history.At(t), true
		return err
	}
	if sub == "node" && since == "" {
		return usagef("history node needs --at T or --since T (a node may have run many pods)")
	}
	u, err := parse("until", until, now.UTC())
	if err != nil {
		return err
	}
	s, err := parse("since", since, u.Add(-historyRange))
	if err != nil {
		return err
	}
	if s.After(u) {
		return usagef("--since %s is after --until %s", s.Format(time.RFC3339), u.Format(time.RFC3339))
	}
	if u.Sub(s) > maxHistoryRange {
		return usagef("invalid --since %s: the range to --until %s is longer than %s (31 days), the longest history reads", s.Format(time.RFC3339), u.Format(time.RFC3339), maxHistoryRange)
	}
	c.window = history.Window{Since: s, Until: u}
	return nil
}

// parsePodRef reads NAMESPACE/NAME, each as the API server allows it.
func parsePodRef(s string) (store.PodRef, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok {
		return store.PodRef{}, usagef("invalid pod %q: want NAMESPACE/NAME", s)
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return store.PodRef{}, usagef("invalid pod %q: namespace %q: %s", s, ns, errs[0])
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return store.PodRef{}, usagef("invalid pod %q: name %q: %s", s, name, errs[0])
	}
	return store.PodRef{Namespace: ns, Name: name}, nil
}

func parseNode(s string) (string, error) {
	if errs := validation.IsDNS1123Subdomain(s); len(errs) > 0 {
		return "", usagef("invalid node %q: %s", s, errs[0])
	}
	return s, nil
}

// parseInterleaved parses fs's flags wherever they stand among the
// positional arguments (`history node N --at T` and `history --at T node N`
// alike) and returns the positional ones. Help prints the usage on stderr.
func parseInterleaved(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	var positional []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(stderr)
				fs.Usage()
				return nil, err
			}
			return nil, usageError{firstLine(err)}
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
}

// readerKube is what the history commands' ConfigMap store needs: the
// cluster from the kubeconfig flags, the store's namespace checked.
func readerKube(ctx context.Context, kube *config) func() (storeopen.Kube, error) {
	return func() (storeopen.Kube, error) {
		restCfg, err := restConfig(kube)
		if err != nil {
			return storeopen.Kube{}, err
		}
		client, err := kubernetes.NewForConfig(restCfg)
		if err != nil {
			return storeopen.Kube{}, usagef("invalid kubeconfig: %w", err)
		}
		quiet := &logrus.Logger{Out: io.Discard, Formatter: new(logrus.TextFormatter), Hooks: make(logrus.LevelHooks), Level: logrus.PanicLevel}
		if err := checkNamespaces(ctx, client, quiet, map[string][]string{"cm-namespace": {kube.store.Namespace}}); err != nil {
			return storeopen.Kube{}, err
		}
		meta, err := metadata.NewForConfig(restCfg)
		if err != nil {
			return storeopen.Kube{}, usagef("invalid kubeconfig: %w", err)
		}
		// The metadata client lets the store list the stored hours by name
		// only (storeio.Store.ListRefs).
		return storeopen.Kube{ConfigMaps: client.CoreV1(), Metadata: meta}, nil
	}
}

// runHistory is `ashiato history ...`: the answer on stdout, warnings and
// "nothing found" on stderr.
func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if historySubcommand(args) == "incident" {
		return runIncident(ctx, args, stdout, stderr)
	}
	cfg, err := parseHistoryFlags(args, time.Now(), stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	readers, err := storeReaders(ctx, &cfg.kube, stderr)
	if err != nil {
		return err
	}
	if cfg.output == "svg" && len(readers) > 1 {
		return usagef("-o svg draws one cluster's history: give --cluster (one of %s)", clusterNames(readers))
	}
	// Rows are read hour by hour, keeping only what the answer needs; the
	// picture needs a little more of each hour (owners, node events), which
	// Reader.Node and Reader.Pod keep. Clusters in name order, each
	// cluster's rows in the usual order.
	var (
		hours []*store.Hour
		rows  []history.Row
	)
	for _, reader := range readers {
		var (
			part     []history.Row
			warnings []store.Warning
		)
		switch {
		case cfg.output == "svg" && cfg.node != "":
			var res history.NodeResult
			res, err = reader.Node(ctx, cfg.node, cfg.window)
			part, warnings, hours = res.Rows, res.Warnings, res.Hours
		case cfg.output == "svg":
			var res history.PodResult
			res, err = reader.Pod(ctx, cfg.pod, cfg.window)
			part, warnings, hours = res.Rows, res.Warnings, res.Hours
		case cfg.node != "":
			part, warnings, err = reader.NodeRows(ctx, cfg.node, cfg.window)
		default:
			part, warnings, err = reader.PodRows(ctx, cfg.pod, cfg.window)
		}
		if err != nil {
			return err
		}
		for _, w := range warnings {
			fmt.Fprintf(stderr, "ashiato: warning: %s: %s\n", reader.where(w), w.Reason)
		}
		for i := range part {
			part[i].Cluster = reader.cluster
		}
		rows = append(rows, part...)
	}
	if cfg.node != "" {
		rows = keepRows(rows, cfg.filter.StoredChain())
	}
	if cfg.output == "svg" {
		err = writeSVG(stdout, cfg, hours, rows)
	} else {
		err = writeRows(stdout, cfg, rows)
	}
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		fmt.Fprintf(stderr, "ashiato: %s\n", cfg.nothingFound(storeName(&cfg.kube, readers)))
	}
	return nil
}

// clusterNames lists the readers' clusters for a message.
func clusterNames(readers []clusterReader) string {
	names := make([]string, len(readers))
	for i, r := range readers {
		names[i] = r.cluster
	}
	return strings.Join(names, ", ")
}

// keepRows is the rows the chain keeps, in order.
func keepRows(rows []history.Row, chain filter.Chain) []history.Row {
	if len(chain) == 0 {
		return rows
	}
	kept := rows[:0:0]
	for _, r := range rows {
		if chain.Keep(record.Placement{Namespace: r.Pod.Namespace, Pod: r.Pod.Name, Node: r.Node}) {
			kept = append(kept, r)
		}
	}
	return kept
}

// nothingFound is the stderr line for an empty answer.
func (c *historyConfig) nothingFound(where string) string {
	what := "no placements of pod " + c.pod.String()
	if c.node != "" {
		what = "no pods on node " + c.node
		if f := c.filter.String(); f != "none" {
			what = "no pods matching " + f + " on node " + c.node
		}
	}
	when := " at " + c.window.Since.UTC().Format(time.RFC3339)
	if !c.at {
		when = " between " + c.window.Since.UTC().Format(time.RFC3339) + " and " + c.window.Until.UTC().Format(time.RFC3339)
	}
	return what + when + " in the history in " + where
}

// jsonRow is one element of `-o json`, the schema README documents. Times are
// RFC 3339 in UTC; first_seen and last_seen are null when not known.
type jsonRow struct {
	Cluster   string  `json:"cluster,omitempty"` // --store s3 only
	Namespace string  `json:"namespace"`
	Pod       string  `json:"pod_name"`
	Node      string  `json:"node_name"`
	Hour      string  `json:"hour"`
	FirstSeen *string `json:"first_seen"`
	LastSeen  *string `json:"last_seen"`
}

// writeRows prints the answer: a table like kubectl get, or a JSON array.
func writeRows(w io.Writer, c *historyConfig, rows []history.Row) error {
	if c.output == "json" {
		out := make([]jsonRow, 0, len(rows))
		for _, r := range rows {
			out = append(out, jsonRow{
				Cluster: r.Cluster, Namespace: r.Pod.Namespace, Pod: r.Pod.Name, Node: r.Node, Hour: stamp(r.Hour),
				FirstSeen: optionalStamp(r.First), LastSeen: optionalStamp(r.Last),
			})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(rows) == 0 {
		return nil // like kubectl get: nothing on stdout, the reason on stderr
	}
	type column struct {
		head  string
		value func(history.Row) string
	}
	var (
		namespace = column{"NAMESPACE", func(r history.Row) string { return r.Pod.Namespace }}
		pod       = column{"POD", func(r history.Row) string { return r.Pod.Name }}
		node      = column{"NODE", func(r history.Row) string { return r.Node }}
		hour      = column{"HOUR", func(r history.Row) string { return stamp(r.Hour) }}
		first     = column{"FIRST SEEN", func(r history.Row) string { return orUnknown(r.First) }}
		last      = column{"LAST SEEN", func(r history.Row) string { return orUnknown(r.Last) }}
	)
	columns := []column{hour, node, first, last}
	switch {
	case c.output == "wide":
		columns = []column{namespace, pod, node, hour, first, last}
	case c.node != "":
		columns = []column{namespace, pod, hour, first, last}
	}
	if c.kube.store.S3() {
		cluster := column{"CLUSTER", func(r history.Row) string { return r.Cluster }}
		columns = append([]column{cluster}, columns...)
	}
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	for i, col := range columns {
		if i > 0 {
			fmt.Fprint(tw, "\t")
		}
		fmt.Fprint(tw, col.head)
	}
	fmt.Fprintln(tw)
	for _, r := range rows {
		for i, col := range columns {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, col.value(r))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func optionalStamp(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := stamp(t)
	return &s
}

func orUnknown(t time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return stamp(t)
}
