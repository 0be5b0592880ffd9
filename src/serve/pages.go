package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/pod-ashiato/ashiato/src/history"
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
	Namespace string
	Error     string
	Status    int
	Window    string
	SVG       template.HTML // the timeline, rendered by package timeline (escaped there)
	Rows      []tableRow
	Columns   []string
	Events    []eventJSON
	Warnings  []string
	Nodes     []nodeCount
	NodesNote string
	JSON, Pic string // the twins' URLs
	Incident  string // the incident view of this node, if any
	NodePage  string // the incident's node page
	Summary   []stat
	Empty     string
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

// read reads the store for w within readTimeout.
func (s *Server) read(ctx context.Context, w history.Window) ([]*store.Hour, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	hours, warns, err := s.Store.Read(ctx, w)
	var out []string
	for _, wn := range warns {
		out = append(out, "ConfigMap "+s.Namespace+"/"+wn.Object+": "+wn.Key+": "+wn.Reason)
	}
	return hours, out, err
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	q := readQuery(r)
	f, err := q.format()
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	now := s.now()
	win := history.Window{Since: now.Add(-time.Hour), Until: now}
	hours, warns, err := s.read(r.Context(), win)
	if err != nil {
		s.fail(w, r, http.StatusBadGateway, "reading the history: "+err.Error())
		return
	}
	counts := podsPerNode(hours, win)
	p := page{Title: "Pod Ashiato", Query: q, Namespace: s.Namespace, Warnings: warns, JSON: link("/", "format", "json"),
		NodesNote: "Nodes with pods recorded in the last hour (" + stamp(win.Since) + " to " + stamp(win.Until) + ")."}
	if len(counts) == 0 {
		p.NodesNote = "No pods recorded in the last hour in namespace " + s.Namespace + ". Search a node or a pod above."
	}
	for _, n := range slices.Sorted(maps.Keys(counts)) {
		p.Nodes = append(p.Nodes, nodeCount{Node: n, Pods: counts[n], Link: link("/node", "node", n, "since", "6h")})
	}
	if f == "json" {
		out := homeJSON{Since: stamp(win.Since), Until: stamp(win.Until), Nodes: []nodeJSONCount{}, Warnings: orEmpty(warns)}
		for _, n := range p.Nodes {
			out.Nodes = append(out.Nodes, nodeJSONCount{Node: n.Node, Pods: n.Pods})
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	if f == "svg" {
		s.fail(w, r, http.StatusBadRequest, "the home page has no picture: give a node or a pod")
		return
	}
	s.html(w, http.StatusOK, p)
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
	hours, warns, err := s.read(r.Context(), win)
	if err != nil {
		s.fail(w, r, http.StatusBadGateway, "reading the history: "+err.Error())
		return
	}
	rows := history.Node(hours, node, win)
	around := s.around(win)
	links := &view.Links{
		Pod: func(ref store.PodRef) string {
			return link("/pod", append([]string{"pod", ref.String()}, windowArgs(around)...)...)
		},
		Node: func(n string) string { return link("/node", append([]string{"node", n}, windowArgs(win)...)...) },
	}
	chart := view.Node(hours, node, win, rows, links)
	events := eventsOf(hours, node, chart.From, chart.To)
	switch f {
	case "json":
		writeJSON(w, http.StatusOK, nodeJSON{Node: node, Window: windowOf(win), Pods: rowsJSON(hours, rows), NodeEvents: events, Warnings: orEmpty(warns)})
		return
	case "svg":
		s.svg(w, chart)
		return
	}
	p := page{Title: "Node " + node, Query: q, Namespace: s.Namespace, Window: windowText(win), Warnings: warns, Events: events,
		Columns: []string{"Namespace", "Pod", "Owner", "Hour", "First seen", "Last seen"},
		JSON:    link("/node", append([]string{"node", node, "format", "json"}, windowArgs(win)...)...),
		Pic:     link("/node", append([]string{"node", node, "format", "svg"}, windowArgs(win)...)...),
	}
	for _, row := range rows {
		p.Rows = append(p.Rows, tableRow{Cells: []cell{
			{Text: row.Pod.Namespace},
			{Text: row.Pod.Name, Link: links.Pod(row.Pod)},
			{Text: ownerText(hours, row.Pod)},
			{Text: stamp(row.Hour)}, {Text: orUnknown(row.First)}, {Text: orUnknown(row.Last)},
		}})
	}
	if len(rows) == 0 {
		p.Empty = "No pods on node " + node + " " + windowText(win) + " in the history in namespace " + s.Namespace + "."
	}
	p.Incident = incidentLink(node, win, events)
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
	hours, warns, err := s.read(r.Context(), win)
	if err != nil {
		s.fail(w, r, http.StatusBadGateway, "reading the history: "+err.Error())
		return
	}
	rows := history.Pod(hours, ref, win)
	links := &view.Links{
		Pod: func(p store.PodRef) string {
			return link("/pod", append([]string{"pod", p.String()}, windowArgs(win)...)...)
		},
		Node: func(n string) string { return link("/node", append([]string{"node", n}, windowArgs(win)...)...) },
	}
	chart := view.Pod(hours, ref, win, rows, links)
	switch f {
	case "json":
		writeJSON(w, http.StatusOK, podJSON{Pod: ref.String(), Window: windowOf(win), Placements: rowsJSON(hours, rows), Warnings: orEmpty(warns)})
		return
	case "svg":
		s.svg(w, chart)
		return
	}
	p := page{Title: "Pod " + ref.String(), Query: q, Namespace: s.Namespace, Window: windowText(win), Warnings: warns,
		Columns: []string{"Hour", "Node", "Owner", "First seen", "Last seen"},
		JSON:    link("/pod", append([]string{"pod", ref.String(), "format", "json"}, windowArgs(win)...)...),
		Pic:     link("/pod", append([]string{"pod", ref.String(), "format", "svg"}, windowArgs(win)...)...),
	}
	for _, row := range rows {
		p.Rows = append(p.Rows, tableRow{Cells: []cell{
			{Text: stamp(row.Hour)}, {Text: row.Node, Link: links.Node(row.Node)}, {Text: ownerText(hours, row.Pod)},
			{Text: orUnknown(row.First)}, {Text: orUnknown(row.Last)},
		}})
	}
	if len(rows) == 0 {
		p.Empty = "No placements of pod " + ref.String() + " " + windowText(win) + " in the history in namespace " + s.Namespace + "."
	}
	s.page(w, p, chart)
}

// incidentLink is the incident view from a node page: at the page's instant,
// or at the node's first failure (NotReady, Unknown, deleted) in its range;
// none when the range shows no failure.
func incidentLink(node string, w history.Window, events []eventJSON) string {
	if w.Since.Equal(w.Until) {
		return link("/incident", "node", node, "at", stamp(w.Since))
	}
	for _, e := range events {
		switch e.Event {
		case "node_not_ready", "node_unknown", "node_deleted":
			return link("/incident", "node", node, "at", e.Timestamp)
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
	s.html(w, status, page{Title: "Pod Ashiato", Query: q, Namespace: s.Namespace, Error: msg, Status: status})
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
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// podsPerNode counts the pods of hours seen on each node within w, by the
// rule of package history, in one pass over the hours.
func podsPerNode(hours []*store.Hour, w history.Window) map[string]int {
	pods := map[string]map[store.PodRef]bool{}
	for _, h := range hours {
		if h.Start.After(w.Until) || !h.Start.Add(time.Hour).After(w.Since) {
			continue
		}
		for ref, seen := range h.Pods {
			for _, s := range seen {
				if !s.First.IsZero() && (s.First.After(w.Until) || s.Last.Add(store.LastSeenStep).Before(w.Since)) {
					continue
				}
				if pods[s.Node] == nil {
					pods[s.Node] = map[store.PodRef]bool{}
				}
				pods[s.Node][ref] = true
			}
		}
	}
	counts := make(map[string]int, len(pods))
	for n, refs := range pods {
		counts[n] = len(refs)
	}
	return counts
}

func ownerText(hours []*store.Hour, ref store.PodRef) string {
	for _, h := range hours {
		if o, ok := h.Owner(ref); ok {
			return o.Kind + "/" + o.Name
		}
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
