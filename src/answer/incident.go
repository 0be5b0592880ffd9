package answer

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/readers"
	"github.com/pod-ashiato/ashiato/src/report"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/timeline"
	"github.com/pod-ashiato/ashiato/src/usage"
	"github.com/pod-ashiato/ashiato/src/view"
)

// IncidentQuery is `history incident`: one node, or the nodes a label
// selector matches, at an instant.
type IncidentQuery struct {
	Node     string
	Selector string          // --node-selector, as given
	Match    labels.Selector // parsed; nil without --node-selector
	At       time.Time
	Window   time.Duration
	Output   string // table, json or svg
	S3       bool   // the store holds several clusters: the answer names its cluster
	Where    string // the store, for "nothing found"
}

// Incident answers q from rs. A node belongs to one cluster: of the
// clusters read, the one where the node has pods or events at At answers;
// a node in several clusters' history is the user's to pick (--cluster).
func Incident(ctx context.Context, q *IncidentQuery, rs []readers.Reader, stdout, stderr io.Writer) error {
	var (
		hours   []*store.Hour
		inc     history.Incident
		cluster string
		found   []string
	)
	for i, r := range rs {
		res, err := r.Incident(ctx, q.query())
		if err != nil {
			return err
		}
		for _, w := range res.Warnings {
			fmt.Fprintf(stderr, "ashiato: warning: %s: %s\n", r.Where(w), w.Reason)
		}
		in := res.Incident
		if i == 0 || len(in.Pods) > 0 || len(in.Timeline) > 0 {
			if len(in.Pods) > 0 || len(in.Timeline) > 0 {
				found = append(found, r.Cluster)
			}
			hours, inc, cluster = res.Hours, in, r.Cluster
		}
	}
	if len(found) > 1 {
		return usage.Errorf("node %s is in the history of clusters %s: give --cluster", q.what(), strings.Join(found, ", "))
	}
	if len(rs) == 0 {
		inc = q.investigate(nil)
	}
	if len(found) == 0 && len(rs) > 1 {
		cluster = "" // no cluster has the node: none to name
	}
	var err error
	switch q.Output {
	case "json":
		err = report.Encode(stdout, report.IncidentAnswer{Cluster: cluster, Incident: report.IncidentOf(inc)})
	case "svg":
		err = timeline.Render(stdout, view.Incident(hours, inc, nil))
	default:
		if cluster != "" {
			fmt.Fprintf(stdout, "Cluster %s\n", cluster)
		}
		err = WriteIncidentTable(stdout, inc)
	}
	if err != nil {
		return err
	}
	if len(inc.Pods) == 0 && len(inc.Timeline) == 0 {
		fmt.Fprintf(stderr, "ashiato: no pods on node %s at %s and no node events within %s of it in the history in %s\n",
			q.what(), stamp(q.At), q.Window, q.Where)
	}
	return nil
}

// investigate answers from one cluster's hours: the node's incident, or that
// of the selector's nodes that failed within the window.
func (q *IncidentQuery) investigate(hours []*store.Hour) history.Incident {
	if q.Match == nil {
		return history.Investigate(hours, q.Node, q.At, q.Window)
	}
	hq := q.query()
	nodes := history.FailedNodes(hours, hq.Match, q.At.Add(-q.Window), q.At.Add(q.Window))
	inc := history.InvestigateNodes(hours, nodes, q.At, q.Window)
	inc.Selector = q.Selector
	return inc
}

// query is what Reader.Incident reads.
func (q *IncidentQuery) query() history.IncidentQuery {
	hq := history.IncidentQuery{Node: q.Node, At: q.At, Window: q.Window}
	if q.Match != nil {
		hq.Match = func(l map[string]string) bool { return q.Match.Matches(labels.Set(l)) }
		hq.Selector = q.Selector
	}
	return hq
}

// what is the node, or the selector, as messages name it.
func (q *IncidentQuery) what() string {
	if q.Match != nil {
		return "selector " + strconv.Quote(q.Selector)
	}
	return q.Node
}

// WriteIncidentTable prints the incident as blocks a person reads top to
// bottom: what happened to the node(s), what was on them, the workloads they
// belonged to, the summary.
func WriteIncidentTable(w io.Writer, inc history.Incident) error {
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
