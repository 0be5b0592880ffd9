package sink

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
	"github.com/pod-ashiato/ashiato/src/storeread"
)

// objectMeta is what the sink keeps of a stored object instead of the object:
// enough to write it with the right version, to keep what others put on it,
// and to know whether its content would change.
type objectMeta struct {
	version     string
	sum         [sha256.Size]byte // contentSum of what it holds
	labels      map[string]string // others' (Shard.Labels)
	annotations map[string]string
}

// flushHour writes the hour as the sink knows it at ref: encode, then write
// the objects whose content differs from what is stored, each with the
// version the sink last saw. A Conflict, AlreadyExists or NotFound
// means the store is not what the sink thinks: read it, merge, and again.
func (s *Writer) flushHour(ctx context.Context, x *hourIndex, policy retry.Policy, ref time.Time, final bool) error {
	since := x.offset(ref.Add(-s.stale()))
	for range maxConflicts {
		x.mu.Lock()
		loaded := x.loaded
		x.mu.Unlock()
		if !loaded {
			if err := s.load(ctx, x, policy); err != nil {
				return err
			}
		}
		sn := x.snapshot()
		h, openN := sn.hour(since, final)
		want, err := store.Encode(h, x.storedShards())
		h = nil
		if err != nil {
			return fmt.Errorf("encoding: %w", err)
		}
		s.shards.Store(int64(len(want)))
		err = s.write(ctx, x, want, policy)
		if errors.Is(err, errConflict) {
			x.mu.Lock()
			x.loaded = false
			x.mu.Unlock()
			continue
		}
		if err == nil {
			x.flushedGen, x.openCount = sn.gen, openN
		}
		return err
	}
	return fmt.Errorf("%w: lost %d races with another writer", errConflict, maxConflicts)
}

// storedShards is the shard count to pass to Encode: the highest shard known
// to be stored, so a growth another writer (or this one) left half done is
// completed, never undone.
func (x *hourIndex) storedShards() int {
	n := 0
	for name := range x.objects {
		if _, shard, ok := store.ParseName(name); ok {
			n = max(n, shard+1)
		}
	}
	return n
}

// load reads the hour's objects, remembers their versions and content,
// and merges what they hold into the index.
func (s *Writer) load(ctx context.Context, x *hourIndex, policy retry.Policy) error {
	stored, err := storeread.ReadHour(ctx, s.Store, x.start, policy)
	if err != nil {
		return err
	}
	x.objects = make(map[string]objectMeta, len(stored))
	for i := range stored {
		x.objects[stored[i].Name] = metaOf(&stored[i])
	}
	h, _, warnings := store.Decode(ctx, x.start, stored)
	for _, w := range warnings {
		s.log().WithFields(logrus.Fields{"object": w.Object, "key": w.Key}).Warnf("damaged value in the store, left out: %s", w.Reason)
	}
	x.merge(h)
	x.mu.Lock()
	x.loaded = true
	x.mu.Unlock()
	return nil
}

// write creates or updates each wanted object whose content differs from the
// stored one, highest shard first and shard 0 last, so that every state in
// between two writes holds every placement already stored (store/doc.go,
// "Writing"): when an hour grows from n to m shards, a pod either stays in its
// shard or moves to a new one (index n or more, since m is a multiple of n),
// and the new shards are all written before any stored one is rewritten
// without the pods that left it. Shard 0, which carries the count, goes last.
// A failure at any point (a refused create, a kill) leaves a complete hour,
// which the next flush, by this or any writer, completes.
func (s *Writer) write(ctx context.Context, x *hourIndex, want []*storeio.Shard, policy retry.Policy) error {
	objs := s.Store
	for i := len(want) - 1; i >= 0; i-- {
		cm := want[i]
		sum := contentSum(cm)
		old, known := x.objects[cm.Name]
		if known && old.sum == sum {
			continue
		}
		var got *storeio.Shard
		err := retry.Do(ctx, policy, "writing "+cm.Name, func(ctx context.Context) error {
			var err error
			if !known {
				got, err = objs.Create(ctx, cm)
			} else {
				update := *cm
				update.Version = old.version
				// Keep what others put on the object (labels, annotations of their own).
				update.Labels = union(old.labels, cm.Labels)
				update.Annotations = union(old.annotations, cm.Annotations)
				got, err = objs.Update(ctx, &update)
			}
			return err
		})
		if s.Observe != nil {
			s.Observe(Write{Object: cm.Name, Bytes: cm.Size(), Err: err})
		}
		switch {
		case errors.Is(err, storeio.ErrConflict), errors.Is(err, storeio.ErrAlreadyExists), known && errors.Is(err, storeio.ErrNotFound):
			return errConflict
		case err != nil:
			return err
		}
		meta := objectMeta{sum: sum, labels: cm.Labels, annotations: cm.Annotations}
		if got != nil {
			meta.version, meta.labels, meta.annotations = got.Version, got.Labels, got.Annotations
		}
		x.objects[cm.Name] = meta
	}
	return nil
}

func metaOf(cm *storeio.Shard) objectMeta {
	return objectMeta{version: cm.Version, sum: contentSum(cm), labels: cm.Labels, annotations: cm.Annotations}
}

// contentSum hashes what store.SameContent compares: data, binaryData, the
// hour and shard marks and the annotations the store owns. The sink keeps the
// sum, not the bytes, of what it wrote.
func contentSum(cm *storeio.Shard) [sha256.Size]byte {
	h := sha256.New()
	field := func(k, v string) {
		fmt.Fprintf(h, "%d:%s%d:", len(k), k, len(v))
		h.Write([]byte(v))
	}
	labels := store.Labels(cm)
	for _, k := range []string{store.LabelApp, store.LabelType, store.LabelHour, store.LabelShard} {
		field("l/"+k, labels[k])
	}
	for _, k := range []string{store.AnnotationFormat, store.AnnotationShards} {
		field("a/"+k, cm.Annotations[k])
	}
	for _, k := range slices.Sorted(maps.Keys(cm.Data)) {
		field("d/"+k, cm.Data[k])
	}
	for _, k := range slices.Sorted(maps.Keys(cm.BinaryData)) {
		fmt.Fprintf(h, "%d:b/%s%d:", len(k)+2, k, len(cm.BinaryData[k]))
		h.Write(cm.BinaryData[k])
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}
