package serve

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/pod-ashiato/ashiato/src/access"
	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/report"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/view"
)

// maxIncidentWindow bounds ?window=, as `history incident --window` is.
const maxIncidentWindow = 24 * time.Hour

// incident is the page of `history incident NODE --at T --window W`.
func (s *Server) incident(w http.ResponseWriter, r *http.Request) {
	q := readQuery(r)
	f, err := q.format()
	var (
		node   string
		at     time.Time
		window = history.DefaultIncidentWindow
	)
	if err == nil {
		node, err = q.node()
	}
	if err == nil && q.At == "" {
		err = badf("give the time the node failed (at)")
	}
	if err == nil {
		at, err = parseTime("at", q.At, s.now())
	}
	if err == nil && q.Window != "" {
		window, err = time.ParseDuration(q.Window)
		if err != nil || window <= 0 || window > maxIncidentWindow {
			err = badf("invalid window %q: want a duration of more than 0 and at most %s, such as 30m", q.Window, maxIncidentWindow)
		}
	}
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	ctx, src, w, done, ok := s.begin(w, r, q)
	if !ok {
		return
	}
	defer done()
	filter, ok := s.filter(ctx, w, r, src)
	if !ok {
		return
	}
	res, err := src.reader.Incident(ctx, history.IncidentQuery{Node: node, At: at, Window: window})
	if err != nil {
		s.readFailed(w, r, src, err)
		return
	}
	lk := linker{src.clusterArg()}
	inc, hours, err := visibleIncident(ctx, filter, res, node, at, window)
	if err != nil {
		s.accessFailed(w, r, src, err)
		return
	}
	hidden := filter.Hidden()
	warns := warningsOf(src.reader.Store, res.Warnings)
	links := &view.Links{
		Pod: func(ref store.PodRef) string {
			return lk.link("/pod", append([]string{"pod", ref.String()}, windowArgs(s.around(history.At(at)))...)...)
		},
		Node: func(n string) string {
			return lk.link("/node", append([]string{"node", n}, windowArgs(s.around(history.At(at)))...)...)
		},
	}
	chart := view.Incident(hours, inc, links)
	switch f {
	case "json":
		writeJSON(w, http.StatusOK, report.IncidentAnswer{Cluster: src.cluster, Incident: report.IncidentOf(inc), Hidden: hiddenOf(hidden)})
		return
	case "svg":
		s.svg(w, chart)
		return
	}
	args := []string{"node", node, "at", stamp(at), "window", window.String()}
	p := page{
		Title: "Incident on node " + node, Query: q, Where: s.where(src), Clusters: picker(src), Warnings: warns,
		Window:   "at " + stamp(at) + ", " + window.String() + " either side",
		JSON:     lk.link("/incident", append(args, "format", "json")...),
		Pic:      lk.link("/incident", append(args, "format", "svg")...),
		Columns:  []string{"Namespace", "Pod", "Owner", "Replaced by", "On node", "After", "Outcome"},
		NodePage: lk.link("/node", append([]string{"node", node}, windowArgs(history.At(at))...)...),
		Viewer:   filter.Viewer().Name(),
	}
	if hidden.Any() {
		p.Hidden = hiddenText(hidden) + " The counts below cover the pods you may see only."
	}
	sum := inc.Summary
	p.Summary = []stat{{"pods on the node", strconv.Itoa(sum.Pods)}, {"rescheduled", strconv.Itoa(sum.Rescheduled)}, {"not rescheduled", strconv.Itoa(sum.NotRescheduled)}}
	if sum.Stayed > 0 {
		p.Summary = append(p.Summary, stat{"stayed", strconv.Itoa(sum.Stayed)})
	}
	if sum.NodeBound > 0 {
		p.Summary = append(p.Summary, stat{"node-bound", strconv.Itoa(sum.NodeBound)})
	}
	if sum.Rescheduled > 0 {
		p.Summary = append(p.Summary, stat{"median to reschedule", sum.Median.String()}, stat{"slowest", sum.Slowest.String()})
	}
	for _, wl := range inc.Workloads {
		if wl.Outage {
			p.Summary = append(p.Summary, stat{"lost every replica", wl.Namespace + " " + wl.Text()})
		}
	}
	for _, e := range inc.Timeline {
		p.Events = append(p.Events, report.NodeEvent{Node: e.Node, Timestamp: stamp(e.At), Event: e.Event, Reason: e.Reason})
	}
	for _, ip := range inc.Pods {
		owner := "none"
		if ip.Owner.Kind != "" {
			owner = ip.Owner.Kind + "/" + ip.Owner.Name
		}
		row := tableRow{Cells: []cell{{Text: ip.Pod.Namespace}, {Text: ip.Pod.Name, Link: links.Pod(ip.Pod)}, {Text: owner}}}
		if n := ip.Next; n != nil {
			row.Cells = append(row.Cells,
				cell{Text: n.Pod.Name, Link: links.Pod(n.Pod), Class: "replacement"},
				cell{Text: n.Node, Link: links.Node(n.Node)},
				cell{Text: "+" + n.After.String(), Class: "replaced"})
		} else if ip.Outcome == history.NotRescheduled {
			row.Cells = append(row.Cells, cell{Text: "never came back", Class: "lost"}, cell{}, cell{})
		} else {
			row.Cells = append(row.Cells, cell{}, cell{}, cell{})
		}
		row.Cells = append(row.Cells, cell{Text: ip.Text()})
		p.Rows = append(p.Rows, row)
	}
	if len(inc.Pods) == 0 {
		p.Empty = "No pods on node " + node + " at " + stamp(at) + " in the history in " + s.where(src) + "."
	}
	s.page(w, p, chart)
}

// visibleIncident is the incident as f's viewer may see it: the lost pods
// and replacements of namespaces it may not list counted and left out, the
// incident investigated again over the pods it may see (so that the summary
// counts only those), and the node events left out, counted, unless it may
// get nodes. It returns the hours the picture is drawn from.
func visibleIncident(ctx context.Context, f *access.Filter, res history.IncidentResult, node string, at time.Time, window time.Duration) (history.Incident, []*store.Hour, error) {
	for _, ip := range res.Incident.Pods {
		if _, err := f.Pod(ctx, ip.Pod.Namespace, ip.Pod.Name); err != nil {
			return history.Incident{}, nil, err
		}
		if ip.Next != nil {
			if _, err := f.Pod(ctx, ip.Next.Pod.Namespace, ip.Next.Pod.Name); err != nil {
				return history.Incident{}, nil, err
			}
		}
	}
	hours, err := visiblePods(ctx, f, res.Hours)
	if err != nil {
		return history.Incident{}, nil, err
	}
	inc := res.Incident
	if f.Hidden().Pods > 0 {
		inc = history.Investigate(hours, node, at, window)
	}
	nodes, err := f.MayGetNodes(ctx)
	if err != nil || nodes {
		return inc, hours, err
	}
	for range inc.Timeline {
		if _, err := f.NodeEvent(ctx); err != nil {
			return history.Incident{}, nil, err
		}
	}
	inc.Timeline = nil
	return inc, withoutNodeEvents(hours), nil
}
