package oracle

import (
	"time"

	"github.com/pod-ashiato/ashiato/src/store"
)

// stay is one pod on one node, from b (bound) to d (deleted or moved; zero
// while it is still there). Times are the fake clock's, possibly fractional.
type stay struct {
	node string
	b, d time.Time
}

// death is a process that ended without its last flush: good is the tick of
// its last complete flush, at when it died (and its successor started).
type death struct{ good, at time.Time }

// span is a closed interval of whole seconds.
type span struct{ from, to time.Time }

func (s span) has(t time.Time) bool { return !t.Before(s.from) && !t.After(s.to) }

func (s span) overlaps(o span) bool { return !s.to.Before(o.from) && !o.to.Before(s.from) }

// truth is the generator's ground truth: every stay of every pod, and the
// shadows of the faults under which docs/storage.md's guarantee does not promise
// presence.
type truth struct {
	stays   map[string][]*stay // pod name → stays, in time order
	live    map[string]*stay   // pod name → its current stay
	shadows []span
	deaths  []death
	marks   []time.Time // instants worth sampling: every bind, deletion and move
	end     time.Time   // when recording stopped; open stays end here
}

func newTruth() *truth {
	return &truth{stays: map[string][]*stay{}, live: map[string]*stay{}}
}

func (t *truth) bind(pod, node string, at time.Time) {
	s := &stay{node: node, b: at}
	t.stays[pod] = append(t.stays[pod], s)
	t.live[pod] = s
	t.marks = append(t.marks, at)
}

func (t *truth) remove(pod string, at time.Time) {
	t.live[pod].d = at
	delete(t.live, pod)
	t.marks = append(t.marks, at)
}

// seconds is the stay as the store can know it: whole seconds, closed (the
// store truncates observation times, and the deletion is observed at d).
func (t *truth) seconds(s *stay) span {
	d := s.d
	if d.IsZero() {
		d = t.end
	}
	return span{s.b.Truncate(time.Second), d.Truncate(time.Second)}
}

// on reports whether pod was on node at some moment of the second T.
func (t *truth) on(pod, node string, T time.Time) bool {
	for _, s := range t.stays[pod] {
		d := s.d
		if d.IsZero() {
			d = t.end
		}
		if s.node == node && s.b.Before(T.Add(time.Second)) && d.After(T) {
			return true
		}
	}
	return false
}

// shadowed reports whether T lies where a fault voids the promise.
func (t *truth) shadowed(T time.Time) bool {
	for _, sh := range t.shadows {
		if sh.has(T) {
			return true
		}
	}
	return false
}

// must: docs/storage.md's "never a false absence" — the pod was on the node at T and
// no fault's shadow covers T.
func (t *truth) must(pod, node string, T time.Time) bool {
	return t.on(pod, node, T) && !t.shadowed(T)
}

// may: docs/storage.md's "at most these false presences" — the answer may list the
// pod at T (in hour H) if it was on the node at some second of [H−5m, T] (a
// stay of T's hour, or one that ended in the last step of the hour before)
// and at some second of hour H, with that stay ending no more than
// LastSeenStep before T (last seen's precision); the two may be one stay.
func (t *truth) may(pod, node string, T time.Time) bool {
	H := store.HourOf(T)
	before, inHour := false, false
	for _, s := range t.stays[pod] {
		if s.node != node {
			continue
		}
		sec := t.seconds(s)
		if sec.overlaps(span{H.Add(-store.LastSeenStep), T}) {
			before = true
		}
		if sec.overlaps(span{H, H.Add(time.Hour - time.Second)}) && !sec.to.Add(store.LastSeenStep).Before(T) {
			inHour = true
		}
	}
	return (before && inHour) || t.storedRunning(pod, node, T)
}

// storedRunning is docs/storage.md's "after a kill the other way round": a pod
// running at a dead process's last complete flush, stored as still running
// (last seen = the hour's last second), that left before the restart, may be
// listed until the end of that hour.
func (t *truth) storedRunning(pod, node string, T time.Time) bool {
	for _, dd := range t.deaths {
		end := store.HourOf(dd.good).Add(time.Hour - time.Second)
		if T.After(end) {
			continue
		}
		for _, s := range t.stays[pod] {
			if s.node == node && s.b.Before(dd.good) && !s.d.IsZero() && s.d.After(dd.good) && !s.d.After(dd.at) && !T.Before(s.d.Truncate(time.Second)) {
				return true
			}
		}
	}
	return false
}

// rowMust: a `history pod` row for (node, hour) is required when the pod was
// on the node at some second of the hour outside every shadow.
func (t *truth) rowMust(pod, node string, H time.Time) bool {
	for _, s := range t.stays[pod] {
		if s.node != node {
			continue
		}
		sec := t.seconds(s)
		from, to := maxTime(sec.from, H), minTime(sec.to, H.Add(time.Hour-time.Second))
		for T := from; !T.After(to); T = T.Add(time.Second) {
			if t.must(pod, node, T) {
				return true
			}
		}
	}
	return false
}

// rowMay: a row for (node, hour) may exist when the pod was on the node at
// some second of the hour (its deletion, observed at d, included).
func (t *truth) rowMay(pod, node string, H time.Time) bool {
	return t.within(pod, node, span{H, H.Add(time.Hour - time.Second)})
}

// within reports whether the pod was on the node at some second of sp.
func (t *truth) within(pod, node string, sp span) bool {
	for _, s := range t.stays[pod] {
		if s.node == node && t.seconds(s).overlaps(sp) {
			return true
		}
	}
	return false
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
