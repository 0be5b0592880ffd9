package history

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
	"github.com/pod-ashiato/ashiato/src/storeread"
)

// streamPage is the objects per LIST request of a streamed read: a shard is
// at most ~1 MiB, so a page stays within a few MiB, and only one hour's
// objects are held at a time.
const streamPage = 8

// PodRows is where ref ran within the window (Pod), read hour by hour with
// only what that pod needs: each hour's shard 0, which says how many shards
// there are, and the shard the pod hashes to (the whole hour when a growth
// is under way). It holds one hour at a time and the hour before it, whose
// last placements may continue into it (see "Across an hour's edge").
func (r *Reader) PodRows(ctx context.Context, ref store.PodRef, w Window) ([]Row, []store.Warning, error) {
	first, last := w.hours()
	objs := r.Store
	var (
		rows     []Row
		warnings []store.Warning
		prev     *store.Hour
	)
	for hour := first.Add(-time.Hour); !hour.After(last); hour = hour.Add(time.Hour) {
		got, whole, err := storeread.ReadPodShards(ctx, objs, hour, ref, r.Retry)
		if err != nil {
			return nil, nil, fmt.Errorf("reading the history of %s in %s: %w", ref, objs, err)
		}
		if len(got) == 0 {
			prev = nil
			continue
		}
		var (
			h     *store.Hour
			warns []store.Warning
		)
		if whole {
			h, _, warns = store.Decode(ctx, hour, got)
		} else {
			// Shard 0 was read for its count; it is decoded only when it
			// is the pod's shard.
			part := got[len(got)-1:]
			h, warns = store.DecodePart(ctx, hour, part, store.Only{Pod: &ref})
			warns = append(warns, missingPodShard(hour, ref, got)...)
		}
		warnings = append(warnings, warns...)
		cur := store.NewHour(hour)
		if seen := h.Pod(ref); len(seen) > 0 {
			cur.Pods[ref] = seen
		}
		rows = append(rows, hourRows(Pod(pair(prev, cur), ref, w), hour)...)
		prev = cur
	}
	sortRows(rows)
	return rows, warnings, nil
}

// missingPodShard warns when shard 0 promises the shard ref hashes to and it
// is not there.
func missingPodShard(hour time.Time, ref store.PodRef, objs []storeio.Shard) []store.Warning {
	n, err := strconv.Atoi(objs[0].Annotations[store.AnnotationShards])
	if err != nil || n <= 1 {
		return nil
	}
	k := store.ShardOf(ref, n)
	if k == 0 || len(objs) > 1 {
		return nil
	}
	return []store.Warning{{Object: store.ShardName(hour, k), Reason: fmt.Sprintf(
		"hour %s: shard %d of %d missing (shard 0 says %d); the placements it held are not shown", hour.Format("2006010215"), k, n, n)}}
}

// NodeRows is which pods ran on node within the window (Node), read hour by
// hour: one streamed listing of the window's shards, a few objects a page,
// each object decoded on its own and only the node's placements kept. The
// original tool's objects (no hour label, ConfigMap store only) are found by
// a listing of their names and read one by one in their hour's turn.
func (r *Reader) NodeRows(ctx context.Context, node string, w Window) ([]Row, []store.Warning, error) {
	first, last := w.hours()
	first = first.Add(-time.Hour)
	objs := r.Store
	wrap := func(err error) error {
		return fmt.Errorf("reading the history in %s: %w", objs, err)
	}

	// The original tool's hours in the window: names only.
	legacy := map[time.Time]bool{}
	if u, ok := objs.(storeio.Unlabelled); ok {
		err := u.ListUnlabelled(ctx, streamPage, r.Retry, "listing the history", func(cm *storeio.Shard) {
			if hour, shard, ok := store.ParseName(cm.Name); ok && shard == 0 && !hour.Before(first) && !hour.After(last) {
				legacy[hour] = true
			}
		})
		if err != nil {
			return nil, nil, wrap(err)
		}
	}

	var (
		rows     []Row
		warnings []store.Warning
		prev     *store.Hour
		done     = map[time.Time]bool{}
	)
	process := func(hour time.Time, objs []storeio.Shard) error {
		done[hour] = true
		if legacy[hour] && !slices.ContainsFunc(objs, func(cm storeio.Shard) bool { return cm.Name == store.NameFor(hour) }) {
			cm, err := storeread.Get(ctx, r.Store, store.NameFor(hour), r.Retry)
			if err != nil {
				return err
			}
			if cm != nil {
				objs = append(objs, *cm)
			}
		}
		if len(objs) == 0 {
			return nil
		}
		if prev != nil && !prev.Start.Equal(hour.Add(-time.Hour)) {
			prev = nil
		}
		warnings = append(warnings, store.MissingShards(hour, objs)...)
		cur := store.NewHour(hour)
		for i := range objs {
			h, warns := store.DecodePart(ctx, hour, objs[i:i+1], store.Only{Node: node})
			warnings = append(warnings, warns...)
			part := store.NewHour(hour)
			for ref, s := range h.OnNode(node) {
				part.Pods[ref] = []store.Seen{s}
			}
			cur.Merge(part)
		}
		rows = append(rows, hourRows(Node(pair(prev, cur), node, w), hour)...)
		prev = cur
		return nil
	}
	// Hours in order: the listing returns objects by name, which is by hour.
	var (
		group     []storeio.Shard
		groupHour time.Time
		failed    error
	)
	flushGroup := func() {
		if failed != nil || groupHour.IsZero() {
			return
		}
		for _, h := range sortedHours(legacy) {
			if h.Before(groupHour) && !done[h] {
				if failed = process(h, nil); failed != nil {
					return
				}
			}
		}
		failed = process(groupHour, group)
		group, groupHour = nil, time.Time{}
	}
	err := objs.ListHours(ctx, first, last, streamPage, r.Retry, "listing the history", func(cm *storeio.Shard) {
		hour, _, ok := store.ParseName(cm.Name)
		if !ok || hour.Before(first) || hour.After(last) || done[hour] {
			return // not the store's, or seen again after a listing started over
		}
		if !hour.Equal(groupHour) {
			flushGroup()
			groupHour = hour
		}
		if !slices.ContainsFunc(group, func(o storeio.Shard) bool { return o.Name == cm.Name }) {
			group = append(group, *cm)
		}
	})
	if err != nil {
		return nil, nil, wrap(err)
	}
	flushGroup()
	for _, h := range sortedHours(legacy) {
		if failed == nil && !done[h] {
			failed = process(h, nil)
		}
	}
	if failed != nil {
		return nil, nil, wrap(failed)
	}
	sortRows(rows)
	return rows, warnings, nil
}

// pair is the hours Pod and Node look at for cur: cur and the hour before it.
func pair(prev, cur *store.Hour) []*store.Hour {
	if prev == nil || !prev.Start.Equal(cur.Start.Add(-time.Hour)) {
		return []*store.Hour{cur}
	}
	return []*store.Hour{prev, cur}
}

// hourRows keeps the rows of one hour.
func hourRows(rows []Row, hour time.Time) []Row {
	return slices.DeleteFunc(rows, func(r Row) bool { return !r.Hour.Equal(hour) })
}

func sortedHours(set map[time.Time]bool) []time.Time {
	out := make([]time.Time, 0, len(set))
	for h := range set {
		out = append(out, h)
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}
