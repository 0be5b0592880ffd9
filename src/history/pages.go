package history

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
	"github.com/pod-ashiato/ashiato/src/storeread"
)

// The reads below are what a page of `ashiato serve` and an answer of
// `ashiato history` need, read as a stream: one hour's stored objects at a
// time, each object decoded with only what the question keeps (store.Only),
// and of each hour only what the answer needs kept. Their Hours are those
// kept parts, in order: the pure functions of this package and of package
// view (Pod, Node, InvestigateNodes, view.Node, view.Pod, view.Incident)
// give on them what they give on the whole hours, for the question asked.

// PodResult is where one pod ran within a window, with what a page shows
// beside the rows.
type PodResult struct {
	Rows []Row
	// Owners holds the pod's controlling owner, when an hour kept one.
	Owners map[store.PodRef]store.Owner
	// Hours are the hours read, oldest first, each holding only the pod's
	// placements, its owner and the hour's node events.
	Hours    []*store.Hour
	Warnings []store.Warning
}

// NodeResult is which pods ran on a node within a window, with what a page
// shows beside the rows.
type NodeResult struct {
	Rows []Row
	// Owners holds the controlling owner of the pods in Rows that an hour
	// kept one for.
	Owners map[store.PodRef]store.Owner
	// Events are the node's lifecycle changes stored in the hours read, in
	// time order; Labels its labels as the earliest hour kept them (nil when
	// none did).
	Events []store.NodeEvent
	Labels map[string]string
	// Hours are the hours read, oldest first, each holding only the node's
	// placements, their pods' owners, the node's events and labels.
	Hours    []*store.Hour
	Warnings []store.Warning
}

// Pod is PodRows with the pod's owner and the node events of the hours read
// (a page draws its nodes' state). It learns which hours are stored first,
// so its requests grow with the stored hours, not with the window.
func (r *Reader) Pod(ctx context.Context, ref store.PodRef, w Window) (PodResult, error) {
	res, err := r.pod(ctx, ref, w, true)
	return res, stopped(ctx, err)
}

// pod reads each stored hour's shard 0, which says how many shards there
// are, and the shard ref hashes to (the whole hour when a growth is under
// way). It holds one hour at a time and the kept part of the hour before it,
// whose last placements may continue into it (see "Across an hour's edge").
// full also keeps the hours' node events (shard 0's, decoded without its
// placements) and looks for the pod's owner in the rest of an hour when the
// shards read do not have it (an owner's line is in its own shard).
func (r *Reader) pod(ctx context.Context, ref store.PodRef, w Window, full bool) (PodResult, error) {
	first, last := w.hours()
	first = first.Add(-time.Hour)
	objs := r.Store
	wrap := func(err error) error {
		return fmt.Errorf("reading the history of %s in %s: %w", ref, objs, err)
	}
	hours, err := r.storedHours(ctx, first, last)
	if err != nil {
		return PodResult{}, wrap(err)
	}
	m := r.meter()
	res := PodResult{Owners: map[store.PodRef]store.Owner{}}
	var (
		prev *store.Hour
		ran  []*store.Hour // the kept hours with a placement of the pod
	)
	for _, hour := range hours {
		got, whole, err := storeread.ReadPodShards(ctx, objs, hour, ref, r.Retry)
		if err != nil {
			return PodResult{}, wrap(err)
		}
		if len(got) == 0 {
			continue
		}
		var (
			h     *store.Hour
			warns []store.Warning
		)
		if whole {
			if err := m.add(got...); err != nil {
				return PodResult{}, err
			}
			h, _, warns = store.Decode(ctx, hour, got)
		} else {
			// Shard 0 was read for its count; it is decoded only when it
			// is the pod's shard, or without its placements for the
			// node events it keeps.
			part := got[len(got)-1:]
			if full && len(got) > 1 {
				part = []storeio.Shard{withoutPlacements(got[0]), got[1]}
			}
			if err := m.add(part...); err != nil {
				return PodResult{}, err
			}
			h, warns = store.DecodePart(ctx, hour, part, store.Only{Pod: &ref})
			warns = append(warns, missingPodShard(hour, ref, got)...)
		}
		res.Warnings = append(res.Warnings, warns...)
		cur := store.NewHour(hour)
		if seen := h.Pod(ref); len(seen) > 0 {
			cur.Pods[ref] = seen
			ran = append(ran, cur)
			if o, ok := h.Owner(ref); ok {
				cur.SetOwner(ref, o)
				if _, known := res.Owners[ref]; !known {
					res.Owners[ref] = o
				}
			}
		}
		if full {
			cur.Nodes = h.Nodes
			res.Hours = append(res.Hours, cur)
		}
		res.Rows = append(res.Rows, hourRows(Pod(pair(prev, cur), ref, w), hour)...)
		prev = cur
	}
	sortRows(res.Rows)
	if _, known := res.Owners[ref]; full && !known {
		// The owner's line is in the shard the owner hashes to: read the
		// first hours the pod ran in whole until one has it.
		for _, cur := range ran {
			all, err := storeread.ReadHour(ctx, objs, cur.Start, r.Retry)
			if err != nil {
				return PodResult{}, wrap(err)
			}
			owners, err := ownersIn(ctx, cur.Start, all, []store.PodRef{ref}, m)
			if err != nil {
				return PodResult{}, err
			}
			if o, ok := owners[ref]; ok {
				cur.SetOwner(ref, o)
				res.Owners[ref] = o
				break
			}
		}
	}
	return res, nil
}

// storedHours is the hours first..last that have objects in the store, in
// order, learnt from a listing of names (storeio.Store.ListRefs; in a store
// with the original tool's objects, a listing of those too).
func (r *Reader) storedHours(ctx context.Context, first, last time.Time) ([]time.Time, error) {
	set := map[time.Time]bool{}
	err := r.Store.ListRefs(ctx, first, last, r.Retry, "listing the stored hours", func(ref storeio.Ref) {
		if hour, _, ok := store.ParseName(ref.Name); ok && !hour.Before(first) && !hour.After(last) {
			set[hour] = true
		}
	})
	if err != nil {
		return nil, err
	}
	if u, ok := r.Store.(storeio.Unlabelled); ok {
		err := u.ListUnlabelled(ctx, streamPage, r.Retry, "listing the history", func(cm *storeio.Shard) {
			if hour, shard, ok := store.ParseName(cm.Name); ok && shard == 0 && !hour.Before(first) && !hour.After(last) {
				set[hour] = true
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return sortedHours(set), nil
}

// withoutPlacements is s without its placements (the packed form's
// placements.gz): what is left is the hour's owners, node events and node
// labels it holds.
func withoutPlacements(s storeio.Shard) storeio.Shard {
	out := s
	out.BinaryData = map[string][]byte{}
	for k, v := range s.BinaryData {
		if k != store.KeyPacked {
			out.BinaryData[k] = v
		}
	}
	return out
}

// ownerNode is the node of the placements ownersIn makes up; any valid name.
const ownerNode = "owner-lookup"

// ownersIn is the owners that the hour's objects give pods. The codec gives
// an owner only to a pod with a placement among the objects decoded
// together, and an owner's line is in the shard the owner hashes to, not
// the pod's (store/doc.go, "Packed form"): so each object's owner values
// are decoded on their own, beside a plain-form key for each pod asked,
// which is all the placements that decode holds. The first owner found for a
// pod is its owner, as in a decode of the whole hour.
func ownersIn(ctx context.Context, hour time.Time, objs []storeio.Shard, pods []store.PodRef, m *meter) (map[store.PodRef]store.Owner, error) {
	out := map[store.PodRef]store.Owner{}
	if len(pods) == 0 {
		return out, nil
	}
	for i := range objs {
		o := &objs[i]
		vals := storeio.Shard{Name: o.Name, Hour: o.Hour, Index: o.Index, Legacy: o.Legacy, Data: map[string]string{}}
		if text, ok := o.Data[store.KeyOwners]; ok {
			vals.Data[store.KeyOwners] = text
		}
		if gz, ok := o.BinaryData[store.KeyOwnersPacked]; ok {
			vals.BinaryData = map[string][]byte{store.KeyOwnersPacked: gz}
		}
		if len(vals.Data) == 0 && len(vals.BinaryData) == 0 {
			continue
		}
		if err := m.add(vals); err != nil {
			return nil, err
		}
		for _, p := range pods {
			if _, found := out[p]; !found {
				vals.Data[p.Namespace+"_"+p.Name] = ownerNode
			}
		}
		h, _ := store.DecodePart(ctx, hour, []storeio.Shard{vals}, store.Only{})
		for _, p := range pods {
			if o, ok := h.Owner(p); ok {
				if _, found := out[p]; !found {
					out[p] = o
				}
			}
		}
		if len(out) == len(pods) {
			break
		}
	}
	return out, nil
}

// Node is NodeRows with the owners of the pods in the rows, the node's
// events and its labels.
func (r *Reader) Node(ctx context.Context, node string, w Window) (NodeResult, error) {
	res, err := r.node(ctx, node, w, true)
	return res, stopped(ctx, err)
}

// node reads the window's hours (and the hour before) object by object,
// keeping the node's placements; full also keeps the node's events and
// labels, and finds the owners of the pods on it.
func (r *Reader) node(ctx context.Context, node string, w Window, full bool) (NodeResult, error) {
	first, last := w.hours()
	first = first.Add(-time.Hour)
	m := r.meter()
	res := NodeResult{Owners: map[store.PodRef]store.Owner{}}
	var prev *store.Hour
	err := r.eachHour(ctx, first, last, func(hour time.Time, objs []storeio.Shard) error {
		if err := m.add(objs...); err != nil {
			return err
		}
		if prev != nil && !prev.Start.Equal(hour.Add(-time.Hour)) {
			prev = nil
		}
		res.Warnings = append(res.Warnings, store.MissingShards(hour, objs)...)
		cur := store.NewHour(hour)
		for i := range objs {
			h, warns := store.DecodePart(ctx, hour, objs[i:i+1], store.Only{Node: node})
			res.Warnings = append(res.Warnings, warns...)
			part := store.NewHour(hour)
			for ref, s := range h.OnNode(node) {
				part.Pods[ref] = []store.Seen{s}
			}
			if full {
				part.Nodes = h.NodeEvents(node)
				if l := h.NodeLabelsOf(node); l != nil {
					part.NodeLabels = map[string]map[string]string{node: l}
				}
				if err := elsewhere(ctx, hour, objs[i:i+1], part, m); err != nil {
					return err
				}
			}
			cur.Merge(part)
		}
		if full {
			var unknown []store.PodRef
			for _, ref := range cur.Refs() {
				if _, ok := res.Owners[ref]; !ok {
					unknown = append(unknown, ref)
				}
			}
			owners, err := ownersIn(ctx, hour, objs, unknown, m)
			if err != nil {
				return err
			}
			for ref, o := range owners {
				cur.SetOwner(ref, o)
				res.Owners[ref] = o
			}
			res.Events = append(res.Events, cur.Nodes...)
			if l := cur.NodeLabelsOf(node); l != nil && res.Labels == nil {
				res.Labels = l
			}
			res.Hours = append(res.Hours, cur)
		}
		res.Rows = append(res.Rows, hourRows(Node(pair(prev, cur), node, w), hour)...)
		prev = cur
		return nil
	})
	if err != nil {
		return NodeResult{}, err
	}
	sortRows(res.Rows)
	// Owners of pods whose rows the window does not keep stay in Hours only.
	for ref := range res.Owners {
		if !slices.ContainsFunc(res.Rows, func(row Row) bool { return row.Pod == ref }) {
			delete(res.Owners, ref)
		}
	}
	return res, nil
}

// elsewhere adds to part the placements its pods had on other nodes within
// the object's hour, so that a page can draw where they came from and went:
// a pod's placements of an hour are all in the shard it hashes to, so one
// more decode of the same object, narrowed to those pods, finds them.
func elsewhere(ctx context.Context, hour time.Time, obj []storeio.Shard, part *store.Hour, m *meter) error {
	if len(part.Pods) == 0 {
		return nil
	}
	if err := m.add(obj...); err != nil {
		return err
	}
	pods := make(map[store.PodRef]bool, len(part.Pods))
	for ref := range part.Pods {
		pods[ref] = true
	}
	h, _ := store.DecodePart(ctx, hour, obj, store.Only{Pods: pods})
	for ref := range pods {
		if seen := h.Pod(ref); len(seen) > 0 {
			part.Pods[ref] = seen
		}
	}
	return nil
}

// PodsPerNode counts, for each node, the pods seen on it within w by the
// rule of the package (see "Matching a time range"; the hour before is not
// read: a count needs no continuation), reading the window's hours object by
// object. A pod is counted by a 64-bit hash of its name, so a node of the
// 150,000-pod store holds no names: two pods of one node would have to
// collide for the count to be one short.
func (r *Reader) PodsPerNode(ctx context.Context, w Window) (map[string]int, []store.Warning, error) {
	res, err := r.PodsPerNodeVisible(ctx, w, nil)
	return res.PerNode, res.Warnings, err
}

// PodCounts is PodsPerNodeVisible's answer.
type PodCounts struct {
	// PerNode counts the visible pods seen on each node.
	PerNode map[string]int
	// HiddenPods are the distinct pods of the namespaces not visible (on any
	// node), HiddenNamespaces those namespaces.
	HiddenPods, HiddenNamespaces int
	Warnings                     []store.Warning
}

// PodsPerNodeVisible is PodsPerNode counting only the pods of the namespaces
// visible says yes to (asked once per namespace; nil: every namespace); the
// others are counted apart, by the same 64-bit hashes, so that the page can
// say how many it left out. An error of visible ends the read.
func (r *Reader) PodsPerNodeVisible(ctx context.Context, w Window, visible func(namespace string) (bool, error)) (PodCounts, error) {
	res, err := r.podsPerNode(ctx, w, visible)
	return res, stopped(ctx, err)
}

func (r *Reader) podsPerNode(ctx context.Context, w Window, visible func(namespace string) (bool, error)) (PodCounts, error) {
	first, last := w.hours()
	seenNS := map[string]bool{}
	hidden := map[uint64]struct{}{}
	hiddenNS := map[string]struct{}{}
	m := r.meter()
	pods := map[string]map[uint64]struct{}{}
	var warnings []store.Warning
	err := r.eachHour(ctx, first, last, func(hour time.Time, objs []storeio.Shard) error {
		if err := m.add(objs...); err != nil {
			return err
		}
		warnings = append(warnings, store.MissingShards(hour, objs)...)
		for i := range objs {
			h, warns := store.DecodePart(ctx, hour, objs[i:i+1], store.Only{})
			warnings = append(warnings, warns...)
			for ref, seen := range h.Pods {
				if visible != nil {
					ok, known := seenNS[ref.Namespace]
					if !known {
						var err error
						if ok, err = visible(ref.Namespace); err != nil {
							return err
						}
						seenNS[ref.Namespace] = ok
					}
					if !ok {
						if slices.ContainsFunc(seen, func(s store.Seen) bool { return w.matches(hour, s, false) }) {
							hidden[podHash(ref)] = struct{}{}
							hiddenNS[ref.Namespace] = struct{}{}
						}
						continue
					}
				}
				for _, s := range seen {
					if !w.matches(hour, s, false) {
						continue
					}
					if pods[s.Node] == nil {
						pods[s.Node] = map[uint64]struct{}{}
					}
					pods[s.Node][podHash(ref)] = struct{}{}
				}
			}
		}
		return nil
	})
	if err != nil {
		return PodCounts{}, err
	}
	counts := make(map[string]int, len(pods))
	for n, set := range pods {
		counts[n] = len(set)
	}
	return PodCounts{PerNode: counts, HiddenPods: len(hidden), HiddenNamespaces: len(hiddenNS), Warnings: warnings}, nil
}

func podHash(ref store.PodRef) uint64 {
	h := fnv.New64a()
	h.Write([]byte(ref.Namespace))
	h.Write([]byte{'/'})
	h.Write([]byte(ref.Name))
	return h.Sum64()
}
