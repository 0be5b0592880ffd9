package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/timeline"
	"github.com/pod-ashiato/ashiato/src/view"
)

// maxIncidentWindow bounds --window: an incident is minutes to hours, and
// each hour of window is two more hours of the store to read.
const maxIncidentWindow = 24 * time.Hour

const incidentUsage = `Usage:
  ashiato history incident NODE --at T [--window 30m] [flags]
  ashiato history incident --node-selector SELECTOR --at T [--window 30m] [flags]

What was on NODE when it failed at T, and where it all went:
  - the node's lifecycle events from T-window to T+window (node_ready,
    node_not_ready, node_unknown, node_cordoned, node_tainted, ...);
  - every pod on the node at T (as history node NODE --at T), with its owner;
  - for each, the pod that replaced it, first seen in [T, T+window]: another
    pod of the same owner, or for a StatefulSet's pod or a bare pod the same
    name on another node; its node and how long after T; or that it never
    came back;
  - a node-bound pod (a DaemonSet's, a mirror pod) comes back on its node
    only, and a pod still on its node when the node was Ready again stayed:
    neither counts as rescheduled or not;
  - each owner's pods lost against its pods anywhere at T, and the owners
    that lost every replica (an outage, with when none ran);
  - a summary: pods, rescheduled, not rescheduled, stayed, node-bound,
    median and slowest time.

With --node-selector (kubectl's label selector syntax, over the node labels
the recorder keeps: --node-labels), the same for every matching node that
went NotReady or Unknown, or was deleted, within the window.

Node events are recorded in watch mode (the default continuous mode) only.

Flags:
`

// incidentConfig is what `ashiato history incident` was asked, validated.
type incidentConfig struct {
	kube     config
	node     string
	selector string          // --node-selector, as given
	match    labels.Selector // parsed; nil without --node-selector
	at       time.Time
	window   time.Duration
	output   string
}

// historySubcommand is the first argument after "history" that is neither a
// flag nor a flag's value; every history flag takes a value.
func historySubcommand(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) {
				return args[i+1]
			}
			return ""
		case strings.HasPrefix(a, "-") && len(a) > 1:
			if !strings.Contains(a, "=") && a != "-h" && a != "--help" && a != "-help" {
				i++ // its value
			}
		default:
			return a
		}
	}
	return ""
}

// parseIncidentFlags reads the arguments after "history", the first
// positional one being "incident".
func parseIncidentFlags(args []string, now time.Time, stderr io.Writer) (*incidentConfig, error) {
	c := &incidentConfig{kube: config{kubeQPS: 50, kubeBurst: 100}}
	fs := flag.NewFlagSet("ashiato history incident", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.kube.kubeconfig, "kubeconfig", "", "path to a kubeconfig file (default: $KUBECONFIG, else the in-cluster config when running in a pod, else ~/.kube/config)")
	fs.StringVar(&c.kube.context, "context", "", "kubeconfig context to use (default: the current context)")
	c.kube.store.Register(fs, "namespace of the history ConfigMaps (--store configmap)", "cluster", "with --store s3: the node's cluster (default: the cluster under --s3-prefix whose history has the node)")
	at := fs.String("at", "", "when the node failed (required): RFC 3339, now, or a duration before now")
	fs.DurationVar(&c.window, "window", history.DefaultIncidentWindow, "how far before and after --at to look")
	fs.StringVar(&c.selector, "node-selector", "", "instead of NODE: every node whose recorded labels match this label selector (e.g. topology.kubernetes.io/zone=eu-west-1a) and that failed within the window")
	fs.StringVar(&c.output, "o", "table", "output: table, json, or svg (a timeline picture)")
	fs.StringVar(&c.output, "output", "table", "same as -o")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), incidentUsage)
		fs.PrintDefaults()
	}
	positional, err := parseInterleaved(fs, args, stderr)
	if err != nil {
		return nil, err
	}
	switch {
	case len(positional) >= 2 && c.selector != "":
		return nil, usagef("give NODE or --node-selector, not both")
	case c.selector != "":
		if c.match, err = labels.Parse(c.selector); err != nil {
			return nil, usagef("invalid --node-selector %q: %s", c.selector, strings.ReplaceAll(err.Error(), "\n", " "))
		}
	case len(positional) < 2:
		return nil, usagef("history incident needs the NODE or --node-selector (see ashiato history incident --help)")
	case len(positional) > 2:
		return nil, usagef("unexpected argument %q: history incident takes one NODE", positional[2])
	}
	if c.selector == "" {
		if c.node, err = parseNode(positional[1]); err != nil {
			return nil, err
		}
	}
	if *at == "" {
		return nil, usagef("history incident needs --at T, when the node failed")
	}
	if c.at, err = history.ParseTime(*at, now); err != nil {
		return nil, usagef("invalid --at: %w", err)
	}
	if c.window <= 0 || c.window > maxIncidentWindow {
		return nil, usagef("invalid --window %s: want more than 0 and at most %s", c.window, maxIncidentWindow)
	}
	if c.output != "table" && c.output != "json" && c.output != "svg" {
		return nil, usagef("invalid -o %q: want table, json or svg", c.output)
	}
	if err := c.kube.store.Validate("cluster"); err != nil {
		return nil, usageError{err}
	}
	return c, nil
}

// runIncident is `ashiato history incident ...`.
func runIncident(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseIncidentFlags(args, time.Now(), stderr)
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
	// A node belongs to one cluster: of the clusters read, the one where the
	// node has pods or events at T answers.
	var (
		hours   []*store.Hour
		inc     history.Incident
		cluster string
		found   []string
	)
	for i, reader := range readers {
		res, err := reader.Incident(ctx, cfg.query())
		if err != nil {
			return err
		}
		for _, w := range res.Warnings {
			fmt.Fprintf(stderr, "ashiato: warning: %s: %s\n", reader.where(w), w.Reason)
		}
		in := res.Incident
		if i == 0 || len(in.Pods) > 0 || len(in.Timeline) > 0 {
			if len(in.Pods) > 0 || len(in.Timeline) > 0 {
				found = append(found, reader.cluster)
			}
			hours, inc, cluster = res.Hours, in, reader.cluster
		}
	}
	if len(found) > 1 {
		return usagef("node %s is in the history of clusters %s: give --cluster", cfg.what(), strings.Join(found, ", "))
	}
	if len(readers) == 0 {
		inc = cfg.investigate(nil)
	}
	if len(found) == 0 && len(readers) > 1 {
		cluster = "" // no cluster has the node: none to name
	}
	switch cfg.output {
	case "json":
		err = writeIncidentJSON(stdout, inc, cfg.kube.store.S3(), cluster)
	case "svg":
		err = timeline.Render(stdout, view.Incident(hours, inc, nil))
	default:
		if cluster != "" {
			fmt.Fprintf(stdout, "Cluster %s\n", cluster)
		}
		err = writeIncidentTable(stdout, inc)
	}
	if err != nil {
		return err
	}
	if len(inc.Pods) == 0 && len(inc.Timeline) == 0 {
		fmt.Fprintf(stderr, "ashiato: no pods on node %s at %s and no node events within %s of it in the history in %s\n",
			cfg.what(), stamp(cfg.at), cfg.window, storeName(&cfg.kube, readers))
	}
	return nil
}

// investigate answers from one cluster's hours: the node's incident, or that
// of the selector's nodes that failed within the window.
func (c *incidentConfig) investigate(hours []*store.Hour) history.Incident {
	if c.match == nil {
		return history.Investigate(hours, c.node, c.at, c.window)
	}
	q := c.query()
	nodes := history.FailedNodes(hours, q.Match, c.at.Add(-c.window), c.at.Add(c.window))
	inc := history.InvestigateNodes(hours, nodes, c.at, c.window)
	inc.Selector = c.selector
	return inc
}

// query is what Reader.Incident reads.
func (c *incidentConfig) query() history.IncidentQuery {
	q := history.IncidentQuery{Node: c.node, At: c.at, Window: c.window}
	if c.match != nil {
		q.Match = func(l map[string]string) bool { return c.match.Matches(labels.Set(l)) }
		q.Selector = c.selector
	}
	return q
}

// what is the node, or the selector, as messages name it.
func (c *incidentConfig) what() string {
	if c.match != nil {
		return "selector " + strconv.Quote(c.selector)
	}
	return c.node
}

// clusterIncidentJSON is the incident read from S3: the cluster it is of,
// then the fields of view.IncidentJSON.
type clusterIncidentJSON struct {
	Cluster string `json:"cluster"`
	view.IncidentJSON
}

// writeIncidentJSON prints the incident; read from S3 (withCluster) it names
// its cluster ("" when no cluster's history has the node).
func writeIncidentJSON(w io.Writer, inc history.Incident, withCluster bool, cluster string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if withCluster {
		return enc.Encode(clusterIncidentJSON{Cluster: cluster, IncidentJSON: view.IncidentDoc(inc)})
	}
	return enc.Encode(view.IncidentDoc(inc))
}

// writeIncidentTable prints the incident as blocks a person reads top to
// bottom: what happened to the node(s), what was on them, the workloads they
// belonged to, the summary.
func writeIncidentTable(w io.Writer, inc history.Incident) error {
	many := inc.Node == ""
	if many {
		fmt.Fprintf(w, "Nodes %s at %s (window %s): %d failed", inc.Selector, stamp(inc.At), inc.Window, len(inc.Nodes))
		if len(inc.Nodes) > 0 {
			fmt.Fprintf(w, ": %s", strings.Join(inc.Nodes, ", "))
		}
		fmt.Fprint(w, "\n\n")
	} else {
		fmt.Fprintf(w, "Node %s at %s (window %s)\n\n", inc.Node, stamp(inc.At), inc.Window)
	}
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	if len(inc.Timeline) == 0 {
		fmt.Fprintln(tw, "No node events recorded in the window.")
	} else {
		fmt.Fprintln(tw, column(many, "TIME\t", "NODE\t")+"EVENT\tREASON")
		for _, e := range inc.Timeline {
			fmt.Fprintf(tw, "%s\t%s%s\t%s\n", stamp(e.At), column(many, "", e.Node+"\t"), e.Event, e.Reason)
		}
	}
	fmt.Fprintln(tw)
	if len(inc.Pods) == 0 {
		fmt.Fprintf(tw, "No pods on %s at %s.\n", column(many, inc.Node, "them"), stamp(inc.At))
	} else {
		fmt.Fprintln(tw, column(many, "NAMESPACE\tPOD\t", "ON\t")+"OWNER\tNEXT\tNODE\tAFTER\tOUTCOME")
		for _, p := range inc.Pods {
			owner := "<none>"
			if p.Owner.Kind != "" {
				owner = p.Owner.Kind + "/" + p.Owner.Name
			}
			fmt.Fprintf(tw, "%s\t%s\t%s%s\t", p.Pod.Namespace, p.Pod.Name, column(many, "", p.Node+"\t"), owner)
			switch r := p.Next; {
			case r != nil:
				fmt.Fprintf(tw, "%s\t%s\t%s\t", r.Pod.Name, r.Node, r.After)
			case p.Outcome == history.NotRescheduled:
				fmt.Fprint(tw, "<never came back>\t-\t-\t")
			default:
				fmt.Fprint(tw, "-\t-\t-\t")
			}
			fmt.Fprintln(tw, p.Text())
		}
	}
	if len(inc.Workloads) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "NAMESPACE\tWORKLOAD")
		for _, wl := range inc.Workloads {
			fmt.Fprintf(tw, "%s\t%s\n", wl.Namespace, wl.Text())
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := inc.Summary
	fmt.Fprintf(w, "\n%d pods, %d rescheduled, %d not rescheduled", s.Pods, s.Rescheduled, s.NotRescheduled)
	if s.Stayed > 0 {
		fmt.Fprintf(w, ", %d stayed", s.Stayed)
	}
	if s.NodeBound > 0 {
		fmt.Fprintf(w, ", %d node-bound", s.NodeBound)
	}
	if s.Rescheduled > 0 {
		fmt.Fprintf(w, "; median %s, slowest %s to reschedule", s.Median, s.Slowest)
	}
	var outages []string
	for _, wl := range inc.Workloads {
		if wl.Outage {
			outages = append(outages, wl.Namespace+"/"+wl.Name())
		}
	}
	if len(outages) > 0 {
		fmt.Fprintf(w, "\n%d workload(s) lost every replica: %s", len(outages), strings.Join(outages, ", "))
	}
	_, err := fmt.Fprintln(w)
	return err
}

// column is one of two table cells: for one node, or for several.
func column(many bool, one, several string) string {
	if many {
		return one + several
	}
	return one
}
