package source

import (
	"context"
	"time"

	"k8s.io/client-go/tools/cache"

	"github.com/pod-ashiato/ashiato/src/record"
)

// snapshots marks the source synced once the initial snapshot has been sent,
// then sends a snapshot of the cache every Interval.
func (w *Watch) snapshots(ctx context.Context, store cache.Store, synced cache.DoneChecker, h *handler) {
	select {
	case <-ctx.Done():
		return
	case <-synced.Done():
	}
	w.synced.Store(true)
	w.log().WithField("pods", w.Tracked()).Info("pod cache synced, initial snapshot sent")
	if w.OnSnapshot != nil {
		w.OnSnapshot(w.Tracked())
	}
	if w.Interval <= 0 {
		return
	}
	t := w.clock().NewTicker(w.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		n := h.snapshot(store)
		w.log().WithField("pods", n).Debug("snapshot sent")
		if w.OnSnapshot != nil {
			w.OnSnapshot(n)
		}
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
