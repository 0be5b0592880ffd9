// Package answer answers the questions `ashiato history` asks of the
// stored history (where a pod ran, what ran on a node, what a failed node's
// pods became): it reads them from the readers, one cluster after another,
// and prints the answer as a table, as JSON (package report's schema, the
// web view's twins) or as an SVG timeline. Warnings and "nothing found" go
// to stderr.
package answer

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/pod-ashiato/ashiato/src/filter"
	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/readers"
	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/report"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/timeline"
	"github.com/pod-ashiato/ashiato/src/usage"
	"github.com/pod-ashiato/ashiato/src/view"
)

// Query is `history pod` (Node empty) or `history node`.
type Query struct {
	Pod    store.PodRef
	Node   string
	Window history.Window
	At     bool           // the window is --at's instant
	Output string         // table, wide, json or svg
	Filter filter.Options // history node: namespaces and name prefixes
	S3     bool           // the store holds several clusters: a CLUSTER column
	Where  string         // the store, for "nothing found"
}

// History answers q from rs.
func History(ctx context.Context, q *Query, rs []readers.Reader, stdout, stderr io.Writer) error {
	if q.Output == "svg" && len(rs) > 1 {
		return usage.Errorf("-o svg draws one cluster's history: give --cluster (one of %s)", readers.Names(rs))
	}
	// Rows are read hour by hour, keeping only what the answer needs; the
	// picture and the JSON need a little more of each hour (owners, node
	// events), which Reader.Node and Reader.Pod keep. Clusters in name
	// order, each cluster's rows in the usual order.
	var (
		hours    []*store.Hour
		rows     []history.Row
		jsonRows = []report.Row{}
		events   = []report.NodeEvent{}
		warns    = []string{}
	)
	full := q.Output == "svg" || q.Output == "json"
	for _, r := range rs {
		var (
			part     []history.Row
			warnings []store.Warning
			owners   map[store.PodRef]store.Owner
			err      error
		)
		switch {
		case full && q.Node != "":
			var res history.NodeResult
			res, err = r.Node(ctx, q.Node, q.Window)
			part, warnings, hours, owners = res.Rows, res.Warnings, res.Hours, res.Owners
		case full:
			var res history.PodResult
			res, err = r.Pod(ctx, q.Pod, q.Window)
			part, warnings, hours, owners = res.Rows, res.Warnings, res.Hours, res.Owners
		case q.Node != "":
			part, warnings, err = r.NodeRows(ctx, q.Node, q.Window)
		default:
			part, warnings, err = r.PodRows(ctx, q.Pod, q.Window)
		}
		if err != nil {
			return err
		}
		for _, w := range warnings {
			fmt.Fprintf(stderr, "ashiato: warning: %s: %s\n", r.Where(w), w.Reason)
		}
		if q.Node != "" {
			part = keepRows(part, q.Filter.StoredChain())
		}
		for i := range part {
			part[i].Cluster = r.Cluster
		}
		rows = append(rows, part...)
		if q.Output == "json" {
			jr := report.RowsOf(owners, part)
			for i := range jr {
				if len(rs) == 1 {
					jr[i].Cluster = "" // the answer's
				}
			}
			jsonRows = append(jsonRows, jr...)
			warns = append(warns, report.WarningsOf(r.Store, warnings)...)
			if q.Node != "" {
				chart := view.Node(hours, q.Node, q.Window, part, nil)
				events = append(events, report.EventsOf(hours, q.Node, chart.From, chart.To)...)
			}
		}
	}
	var err error
	switch q.Output {
	case "json":
		cluster := ""
		if len(rs) == 1 {
			cluster = rs[0].Cluster
		}
		if q.Node != "" {
			err = report.Encode(stdout, report.NodeAnswer{Cluster: cluster, Node: q.Node, Window: report.WindowOf(q.Window), Pods: jsonRows, NodeEvents: events, Warnings: warns})
		} else {
			err = report.Encode(stdout, report.PodAnswer{Cluster: cluster, Pod: q.Pod.String(), Window: report.WindowOf(q.Window), Placements: jsonRows, Warnings: warns})
		}
	case "svg":
		var chart timeline.Chart
		if q.Node != "" {
			chart = view.Node(hours, q.Node, q.Window, rows, nil)
		} else {
			chart = view.Pod(hours, q.Pod, q.Window, rows, nil)
		}
		err = timeline.Render(stdout, chart)
	default:
		err = WriteRows(stdout, q, rows)
	}
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		fmt.Fprintf(stderr, "ashiato: %s\n", q.NothingFound())
	}
	return nil
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

// NothingFound is the stderr line for an empty answer.
func (q *Query) NothingFound() string {
	what := "no placements of pod " + q.Pod.String()
	if q.Node != "" {
		what = "no pods on node " + q.Node
		if f := q.Filter.String(); f != "none" {
			what = "no pods matching " + f + " on node " + q.Node
		}
	}
	when := " at " + stamp(q.Window.Since)
	if !q.At {
		when = " between " + stamp(q.Window.Since) + " and " + stamp(q.Window.Until)
	}
	return what + when + " in the history in " + q.Where
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func orUnknown(t time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return stamp(t)
}
