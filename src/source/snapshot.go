package source

import (
	"context"
	"time"

	"k8s.io/client-go/tools/cache"

	"github.com/pod-ashiato/ashiato/src/record"
)

// Snapshots says which of the periodic snapshots from the cache are printed.
type Snapshots string

const (
	// SnapshotsEveryInterval prints every one, as the original tool printed
	// every pod every --interval.
	SnapshotsEveryInterval Snapshots = "interval"
	// SnapshotsHourly prints the first one of each UTC hour, the hour a
	// history ConfigMap starts; the others are sent StoreOnly (with StoreSeen)
	// or not at all. What changes is printed when it happens either way.
	SnapshotsHourly Snapshots = "hour"
)

// hourOf is the UTC hour t falls in, the store's bucket.
func hourOf(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// snapshots marks the source synced once the initial snapshot has been sent,
// then sends a snapshot of the cache every Interval when it is printed, and
// otherwise (with StoreSeen) one EventSeen record: the cache holds every pod
// the handler has not reported gone, so one record tells the store what
// re-sending each of them did, without a record per pod per Interval.
func (w *Watch) snapshots(ctx context.Context, store cache.Store, synced cache.DoneChecker, h *handler) {
	select {
	case <-ctx.Done():
		return
	case <-synced.Done():
	}
	if w.Interval <= 0 {
		w.markSynced()
		return
	}
	// The ticker exists before Synced reports true, so whoever sees Synced
	// (a test moving a fake clock) knows the next snapshot is one Interval
	// after the initial one.
	printed := hourOf(w.now()) // the initial snapshot's hour
	t := w.clock().NewTicker(w.Interval)
	defer t.Stop()
	w.markSynced()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		hour := hourOf(w.now())
		print := w.Snapshots != SnapshotsHourly || hour != printed
		n := w.Tracked()
		switch {
		case print:
			n = h.snapshot(store)
			printed = hour
			w.log().WithField("pods", n).Debug("snapshot sent")
		case w.StoreSeen:
			h.send(func(now time.Time) (record.Placement, bool) {
				return record.Placement{Namespace: w.Selection.Namespace, Timestamp: now.UTC(), Event: record.EventSeen, StoreOnly: true}, true
			})
			w.log().WithField("pods", n).Debug("every pod seen, told to the store")
		}
		if w.OnSnapshot != nil {
			w.OnSnapshot(n)
		}
	}
}

func (w *Watch) markSynced() {
	w.synced.Store(true)
	w.log().WithField("pods", w.Tracked()).Info("pod cache synced, initial snapshot sent")
	if w.OnSnapshot != nil {
		w.OnSnapshot(w.Tracked())
	}
}

// snapshot sends every pod of the cache and returns how many it sent.
func (h *handler) snapshot(store cache.Store) int {
	sent := 0
	for _, key := range store.ListKeys() {
		if h.ctx.Err() != nil {
			break
		}
		h.send(func(now time.Time) (record.Placement, bool) {
			obj, exists, err := store.GetByKey(key)
			c, ok := obj.(*cachedPod)
			if err != nil || !exists || !ok {
				return record.Placement{}, false // deleted since ListKeys
			}
			sent++
			return c.record(now, record.EventSnapshot), true
		})
	}
	return sent
}
