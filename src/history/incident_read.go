package history

import (
	"context"
	"time"

	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// IncidentQuery is what `history incident` asks: one node, or the nodes
// whose recorded labels Match that failed within the window.
type IncidentQuery struct {
	Node     string
	Match    func(labels map[string]string) bool // instead of Node
	Selector string                              // Match as the user wrote it
	At       time.Time
	Window   time.Duration
}

// IncidentResult is the incident and what its picture needs.
type IncidentResult struct {
	Incident Incident
	// Hours are the hours read, oldest first, each holding only what the
	// incident looks at: the placements of the pods on the failed nodes and
	// of the pods that could replace them (of the same owner, or name),
	// their owners, every node event and node label.
	Hours    []*store.Hour
	Warnings []store.Warning
}

// Incident is InvestigateNodes (or Investigate, for one node) read as a
// stream, one hour at a time, in three passes over the few hours of
// [At-Window, At+Window] and the hour before: the node events and labels
// (which nodes failed), the pods on the failed nodes at At and their owners
// (the hour of At and the one before), then every hour decoded whole and
// only the placements of those pods and of the pods of their owners or
// names kept. An owner's line may be in another shard than its pods'
// placements, so the last pass decodes an hour whole: it holds one hour,
// not the window.
func (r *Reader) Incident(ctx context.Context, q IncidentQuery) (IncidentResult, error) {
	res, err := r.incident(ctx, q)
	return res, stopped(ctx, err)
}

func (r *Reader) incident(ctx context.Context, q IncidentQuery) (IncidentResult, error) {
	from, to := q.At.Add(-q.Window), q.At.Add(q.Window)
	first, last := Window{Since: from, Until: to}.hours()
	first = first.Add(-time.Hour)
	m := r.meter()

	// 1. Node events and labels: placements skipped line by line (no node
	// has this name).
	var marks []*store.Hour
	err := r.eachHour(ctx, first, last, func(hour time.Time, objs []storeio.Shard) error {
		if err := m.add(objs...); err != nil {
			return err
		}
		cur := store.NewHour(hour)
		for i := range objs {
			h, _ := store.DecodePart(ctx, hour, objs[i:i+1], store.Only{Node: "\x00"})
			cur.Merge(&store.Hour{Start: hour, Nodes: h.Nodes, NodeLabels: h.NodeLabels})
		}
		marks = append(marks, cur)
		return nil
	})
	if err != nil {
		return IncidentResult{}, err
	}
	nodes := []string{q.Node}
	if q.Match != nil {
		nodes = FailedNodes(marks, q.Match, from, to)
	}
	onNodes := map[string]bool{}
	for _, n := range nodes {
		onNodes[n] = true
	}
	onNode := func(seen []store.Seen) bool {
		for _, s := range seen {
			if onNodes[s.Node] {
				return true
			}
		}
		return false
	}

	// 2. The pods on the nodes at the instant, with their owners.
	var near []*store.Hour
	atHour := store.HourOf(q.At)
	err = r.eachHour(ctx, atHour.Add(-time.Hour), atHour, func(hour time.Time, objs []storeio.Shard) error {
		if err := m.add(objs...); err != nil {
			return err
		}
		h, _, _ := store.Decode(ctx, hour, objs)
		near = append(near, keep(h, func(ref store.PodRef, seen []store.Seen) bool { return onNode(seen) }))
		return nil
	})
	if err != nil {
		return IncidentResult{}, err
	}
	ix := indexHours(near)
	lostNames := map[store.PodRef]bool{}
	lostOwners := map[ownerKey]bool{}
	for _, n := range nodes {
		for _, row := range Node(near, n, At(q.At)) {
			lostNames[row.Pod] = true
			if o, ok := ix.owners[row.Pod]; ok {
				lostOwners[ownerKey{row.Pod.Namespace, o}] = true
			}
		}
	}

	// 3. Every hour, keeping the pods that were on the nodes, those of the
	// lost pods' owners and those of their names.
	var res IncidentResult
	err = r.eachHour(ctx, first, last, func(hour time.Time, objs []storeio.Shard) error {
		if err := m.add(objs...); err != nil {
			return err
		}
		h, _, warns := store.Decode(ctx, hour, objs)
		res.Warnings = append(res.Warnings, warns...)
		res.Hours = append(res.Hours, keep(h, func(ref store.PodRef, seen []store.Seen) bool {
			if lostNames[ref] || onNode(seen) {
				return true
			}
			o, ok := h.Owner(ref)
			return ok && lostOwners[ownerKey{ref.Namespace, o}]
		}))
		return nil
	})
	if err != nil {
		return IncidentResult{}, err
	}
	if q.Match == nil {
		res.Incident = Investigate(res.Hours, q.Node, q.At, q.Window)
	} else {
		res.Incident = InvestigateNodes(res.Hours, nodes, q.At, q.Window)
		res.Incident.Selector = q.Selector
	}
	return res, nil
}

type ownerKey struct {
	namespace string
	owner     store.Owner
}

// keep is the part of h an answer needs: the placements and owners of the
// pods want keeps, every node event and node label.
func keep(h *store.Hour, want func(ref store.PodRef, seen []store.Seen) bool) *store.Hour {
	out := store.NewHour(h.Start)
	out.Nodes, out.NodeLabels = h.Nodes, h.NodeLabels
	for ref, seen := range h.Pods {
		if want(ref, seen) {
			out.Pods[ref] = seen
			if o, ok := h.Owner(ref); ok {
				out.SetOwner(ref, o)
			}
		}
	}
	return out
}
