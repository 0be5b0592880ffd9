package serve

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// hourRange is the hours a listing asked for.
type hourRange struct{ first, last time.Time }

// fakeStore is a storeio.Store of the hours it holds, encoded as the sink
// does (with one damaged pod key in each hour's shard 0, whose warning the
// pages show). It records the hours its listings asked for; with entered
// and block set, each read says it began and waits to be let go.
type fakeStore struct {
	hours []*store.Hour
	err   error
	name  string // String; "namespace hist" when empty

	entered chan struct{}
	block   chan struct{}

	mu    sync.Mutex
	objs  map[string]storeio.Shard
	asked []hourRange
}

var _ storeio.Store = (*fakeStore)(nil)

func (f *fakeStore) begin(r *hourRange) error {
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r != nil {
		f.asked = append(f.asked, *r)
	}
	if f.objs == nil {
		f.objs = map[string]storeio.Shard{}
		for _, h := range f.hours {
			shards, err := store.Encode(h, 0)
			if err != nil {
				panic(err)
			}
			for _, s := range shards {
				if s.Index == 0 {
					if s.Data == nil {
						s.Data = map[string]string{}
					}
					s.Data["x_<b>"] = "n1"
				}
				f.objs[s.Name] = *s
			}
		}
	}
	return f.err
}

func (f *fakeStore) inRange(first, last time.Time, each func(storeio.Shard)) {
	f.mu.Lock()
	var out []storeio.Shard
	for _, name := range slices.Sorted(maps.Keys(f.objs)) {
		s := f.objs[name]
		if (first.IsZero() || !s.Hour.Before(first)) && (last.IsZero() || !s.Hour.After(last)) {
			out = append(out, s)
		}
	}
	f.mu.Unlock()
	for _, s := range out {
		each(s)
	}
}

func (f *fakeStore) Get(_ context.Context, name string) (*storeio.Shard, error) {
	if err := f.begin(nil); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.objs[name]; ok {
		return &s, nil
	}
	return nil, nil
}

func (f *fakeStore) ListHour(_ context.Context, hour time.Time) ([]storeio.Shard, error) {
	if err := f.begin(nil); err != nil {
		return nil, err
	}
	var out []storeio.Shard
	f.inRange(hour, hour, func(s storeio.Shard) { out = append(out, s) })
	return out, nil
}

func (f *fakeStore) ListHours(_ context.Context, first, last time.Time, _ int64, _ retry.Policy, _ string, each func(*storeio.Shard)) error {
	if err := f.begin(&hourRange{first, last}); err != nil {
		return err
	}
	f.inRange(first, last, func(s storeio.Shard) { each(&s) })
	return nil
}

func (f *fakeStore) ListRefs(_ context.Context, first, last time.Time, _ retry.Policy, _ string, each func(storeio.Ref)) error {
	if err := f.begin(&hourRange{first, last}); err != nil {
		return err
	}
	f.inRange(first, last, func(s storeio.Shard) { each(storeio.Ref{Name: s.Name}) })
	return nil
}

var errReadOnly = errors.New("the fake store only reads")

func (f *fakeStore) Create(context.Context, *storeio.Shard) (*storeio.Shard, error) {
	return nil, errReadOnly
}

func (f *fakeStore) Update(context.Context, *storeio.Shard) (*storeio.Shard, error) {
	return nil, errReadOnly
}
func (f *fakeStore) Delete(context.Context, storeio.Ref) error { return errReadOnly }

func (f *fakeStore) Location(name string) string { return "ConfigMap hist/" + name }

func (f *fakeStore) String() string {
	if f.name != "" {
		return f.name
	}
	return "namespace hist"
}

// clusterStore is a store of several clusters (as S3 is): each a fakeStore.
type clusterStore struct {
	*fakeStore // the bucket itself: no hours
	clusters   map[string]*fakeStore
}

var _ storeio.Clusters = (*clusterStore)(nil)

func (c *clusterStore) Clusters(context.Context, retry.Policy) ([]string, error) {
	return slices.Sorted(maps.Keys(c.clusters)), nil
}

func (c *clusterStore) WithCluster(name string) storeio.Store { return c.clusters[name] }
