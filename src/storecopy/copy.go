// Package storecopy copies the history from one store to another (the
// ConfigMap store into S3, `ashiato store copy`), hour by hour, through the
// codec: what is copied reads back as it was, an hour already copied is
// skipped, and an hour the target already holds differently is merged, never
// overwritten.
package storecopy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
	"github.com/pod-ashiato/ashiato/src/storeread"
)

// maxRounds bounds the read-merge-write rounds of one hour against writers
// of the target racing the copy.
const maxRounds = 10

// Summary is what a copy did.
type Summary struct {
	Hours    int // hours of the source
	Copied   int // written to a target that had none of them
	Merged   int // the target held the hour differently: merged and written
	Skipped  int // the target already held the same content
	Objects  int // objects written
	Bytes    int // bytes of values written
	Pods     int // placements' pods over every hour copied or merged
	Warnings int // damaged values of the source, left out
}

func (s Summary) String() string {
	return fmt.Sprintf("hours=%d copied=%d merged=%d skipped=%d objects_written=%d bytes_written=%d pods=%d warnings=%d",
		s.Hours, s.Copied, s.Merged, s.Skipped, s.Objects, s.Bytes, s.Pods, s.Warnings)
}

// Copier copies every hour of From into To.
type Copier struct {
	From, To storeio.Store
	Retry    retry.Policy
	// Warn is told about each damaged value of the source (left out).
	Warn func(store.Warning)
	// Hour, when set, is told about each hour once it is done and how.
	Hour func(hour time.Time, outcome string)
}

// Run copies, oldest hour first, and returns what it did; it stops at the
// first error (a later run carries on: done hours are skipped).
//
// Pod Ashiato's hours are copied as stored, shard by shard; the original
// tool's objects (no hour label) are re-encoded through the codec, since the
// target has no such form.
func (c *Copier) Run(ctx context.Context) (Summary, error) {
	var sum Summary
	legacy := map[time.Time]bool{}
	if u, ok := c.From.(storeio.Unlabelled); ok {
		err := u.ListUnlabelled(ctx, 0, c.Retry, "listing the source's original objects", func(cm *storeio.Shard) {
			if hour, shard, ok := store.ParseName(cm.Name); ok && shard == 0 {
				legacy[hour] = true
			}
		})
		if err != nil {
			return sum, fmt.Errorf("listing %s: %w", c.From, err)
		}
	}
	var (
		group     []storeio.Shard
		groupHour time.Time
		failed    error
	)
	flush := func() {
		if failed == nil && len(group) > 0 {
			failed = c.hour(ctx, groupHour, group, &sum)
			delete(legacy, groupHour)
		}
		group = nil
	}
	err := c.From.ListHours(ctx, time.Time{}, time.Time{}, 0, c.Retry, "listing the source", func(cm *storeio.Shard) {
		hour, _, ok := store.ParseName(cm.Name)
		if !ok || failed != nil {
			return
		}
		if !hour.Equal(groupHour) {
			flush()
			groupHour = hour
		}
		if !slices.ContainsFunc(group, func(o storeio.Shard) bool { return o.Name == cm.Name }) {
			group = append(group, *cm)
		}
	})
	if err != nil {
		return sum, fmt.Errorf("listing %s: %w", c.From, err)
	}
	flush()
	if failed != nil {
		return sum, failed
	}
	for _, hour := range slices.SortedFunc(func(yield func(time.Time) bool) {
		for h := range legacy {
			if !yield(h) {
				return
			}
		}
	}, time.Time.Compare) {
		cm, err := storeread.Get(ctx, c.From, store.NameFor(hour), c.Retry)
		if err != nil {
			return sum, fmt.Errorf("reading %s: %w", store.NameFor(hour), err)
		}
		if cm == nil {
			continue
		}
		if err := c.hour(ctx, hour, []storeio.Shard{*cm}, &sum); err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// hour copies one hour's source objects.
func (c *Copier) hour(ctx context.Context, hour time.Time, src []storeio.Shard, sum *Summary) error {
	sum.Hours++
	h, _, warnings := store.Decode(ctx, hour, src)
	for _, w := range warnings {
		sum.Warnings++
		if c.Warn != nil {
			c.Warn(w)
		}
	}
	want, err := c.asStored(h, src)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", store.NameFor(hour), err)
	}
	for range maxRounds {
		target, err := storeread.ReadHour(ctx, c.To, hour, c.Retry)
		if err != nil {
			return fmt.Errorf("reading %s from %s: %w", store.NameFor(hour), c.To, err)
		}
		outcome := "copied"
		if len(target) > 0 {
			if same(want, target) {
				sum.Skipped++
				c.done(hour, "skipped")
				return nil
			}
			// The target holds the hour otherwise: merge both through the
			// codec, keeping every placement of each.
			outcome = "merged"
			merged, _, _ := store.Decode(ctx, hour, target)
			merged.Merge(h)
			if want, err = store.Encode(merged, shardsOf(target)); err != nil {
				return fmt.Errorf("encoding %s: %w", store.NameFor(hour), err)
			}
			if same(want, target) {
				sum.Skipped++
				c.done(hour, "skipped")
				return nil
			}
		}
		written, bytes, err := c.write(ctx, want, target)
		sum.Objects += written
		sum.Bytes += bytes
		if errors.Is(err, storeio.ErrConflict) || errors.Is(err, storeio.ErrAlreadyExists) || errors.Is(err, storeio.ErrNotFound) {
			continue // a writer of the target raced the copy: read again
		}
		if err != nil {
			return fmt.Errorf("writing %s to %s: %w", store.NameFor(hour), c.To, err)
		}
		if outcome == "copied" {
			sum.Copied++
		} else {
			sum.Merged++
		}
		sum.Pods += len(h.Pods)
		c.done(hour, outcome)
		return nil
	}
	return fmt.Errorf("writing %s to %s: lost %d races with another writer", store.NameFor(hour), c.To, maxRounds)
}

func (c *Copier) done(hour time.Time, outcome string) {
	if c.Hour != nil {
		c.Hour(hour, outcome)
	}
}

// asStored is what the target should hold: the source's shards as they are
// (hour and shard marks, labels, the annotations the store owns, and the
// values), or, for the original tool's object, the hour encoded afresh.
func (c *Copier) asStored(h *store.Hour, src []storeio.Shard) ([]*storeio.Shard, error) {
	for _, cm := range src {
		if cm.Legacy {
			return store.Encode(h, 0)
		}
	}
	out := make([]*storeio.Shard, 0, len(src))
	for _, cm := range src {
		copied := &storeio.Shard{Name: cm.Name, Hour: cm.Hour, Index: cm.Index, Labels: maps.Clone(cm.Labels), Data: cm.Data, BinaryData: cm.BinaryData}
		copied.Annotations = map[string]string{}
		for k, v := range cm.Annotations {
			if strings.HasPrefix(k, "pod-ashiato/") {
				copied.Annotations[k] = v
			}
		}
		out = append(out, copied)
	}
	slices.SortFunc(out, func(a, b *storeio.Shard) int { return shardIndex(a.Name) - shardIndex(b.Name) })
	return out, nil
}

// write puts each wanted object whose content differs from the target's,
// highest shard first and shard 0 last (store/doc.go, "Writing"), each
// conditional on what was read.
func (c *Copier) write(ctx context.Context, want []*storeio.Shard, target []storeio.Shard) (written, bytes int, err error) {
	have := map[string]*storeio.Shard{}
	for i := range target {
		have[target[i].Name] = &target[i]
	}
	for i := len(want) - 1; i >= 0; i-- {
		cm := want[i]
		old := have[cm.Name]
		if old != nil && store.SameContent(cm, old) {
			continue
		}
		err := retry.Do(ctx, c.Retry, "writing "+cm.Name, func(ctx context.Context) error {
			var err error
			if old == nil {
				_, err = c.To.Create(ctx, cm)
			} else {
				update := *cm
				update.Version = old.Version
				_, err = c.To.Update(ctx, &update)
			}
			return err
		})
		if err != nil {
			return written, bytes, err
		}
		written++
		bytes += cm.Size()
	}
	return written, bytes, nil
}

// same reports whether the target holds exactly the wanted objects.
func same(want []*storeio.Shard, target []storeio.Shard) bool {
	if len(want) != len(target) {
		return false
	}
	for _, w := range want {
		i := slices.IndexFunc(target, func(t storeio.Shard) bool { return t.Name == w.Name })
		if i < 0 || !store.SameContent(w, &target[i]) {
			return false
		}
	}
	return true
}

// shardsOf is the shard count to encode a merge with: the highest shard
// present, so a growth is never undone.
func shardsOf(objs []storeio.Shard) int {
	n := 0
	for _, o := range objs {
		n = max(n, shardIndex(o.Name)+1)
	}
	return n
}

func shardIndex(name string) int {
	_, shard, _ := store.ParseName(name)
	return shard
}
