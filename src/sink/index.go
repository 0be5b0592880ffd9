package sink

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/store"
)

// lastSecond is the hour's last second, the Last a placement still running
// is written with (store/doc.go, "Times").
const lastSecond = uint16(time.Hour/time.Second - 1)

// Flags of a placement in the sink's memory.
const (
	// unknownTimes: read from an hour the original tool wrote.
	unknownTimes uint8 = 1 << iota
	// ended: the pod was seen leaving the node (deleted, or seen on another).
	ended
	// claimed: read from the store as still running (Last at the hour's last
	// second) and not observed by this sink since; it stays written so.
	claimed
	// fromStore: read from the store with its true last seen (the pod had left,
	// as far as the writer knew) and not observed by this sink since. Only
	// what this sink observed running is renewed by an EventSeen.
	fromStore
)

// seen is one placement in the sink's memory: node interned, times as
// seconds into the hour. Twelve bytes instead of the decoded hour's
// sixty-four (a string and two time.Time values).
type seen struct {
	node  uint32
	first uint16
	last  uint16 // the last observation
	flags uint8
}

// podEntry is a pod of the hour: its placement, and its owner. Nearly every
// pod has one placement in an hour; the few with more (moved, or recreated
// elsewhere) have all of them, one first, in hourIndex.more, so that the
// entry of every other pod carries no slice.
type podEntry struct {
	one   seen
	owner uint32 // index+1 into hourIndex.owners, 0 for none
}

// placements is the pod's list of placements. The list is shared (with a
// flush's snapshot): change a copy, and set it.
func placements(more map[store.PodRef][]seen, ref store.PodRef, e podEntry) []seen {
	if list, ok := more[ref]; ok {
		return list
	}
	return []seen{e.one}
}

// set makes list the pod's placements. Callers hold x.mu.
func (x *hourIndex) set(ref store.PodRef, e podEntry, list []seen) {
	e.one = list[0]
	if len(list) > 1 {
		x.more[ref] = list
	} else {
		delete(x.more, ref)
	}
	x.pods[ref] = e
}

// hourIndex is everything the sink knows of one hour: what it observed and
// what it read from the store. It is the authority the hour's objects are
// encoded from, so the sink never reads the hour back to write it (only at
// start and after a Conflict or NotFound), and an object deleted by hand is
// written again whole. mu guards every field above the line; the flush
// goroutine owns the ones below it.
type hourIndex struct {
	mu      sync.Mutex
	start   time.Time
	pods    map[store.PodRef]podEntry
	more    map[store.PodRef][]seen // the pods with more than one placement: all of them
	nodes   []string
	nodeIDs map[string]uint32
	owners  []store.Owner
	ownerID map[store.Owner]uint32
	events  *store.Hour // node events only
	gen     uint64      // bumped by every change the encoding shows
	loaded  bool        // the store's content is merged in (or the hour is new)

	// The flush goroutine's.
	flushedGen uint64
	openCount  int                   // placements written as still running
	objects    map[string]objectMeta // what the store holds, as last read or written
}

func newHourIndex(start time.Time, fresh bool) *hourIndex {
	return &hourIndex{
		start: start, pods: map[store.PodRef]podEntry{}, more: map[store.PodRef][]seen{}, nodeIDs: map[string]uint32{},
		ownerID: map[store.Owner]uint32{}, events: store.NewHour(start), loaded: fresh,
		objects: map[string]objectMeta{},
	}
}

func (x *hourIndex) node(name string) uint32 {
	if id, ok := x.nodeIDs[name]; ok {
		return id
	}
	id := uint32(len(x.nodes))
	x.nodes = append(x.nodes, name)
	x.nodeIDs[name] = id
	return id
}

func (x *hourIndex) offset(t time.Time) uint16 {
	off := min(max(t.Sub(x.start)/time.Second, 0), time.Duration(lastSecond))
	return uint16(off)
}

// add files one record. A pod seen on a node ends its other placements of
// the hour; a deletion ends the one it names.
func (x *hourIndex) add(r record.Placement, stale time.Duration) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if r.Event.IsNode() {
		if x.events.AddNodeEvent(store.NodeEvent{Node: r.Node, At: r.Timestamp, Event: string(r.Event), Reason: r.Reason}) {
			x.gen++
		}
		if x.events.SetNodeLabels(r.Node, r.NodeLabels) {
			x.gen++
		}
		return
	}
	ref := store.PodRef{Namespace: r.Namespace, Name: r.Pod}
	at := x.offset(r.Timestamp)
	staleBefore := x.offset(r.Timestamp.Add(-stale))
	id := x.node(r.Node)
	e, ok := x.pods[ref]
	_, multi := x.more[ref]
	if ok && !multi && e.one.node == id && e.one.flags == 0 && r.Event != record.EventDeleted && at >= e.one.first {
		// The steady state: a running pod seen again where it was.
		if e.one.last < staleBefore {
			x.gen++ // written with its last seen; running again
		}
		e.one.last = max(e.one.last, at)
		x.pods[ref] = e
		x.setOwner(ref, r)
		return
	}
	var list []seen
	if ok {
		list = slices.Clone(placements(x.more, ref, e))
	}
	changed := false
	found := false
	for i := range list {
		s := &list[i]
		if s.node != id {
			if s.flags&ended == 0 && s.flags&unknownTimes == 0 && r.Event != record.EventDeleted {
				s.flags |= ended
				changed = true
			}
			continue
		}
		found = true
		switch {
		case s.flags&unknownTimes != 0:
			*s = seen{node: id, first: at, last: at}
			changed = true
		default:
			if at < s.first {
				s.first, changed = at, true
			}
			if s.flags&(ended|claimed) != 0 || s.last < staleBefore {
				changed = true // written with its true last seen before; now running again
			}
			s.last = max(s.last, at)
			s.flags &^= ended | claimed | fromStore
		}
		if r.Event == record.EventDeleted {
			s.flags |= ended
			changed = true
		}
	}
	if !found {
		s := seen{node: id, first: at, last: at}
		if r.Event == record.EventDeleted {
			s.flags |= ended
		}
		list = append(list, s)
		changed = true
	}
	x.set(ref, e, list)
	if changed {
		x.gen++
	}
	x.setOwner(ref, r)
}

// seenAll files record.EventSeen: every pod of namespace (every pod when
// empty) that the sink holds as running where it was last seen is seen there
// again at t, exactly as if each had been sent again. Placements that ended,
// that the sink only read from the store (claimed, fromStore) or whose times are
// unknown are left as they are: the source did not send them, or said they
// left.
func (x *hourIndex) seenAll(namespace string, t time.Time, stale time.Duration) {
	x.mu.Lock()
	defer x.mu.Unlock()
	at := x.offset(t)
	staleBefore := x.offset(t.Add(-stale))
	for ref, e := range x.pods {
		if namespace != "" && ref.Namespace != namespace {
			continue
		}
		shared, multi := x.more[ref]
		if !multi {
			if e.one.flags != 0 || at < e.one.first || e.one.last >= at {
				continue
			}
			if e.one.last < staleBefore {
				x.gen++ // written with its last seen; running again
			}
			e.one.last = at
			x.pods[ref] = e
			continue
		}
		var list []seen // copied on write: a flush's snapshot may share it
		for i, s := range shared {
			if s.flags != 0 || at < s.first || s.last >= at {
				continue
			}
			if list == nil {
				list = slices.Clone(shared)
			}
			if s.last < staleBefore {
				x.gen++
			}
			list[i].last = at
		}
		if list != nil {
			x.set(ref, e, list)
		}
	}
}

// setOwner keeps the pod's first valid owner of the hour.
func (x *hourIndex) setOwner(ref store.PodRef, r record.Placement) {
	e := x.pods[ref]
	if e.owner != 0 || r.OwnerKind == "" {
		return
	}
	if o := (store.Owner{Kind: r.OwnerKind, Name: r.OwnerName}); o.Valid() {
		e.owner = x.ownerOf(o)
		x.pods[ref] = e
		x.gen++
	}
}

// len is the number of pods of the hour.
func (x *hourIndex) len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.pods)
}

func (x *hourIndex) ownerOf(o store.Owner) uint32 {
	if id, ok := x.ownerID[o]; ok {
		return id
	}
	x.owners = append(x.owners, o)
	id := uint32(len(x.owners))
	x.ownerID[o] = id
	return id
}

// merge adds what the store holds (h, decoded) to what the sink knows: a
// placement the sink observed keeps its last seen (it knows whether the pod
// is still there); one it did not takes the stored one, and a stored "still
// running" stays claimed until the sink sees otherwise.
func (x *hourIndex) merge(h *store.Hour) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for ref, stored := range h.Pods {
		e, ok := x.pods[ref]
		var list []seen
		if ok {
			list = slices.Clone(placements(x.more, ref, e))
		}
		for _, st := range stored {
			id := x.node(st.Node)
			i := slices.IndexFunc(list, func(s seen) bool { return s.node == id })
			if st.First.IsZero() {
				if i < 0 {
					list = append(list, seen{node: id, flags: unknownTimes})
				}
				continue
			}
			first, last := x.offset(st.First), x.offset(st.Last)
			if i < 0 {
				s := seen{node: id, first: first, last: last, flags: fromStore}
				if last == lastSecond {
					s.flags = claimed
				}
				list = append(list, s)
				continue
			}
			s := &list[i]
			if s.flags&unknownTimes != 0 {
				*s = seen{node: id, first: first, last: last}
				continue
			}
			s.first = min(s.first, first)
			if last != lastSecond {
				s.last = max(s.last, last)
			}
		}
		if len(list) == 0 {
			continue
		}
		if e.owner == 0 {
			if o, ok := h.Owner(ref); ok {
				e.owner = x.ownerOf(o)
			}
		}
		x.set(ref, e, list)
	}
	x.events.Merge(&store.Hour{Start: x.start, Nodes: h.Nodes, NodeLabels: h.NodeLabels})
	x.gen++
}

// snapshot is a copy of the hour at one generation, for the flush goroutine
// to encode without holding the lock while it writes.
type snapshot struct {
	start  time.Time
	pods   map[store.PodRef]podEntry
	more   map[store.PodRef][]seen
	nodes  []string
	owners []store.Owner
	events []store.NodeEvent
	labels map[string]map[string]string // node labels; never modified once set
	gen    uint64
}

// changed reports whether the hour needs writing at ref: something arrived
// since the last write, or a placement written as still running has not been
// seen for stale (it went without a record saying so). It scans under the
// lock; the scan is a few milliseconds for 150,000 pods.
func (x *hourIndex) changed(ref time.Time, stale time.Duration, final bool) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.gen != x.flushedGen || !x.loaded {
		return true
	}
	return countOpen(x.pods, x.more, x.offset(ref.Add(-stale)), final) != x.openCount
}

func (x *hourIndex) snapshot() *snapshot {
	x.mu.Lock()
	defer x.mu.Unlock()
	return &snapshot{
		start: x.start, pods: maps.Clone(x.pods), more: maps.Clone(x.more), nodes: x.nodes[:len(x.nodes):len(x.nodes)],
		owners: x.owners[:len(x.owners):len(x.owners)], events: slices.Clone(x.events.Nodes), labels: maps.Clone(x.events.NodeLabels), gen: x.gen,
	}
}

// open reports whether s is written as still running: the sink last saw it
// at or after since and did not see it leave; or the store said so and the
// sink has not seen it since. A final flush (the process stops) writes what
// it saw instead, except for the claims it cannot check.
func open(s seen, since uint16, final bool) bool {
	switch {
	case s.flags&claimed != 0:
		return true
	case s.flags&(ended|unknownTimes) != 0 || final:
		return false
	default:
		return s.last >= since
	}
}

func countOpen(pods map[store.PodRef]podEntry, more map[store.PodRef][]seen, since uint16, final bool) (n int) {
	for ref, e := range pods {
		list, multi := more[ref]
		if !multi {
			if open(e.one, since, final) {
				n++
			}
			continue
		}
		for _, s := range list {
			if open(s, since, final) {
				n++
			}
		}
	}
	return n
}

// hour builds the store's Hour to encode: a placement still running is
// written with the hour's last second as its last seen, any other with the
// last observation.
func (sn *snapshot) hour(since uint16, final bool) (*store.Hour, int) {
	h := store.NewHour(sn.start)
	h.Pods = make(map[store.PodRef][]store.Seen, len(sn.pods))
	h.Owners = map[store.PodRef]store.Owner{}
	openN := 0
	at := func(off uint16) time.Time { return sn.start.Add(time.Duration(off) * time.Second) }
	for ref, e := range sn.pods {
		list := placements(sn.more, ref, e)
		out := make([]store.Seen, 0, len(list))
		for _, s := range list {
			if s.flags&unknownTimes != 0 {
				out = append(out, store.Seen{Node: sn.nodes[s.node]})
				continue
			}
			last := s.last
			if open(s, since, final) {
				last, openN = lastSecond, openN+1
			}
			out = append(out, store.Seen{Node: sn.nodes[s.node], First: at(s.first), Last: at(last)})
		}
		store.SortSeen(out)
		h.Pods[ref] = out
		if e.owner != 0 {
			h.Owners[ref] = sn.owners[e.owner-1]
		}
	}
	h.Nodes, h.NodeLabels = sn.events, sn.labels
	return h, openN
}
