// Package storeread holds the reads built on storeio.Store that need the
// codec's names (package store): an hour's objects, the shards that can hold
// one pod, one object retried. The sink (on a conflict), store copy and the
// history readers share them.
package storeread

import (
	"context"
	"strconv"
	"time"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// ReadHour returns every stored object of the hour: its shards, and, in a
// store that may hold the original tool's objects (which have no hour label),
// shard 0 by name when the listing finds none.
func ReadHour(ctx context.Context, objs storeio.Store, hour time.Time, policy retry.Policy) ([]storeio.Shard, error) {
	var got []storeio.Shard
	err := retry.Do(ctx, policy, "reading the hour's objects", func(ctx context.Context) error {
		var err error
		got, err = objs.ListHour(ctx, hour)
		return err
	})
	if err != nil {
		return nil, err
	}
	if _, legacy := objs.(storeio.Unlabelled); !legacy {
		return got, nil
	}
	name := store.NameFor(hour)
	for _, o := range got {
		if o.Name == name {
			return got, nil
		}
	}
	s, err := Get(ctx, objs, name, policy)
	if s != nil {
		got = append(got, *s)
	}
	return got, err
}

// ReadPodShards returns the objects of the hour that can hold ref: shard 0,
// which says how many shards there are, and the shard ref hashes to. When the
// hour has more shards than shard 0 promises (a growth under way, see
// store/doc.go "Writing"), or shards without shard 0, a pod may be in either
// of two shards: then it returns the whole hour, and whole is true. An hour
// with nothing stored returns no objects.
func ReadPodShards(ctx context.Context, objs storeio.Store, hour time.Time, ref store.PodRef, policy retry.Policy) (got []storeio.Shard, whole bool, err error) {
	zero, err := Get(ctx, objs, store.NameFor(hour), policy)
	if err != nil {
		return nil, false, err
	}
	if zero == nil {
		all, err := ReadHour(ctx, objs, hour, policy)
		return all, true, err
	}
	n, err := strconv.Atoi(zero.Annotations[store.AnnotationShards])
	if err != nil || n < 1 || n > store.MaxShards {
		n = 1 // the original tool's object, or a damaged count: Decode warns
	}
	beyond, err := Get(ctx, objs, store.ShardName(hour, n), policy)
	if err != nil {
		return nil, false, err
	}
	if beyond != nil {
		all, err := ReadHour(ctx, objs, hour, policy)
		return all, true, err
	}
	got = []storeio.Shard{*zero}
	if k := store.ShardOf(ref, n); k != 0 {
		s, err := Get(ctx, objs, store.ShardName(hour, k), policy)
		if err != nil {
			return nil, false, err
		}
		if s != nil {
			got = append(got, *s)
		}
	}
	return got, false, nil
}

// Get reads one object of the store, retried by policy; nil when it does not
// exist.
func Get(ctx context.Context, objs storeio.Store, name string, policy retry.Policy) (*storeio.Shard, error) {
	var s *storeio.Shard
	err := retry.Do(ctx, policy, "reading "+name, func(ctx context.Context) error {
		var err error
		s, err = objs.Get(ctx, name)
		return err
	})
	return s, err
}
