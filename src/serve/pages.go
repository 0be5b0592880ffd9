package serve

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/pod-ashiato/ashiato/src/access"
	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/report"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/timeline"
	"github.com/pod-ashiato/ashiato/src/view"
)

// Default windows, as `ashiato history` has them.
const (
	nodeRange = 6 * time.Hour
	podRange  = 24 * time.Hour
	// pageSpan is how far around an instant the links from a page look: where
	// a pod went before and after.
	pageSpan = 3 * time.Hour
)

// page is what the HTML template shows.
type page struct {
	Title     string
	Query     query
	Where     string        // the store (and cluster) read, for the pages' text
	Clusters  []clusterLink // the picker, in a store of several clusters
	Error     string
	Status    int
	Window    string
	SVG       template.HTML // the timeline, rendered by package timeline (escaped there)
	Rows      []tableRow
	Columns   []string
	Events    []report.NodeEvent
	Warnings  []string
	Nodes     []nodeCount
	NodesNote string
	JSON, Pic string // the twins' URLs
	Incident  string // the incident view of this node, if any
	NodePage  string // the incident's node page
	Summary   []stat
	Empty     string
	Viewer    string // who is looking, as the API server knows them
	Hidden    string // what the page left out, as a sentence
}

type tableRow struct {
	Cells []cell
}

type cell struct {
	Text, Link, Class string
}

type stat struct {
	Label, Value string
}

type nodeCount struct {
	Node, Link string
	Pods       int
}

func (s *Server) now() time.Time { return s.Clock.Now().UTC() }

// begin is what every page that reads does first: a read slot (or 503), the
// cluster (or the picker), a context bounded by readTimeout. ok false: the
// answer is written.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, q query) (ctx context.Context, src source, out http.ResponseWriter, done func(), ok bool) {
	w, release, ok := s.acquire(w, r)
	if !ok {
		return nil, source{}, w, nil, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	done = func() { cancel(); release() }
	src, err := s.source(ctx, q)
	if err != nil {
		s.readFailed(w, r, src, err)
		done()
		return nil, src, w, nil, false
	}
	return ctx, src, w, done, true
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	q := readQuery(r)
	f, err := q.format()
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if f == "svg" {
		s.fail(w, r, http.StatusBadRequest, "the home page has no picture: give a node or a pod")
		return
	}
	w, release, ok := s.acquire(w, r)
	if !ok {
		return
	}
	defer release()
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	src, err := s.source(ctx, q)
	if errors.Is(err, errPickCluster) {
		s.pickCluster(w, f, q, src)
		return
	}
	if err != nil {
		s.readFailed(w, r, src, err)
		return
	}
	filter, ok := s.filter(ctx, w, r, src)
	if !ok {
		return
	}
	lk := linker{src.clusterArg()}
	now := s.now()
	win := history.Window{Since: now.Add(-time.Hour), Until: now}
	var askErr error
	res, err := src.reader.PodsPerNodeVisible(ctx, win, func(ns string) (bool, error) {
		ok, err := filter.Namespace(ctx, ns)
		if err != nil {
			askErr = err
		}
		return ok, err
	})
	if askErr != nil {
		s.accessFailed(w, r, src, askErr)
		return
	}
	if err != nil {
		s.readFailed(w, r, src, err)
		return
	}
	counts := res.PerNode
	hidden := access.Hidden{Pods: res.HiddenPods, Namespaces: res.HiddenNamespaces}
	warns := warningsOf(src.reader.Store, res.Warnings)
	p := page{Title: "Pod Ashiato", Query: q, Where: s.where(src), Clusters: picker(src), Warnings: warns, JSON: lk.link("/", "format", "json"),
		Viewer: filter.Viewer().Name(), Hidden: hiddenText(hidden),
		NodesNote: "Nodes with pods recorded in the last hour (" + stamp(win.Since) + " to " + stamp(win.Until) + ")."}
	if len(counts) == 0 {
		p.NodesNote = "No pods recorded in the last hour in " + s.where(src) + ". Search a node or a pod above."
	}
	for _, n := range slices.Sorted(maps.Keys(counts)) {
		p.Nodes = append(p.Nodes, nodeCount{Node: n, Pods: counts[n], Link: lk.link("/node", "node", n, "since", "6h")})
	}
	if f == "json" {
		out := homeJSON{Cluster: src.cluster, Clusters: src.clusters, Since: stamp(win.Since), Until: stamp(win.Until), Nodes: []nodeJSONCount{}, Warnings: orEmpty(warns), Hidden: hiddenOf(hidden)}
		for _, n := range p.Nodes {
			out.Nodes = append(out.Nodes, nodeJSONCount{Node: n.Node, Pods: n.Pods})
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	s.html(w, http.StatusOK, p)
}

// pickCluster is the home page of a store of several clusters before one is
// picked: the picker, and nothing read.
func (s *Server) pickCluster(w http.ResponseWriter, f string, q query, src source) {
	if f == "json" {
		writeJSON(w, http.StatusOK, homeJSON{Clusters: src.clusters, Nodes: []nodeJSONCount{}, Warnings: []string{}})
		return
	}
	s.html(w, http.StatusOK, page{Title: "Pod Ashiato", Query: q, Where: s.Store.String(), Clusters: picker(src),
		NodesNote: "This store holds the history of several clusters: pick one above."})
}

func (s *Server) node(w http.ResponseWriter, r *http.Request) {
	q := readQuery(r)
	f, err := q.format()
	var (
		node string
		win  history.Window
	)
	if err == nil {
		node, err = q.node()
	}
	if err == nil {
		win, err = q.window(s.now(), nodeRange)
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
	res, err := src.reader.Node(ctx, node, win)
	if err != nil {
		s.readFailed(w, r, src, err)
		return
	}
	lk := linker{src.clusterArg()}
	rows, err := visibleRows(ctx, filter, res.Rows)
	var hours []*store.Hour
	if err == nil {
		hours, err = visibleHours(ctx, filter, res.Hours)
	}
	if err != nil {
		s.accessFailed(w, r, src, err)
		return
	}
	warns := warningsOf(src.reader.Store, res.Warnings)
	around := s.around(win)
	links := &view.Links{
		Pod: func(ref store.PodRef) string {
			return lk.link("/pod", append([]string{"pod", ref.String()}, windowArgs(around)...)...)
		},
		Node: func(n string) string { return lk.link("/node", append([]string{"node", n}, windowArgs(win)...)...) },
	}
	chart := view.Node(hours, node, win, rows, links)
	events, err := visibleEvents(ctx, filter, report.EventsOf(res.Hours, node, chart.From, chart.To))
	if err != nil {
		s.accessFailed(w, r, src, err)
		return
	}
	hidden := filter.Hidden()
	switch f {
	case "json":
		writeJSON(w, http.StatusOK, report.NodeAnswer{Cluster: src.cluster, Node: node, Window: report.WindowOf(win), Pods: report.RowsOf(res.Owners, rows), NodeEvents: events, Warnings: orEmpty(warns), Hidden: hiddenOf(hidden)})
		return
	case "svg":
		s.svg(w, chart)
		return
	}
	p := page{Title: "Node " + node, Query: q, Where: s.where(src), Clusters: picker(src), Window: windowText(win), Warnings: warns, Events: events,
		Viewer: filter.Viewer().Name(), Hidden: hiddenText(hidden),
		Columns: []string{"Namespace", "Pod", "Owner", "Hour", "First seen", "Last seen"},
		JSON:    lk.link("/node", append([]string{"node", node, "format", "json"}, windowArgs(win)...)...),
		Pic:     lk.link("/node", append([]string{"node", node, "format", "svg"}, windowArgs(win)...)...),
	}
	for _, row := range rows {
		p.Rows = append(p.Rows, tableRow{Cells: []cell{
			{Text: row.Pod.Namespace},
			{Text: row.Pod.Name, Link: links.Pod(row.Pod)},
			{Text: ownerText(res.Owners, row.Pod)},
			{Text: stamp(row.Hour)}, {Text: orUnknown(row.First)}, {Text: orUnknown(row.Last)},
		}})
	}
	if len(rows) == 0 {
		p.Empty = "No pods on node " + node + " " + windowText(win) + " in the history in " + s.where(src) + "."
	}
	p.Incident = incidentLink(lk, node, win, events)
	s.page(w, p, chart)
}

func (s *Server) pod(w http.ResponseWriter, r *http.Request) {
	q := readQuery(r)
	f, err := q.format()
	var (
		ref store.PodRef
		win history.Window
	)
	if err == nil {
		ref, err = q.pod()
	}
	if err == nil {
		win, err = q.window(s.now(), podRange)
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
	lk := linker{src.clusterArg()}
	// A pod of a namespace the viewer may not list is not read at all.
	if ok, err := filter.Pod(ctx, ref.Namespace, ref.Name); err != nil || !ok {
		if err != nil {
			s.accessFailed(w, r, src, err)
		} else {
			s.podHidden(w, f, q, src, lk, ref, win, filter)
		}
		return
	}
	res, err := src.reader.Pod(ctx, ref, win)
	if err != nil {
		s.readFailed(w, r, src, err)
		return
	}
	hours, err := visibleHours(ctx, filter, res.Hours)
	if err != nil {
		s.accessFailed(w, r, src, err)
		return
	}
	rows, warns := res.Rows, warningsOf(src.reader.Store, res.Warnings)
	links := &view.Links{
		Pod: func(p store.PodRef) string {
			return lk.link("/pod", append([]string{"pod", p.String()}, windowArgs(win)...)...)
		},
		Node: func(n string) string { return lk.link("/node", append([]string{"node", n}, windowArgs(win)...)...) },
	}
	chart := view.Pod(hours, ref, win, rows, links)
	switch f {
	case "json":
		writeJSON(w, http.StatusOK, report.PodAnswer{Cluster: src.cluster, Pod: ref.String(), Window: report.WindowOf(win), Placements: report.RowsOf(res.Owners, rows), Warnings: orEmpty(warns), Hidden: hiddenOf(filter.Hidden())})
		return
	case "svg":
		s.svg(w, chart)
		return
	}
	p := page{Title: "Pod " + ref.String(), Query: q, Where: s.where(src), Clusters: picker(src), Window: windowText(win), Warnings: warns,
		Viewer:  filter.Viewer().Name(),
		Columns: []string{"Hour", "Node", "Owner", "First seen", "Last seen"},
		JSON:    lk.link("/pod", append([]string{"pod", ref.String(), "format", "json"}, windowArgs(win)...)...),
		Pic:     lk.link("/pod", append([]string{"pod", ref.String(), "format", "svg"}, windowArgs(win)...)...),
	}
	for _, row := range rows {
		p.Rows = append(p.Rows, tableRow{Cells: []cell{
			{Text: stamp(row.Hour)}, {Text: row.Node, Link: links.Node(row.Node)}, {Text: ownerText(res.Owners, row.Pod)},
			{Text: orUnknown(row.First)}, {Text: orUnknown(row.Last)},
		}})
	}
	if len(rows) == 0 {
		p.Empty = "No placements of pod " + ref.String() + " " + windowText(win) + " in the history in " + s.where(src) + "."
	}
	s.page(w, p, chart)
}

// podHidden is the pod page of a pod the viewer may not see: it says so,
// and shows nothing of it.
func (s *Server) podHidden(w http.ResponseWriter, f string, q query, src source, lk linker, ref store.PodRef, win history.Window, filter *access.Filter) {
	text := access.PodHiddenText(ref.Namespace, ref.Name)
	switch f {
	case "json":
		writeJSON(w, http.StatusOK, report.PodAnswer{Cluster: src.cluster, Pod: ref.String(), Window: report.WindowOf(win), Placements: []report.Row{}, Warnings: []string{}, Hidden: hiddenOf(filter.Hidden()), HiddenText: text})
		return
	case "svg":
		http.Error(w, text, http.StatusForbidden)
		return
	}
	s.html(w, http.StatusOK, page{Title: "Pod " + ref.String(), Query: q, Where: s.where(src), Clusters: picker(src), Window: windowText(win),
		JSON:   lk.link("/pod", append([]string{"pod", ref.String(), "format", "json"}, windowArgs(win)...)...),
		Viewer: filter.Viewer().Name(), Hidden: text + ".", Empty: text + "."})
}

// incidentLink is the incident view from a node page: at the page's instant,
// or at the node's first failure (NotReady, Unknown, deleted) in its range;
// none when the range shows no failure.
func incidentLink(lk linker, node string, w history.Window, events []report.NodeEvent) string {
	if w.Since.Equal(w.Until) {
		return lk.link("/incident", "node", node, "at", stamp(w.Since))
	}
	for _, e := range events {
		switch e.Event {
		case "node_not_ready", "node_unknown", "node_deleted":
			return lk.link("/incident", "node", node, "at", e.Timestamp)
		}
	}
	return ""
}

// around is the window the links from a page look at: an instant widened to
// pageSpan either side (no later than now), a range as it is.
func (s *Server) around(w history.Window) history.Window {
	if !w.Since.Equal(w.Until) {
		return w
	}
	until := w.Until.Add(pageSpan)
	if now := s.now(); until.After(now) {
		until = now
	}
	if until.Before(w.Since) {
		until = w.Since
	}
	return history.Window{Since: w.Since.Add(-pageSpan), Until: until}
}

// page writes p with the chart's picture.
func (s *Server) page(w http.ResponseWriter, p page, chart timeline.Chart) {
	// The page has the title; the picture alone (format=svg) keeps it.
	chart.Title, chart.Subtitle = "", ""
	var pic bytes.Buffer
	if err := timeline.Render(&pic, chart); err != nil {
		s.fail(w, nil, http.StatusInternalServerError, "drawing the timeline: "+err.Error())
		return
	}
	// The renderer escapes every text it writes: the SVG is safe to inline.
	p.SVG = template.HTML(pic.String()) //nolint:gosec // see above
	s.html(w, http.StatusOK, p)
}

func (s *Server) svg(w http.ResponseWriter, chart timeline.Chart) {
	var pic bytes.Buffer
	if err := timeline.Render(&pic, chart); err != nil {
		http.Error(w, "drawing the timeline: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	_, _ = w.Write(pic.Bytes())
}

// fail answers with the problem, as a page or as JSON (r may be nil: HTML).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if status >= 500 && s.Log != nil {
		s.Log.WithField("status", status).Warn(msg)
	}
	var q query
	if r != nil {
		q = readQuery(r)
	}
	if q.Format == "json" {
		writeJSON(w, status, errorJSON{Error: msg})
		return
	}
	if q.Format == "svg" {
		http.Error(w, msg, status)
		return
	}
	s.html(w, status, page{Title: "Pod Ashiato", Query: q, Where: s.Store.String(), Error: msg, Status: status})
}

// failPick is fail on a page that resolved its cluster, or failed to: the
// page names what it read and keeps the picker.
func (s *Server) failPick(w http.ResponseWriter, r *http.Request, status int, src source, msg string) {
	q := readQuery(r)
	if status >= 500 && s.Log != nil {
		s.Log.WithField("status", status).Warn(msg)
	}
	if q.Format == "json" {
		writeJSON(w, status, errorJSON{Error: msg, Clusters: src.clusters})
		return
	}
	if q.Format == "svg" {
		http.Error(w, msg, status)
		return
	}
	where := s.Store.String()
	if src.reader != nil {
		where = s.where(src)
	}
	s.html(w, status, page{Title: "Pod Ashiato", Query: q, Where: where, Clusters: picker(src), Error: msg, Status: status})
}

func (s *Server) html(w http.ResponseWriter, status int, p page) {
	var b bytes.Buffer
	if err := pages.Execute(&b, p); err != nil {
		if s.Log != nil {
			s.Log.WithError(err).Error("rendering a page")
		}
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = report.Encode(w, v)
}

func ownerText(owners map[store.PodRef]store.Owner, ref store.PodRef) string {
	if o, ok := owners[ref]; ok {
		return o.Kind + "/" + o.Name
	}
	return ""
}

func orUnknown(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return stamp(t)
}

func windowText(w history.Window) string {
	if w.Since.Equal(w.Until) {
		return "at " + stamp(w.Since)
	}
	return "from " + stamp(w.Since) + " to " + stamp(w.Until)
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
