package serve

import (
	"context"
	"net/http"
	"slices"

	"github.com/pod-ashiato/ashiato/src/access"
	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/report"
	"github.com/pod-ashiato/ashiato/src/store"
)

// Every page shows only what the request's viewer (package access, put in
// the request's context by Server.Auth) may see now: the pods of the
// namespaces where it may `list pods`, and the node lifecycle rows if it may
// `get nodes`. What a page leaves out it counts and says, in the page and in
// the JSON twin's "hidden". A viewer that cannot be asked (the API server
// did not answer) is a 503: never more shown.

// filter is the page's access.Filter, or a 503 written (ok false).
func (s *Server) filter(ctx context.Context, w http.ResponseWriter, r *http.Request, src source) (*access.Filter, bool) {
	f, err := access.NewFilter(ctx, access.FromContext(r.Context()))
	if err != nil {
		s.accessFailed(w, r, src, err)
		return nil, false
	}
	return f, true
}

// accessFailed answers a review the API server did not answer.
func (s *Server) accessFailed(w http.ResponseWriter, r *http.Request, src source, err error) {
	w.Header().Set("Retry-After", retryAfter)
	s.failPick(w, r, http.StatusServiceUnavailable, src, "asking the API server what you may see: "+err.Error())
}

// visibleHours is hours with only what f's viewer may see: the pods of
// namespaces it may list (not counted: the caller counts what it shows) and
// the node events only if it may get nodes. The hours given are not changed.
func visibleHours(ctx context.Context, f *access.Filter, hours []*store.Hour) ([]*store.Hour, error) {
	nodes, err := f.MayGetNodes(ctx)
	if err != nil {
		return nil, err
	}
	out, err := visiblePods(ctx, f, hours)
	if err != nil || nodes {
		return out, err
	}
	return withoutNodeEvents(out), nil
}

// visiblePods is hours with only the pods of the namespaces f's viewer may
// list (not counted), every node event kept.
func visiblePods(ctx context.Context, f *access.Filter, hours []*store.Hour) ([]*store.Hour, error) {
	var namespaces []string
	for _, h := range hours {
		for ref := range h.Pods {
			namespaces = append(namespaces, ref.Namespace)
		}
	}
	slices.Sort(namespaces)
	if err := f.Prefetch(ctx, slices.Compact(namespaces)); err != nil {
		return nil, err
	}
	out := make([]*store.Hour, 0, len(hours))
	for _, h := range hours {
		v := store.NewHour(h.Start)
		v.Nodes, v.NodeLabels = h.Nodes, h.NodeLabels
		for ref, seen := range h.Pods {
			ok, err := f.Namespace(ctx, ref.Namespace)
			if err != nil {
				return nil, err
			}
			if ok {
				v.Pods[ref] = seen
				if o, has := h.Owner(ref); has {
					v.SetOwner(ref, o)
				}
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// withoutNodeEvents is hours without their node events (changed in place:
// give it copies).
func withoutNodeEvents(hours []*store.Hour) []*store.Hour {
	for _, h := range hours {
		h.Nodes = nil
	}
	return hours
}

// visibleEvents is the node events f's viewer may see (all or none), the
// hidden ones counted.
func visibleEvents(ctx context.Context, f *access.Filter, events []report.NodeEvent) ([]report.NodeEvent, error) {
	out := []report.NodeEvent{}
	for _, e := range events {
		ok, err := f.NodeEvent(ctx)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, e)
		}
	}
	return out, nil
}

// hiddenText is the sentence a page shows when it left something out.
func hiddenText(h access.Hidden) string {
	if !h.Any() {
		return ""
	}
	return h.String() + "."
}

// visibleRows is the rows of the pods f's viewer may see, the others'
// pods counted.
func visibleRows(ctx context.Context, f *access.Filter, rows []history.Row) ([]history.Row, error) {
	namespaces := make([]string, 0, len(rows))
	for _, row := range rows {
		namespaces = append(namespaces, row.Pod.Namespace)
	}
	slices.Sort(namespaces)
	if err := f.Prefetch(ctx, slices.Compact(namespaces)); err != nil {
		return nil, err
	}
	out := make([]history.Row, 0, len(rows))
	for _, row := range rows {
		ok, err := f.Pod(ctx, row.Pod.Namespace, row.Pod.Name)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, row)
		}
	}
	return out, nil
}
