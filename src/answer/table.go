package answer

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/pod-ashiato/ashiato/src/history"
)

// WriteRows prints rows as a table like kubectl get: HOUR, NODE, FIRST
// SEEN, LAST SEEN for a pod; NAMESPACE, POD, ... for a node; every column
// with -o wide; CLUSTER first when the store holds several. No rows, no
// output (the reason goes to stderr).
func WriteRows(w io.Writer, q *Query, rows []history.Row) error {
	if len(rows) == 0 {
		return nil
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
	case q.Output == "wide":
		columns = []column{namespace, pod, node, hour, first, last}
	case q.Node != "":
		columns = []column{namespace, pod, hour, first, last}
	}
	if q.S3 {
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
