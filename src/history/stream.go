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
// only what that pod needs (see Reader.Pod, which also gives its owner and
// the node events of the hours read).
func (r *Reader) PodRows(ctx context.Context, ref store.PodRef, w Window) ([]Row, []store.Warning, error) {
	res, err := r.pod(ctx, ref, w, false)
	if err = stopped(ctx, err); err != nil {
		return nil, nil, err
	}
	return res.Rows, res.Warnings, nil
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
// each object decoded on its own and only the node's placements kept (see
// Reader.Node, which also gives the pods' owners and the node's events).
func (r *Reader) NodeRows(ctx context.Context, node string, w Window) ([]Row, []store.Warning, error) {
	res, err := r.node(ctx, node, w, false)
	if err = stopped(ctx, err); err != nil {
		return nil, nil, err
	}
	return res.Rows, res.Warnings, nil
}

// eachHour calls fn with the stored objects of every hour first..last that
// has any, oldest first, one hour's objects at a time: one streamed listing
// of the hours' shards, a few objects a page. The original tool's objects
// (no hour label, ConfigMap store only) are found by a listing of their
// names and read one by one in their hour's turn. An error of fn ends the
// listing and is returned as it is; the store's are wrapped.
func (r *Reader) eachHour(ctx context.Context, first, last time.Time, fn func(hour time.Time, objs []storeio.Shard) error) error {
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
			return wrap(err)
		}
	}

	var (
		done   = map[time.Time]bool{}
		failed error // fn's
	)
	process := func(hour time.Time, group []storeio.Shard) error {
		done[hour] = true
		if legacy[hour] && !slices.ContainsFunc(group, func(cm storeio.Shard) bool { return cm.Name == store.NameFor(hour) }) {
			cm, err := storeread.Get(ctx, r.Store, store.NameFor(hour), r.Retry)
			if err != nil {
				return wrap(err)
			}
			if cm != nil {
				group = append(group, *cm)
			}
		}
		if len(group) == 0 {
			return nil
		}
		return fn(hour, group)
	}
	// Hours in order: the listing returns objects by name, which is by hour.
	var (
		group     []storeio.Shard
		groupHour time.Time
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
	listCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	err := objs.ListHours(listCtx, first, last, streamPage, r.Retry, "listing the history", func(cm *storeio.Shard) {
		if failed != nil {
			cancel() // fn failed: stop listing
			return
		}
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
	if failed != nil {
		return failed
	}
	if err != nil {
		return wrap(err)
	}
	flushGroup()
	for _, h := range sortedHours(legacy) {
		if failed == nil && !done[h] {
			failed = process(h, nil)
		}
	}
	return failed
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
