package source

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/tools/cache"

	"github.com/pod-ashiato/ashiato/src/record"
)

// handler turns the informer's notifications into records. client-go calls
// it from one goroutine, so moves needs no lock; mu orders its sends with the
// snapshot's.
type handler struct {
	ctx     context.Context
	out     chan<- record.Placement
	now     func() time.Time
	tracked *atomic.Int64
	moves   *nodeMemory

	// mu is held from reading a pod to sending it. The cache is updated before
	// the handler hears of the change, so a snapshot that read a pod's previous
	// state has sent it before the handler can send the change: a snapshot
	// record never follows the record of a newer state (nor a pod's deletion).
	mu sync.Mutex
}

func (h *handler) onAdd(obj any, isInInitialList bool) {
	c, ok := obj.(*cachedPod)
	if !ok {
		return
	}
	h.tracked.Add(1)
	if isInInitialList {
		h.send(func(now time.Time) (record.Placement, bool) { return c.record(now, record.EventSnapshot), true })
		return
	}
	if c.node() != "" {
		h.bound(c)
	}
}

func (h *handler) onUpdate(oldObj, newObj any) {
	old, ok1 := oldObj.(*cachedPod)
	c, ok2 := newObj.(*cachedPod)
	if !ok1 || !ok2 {
		return
	}
	switch {
	case old.uid() != c.uid():
		// Only a new state after a broken watch does this: the pod was deleted
		// and another was created under its name while nobody was watching.
		h.gone(old)
		if c.node() != "" {
			h.bound(c)
		}
	case c.node() == "":
	case old.node() == "":
		h.bound(c)
	case old.node() != c.node() || old.podIP() != c.podIP() || old.hostIP() != c.hostIP() || old.phase() != c.phase():
		h.send(func(now time.Time) (record.Placement, bool) { return c.record(now, record.EventUpdated), true })
	}
	// Anything else (labels, conditions, an unchanged pod in a new listing) is
	// no event: the next snapshot carries it.
}

func (h *handler) onDelete(obj any) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		// Deleted while the watch was down: found missing by the new listing.
		obj = tombstone.Obj
	}
	c, ok := obj.(*cachedPod)
	if !ok {
		return
	}
	h.tracked.Add(-1)
	h.gone(c)
}

// bound sends a pod that now has a node: moved if the last pod of its name
// was elsewhere, else scheduled.
func (h *handler) bound(c *cachedPod) {
	h.send(func(now time.Time) (record.Placement, bool) {
		p := c.record(now, record.EventScheduled)
		if prev, ok := h.moves.take(c.key(), now); ok && prev != c.node() {
			p.Event, p.PreviousNode = record.EventMoved, prev
		}
		return p, true
	})
}

// gone sends a deleted pod's last placement and remembers its node. A pod that
// never had a node is not sent, and leaves an earlier pod's node remembered.
func (h *handler) gone(c *cachedPod) {
	if c.node() == "" {
		return
	}
	h.send(func(now time.Time) (record.Placement, bool) {
		h.moves.remember(c.key(), c.node(), now)
		return c.record(now, record.EventDeleted), true
	})
}

// send builds a record under h.mu, with the time it is sent at, and sends it
// unless ctx has ended. It never blocks past ctx.
func (h *handler) send(build func(now time.Time) (record.Placement, bool)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := build(h.now())
	if !ok {
		return
	}
	select {
	case h.out <- p:
	case <-h.ctx.Done():
	}
}
