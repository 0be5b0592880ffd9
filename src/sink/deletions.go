package sink

import (
	"sync"

	"github.com/pod-ashiato/ashiato/src/store"
)

// deletions collects the names of store objects deleted by someone else. The
// sink never reads the store in steady state, so without this a hand-deleted
// hour would stay gone until one of its pods changed; with it the next flush
// writes the deleted objects again, whole, from the sink's index.
type deletions struct {
	mu    sync.Mutex
	names map[string]bool
}

func (d *deletions) add(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.names == nil {
		d.names = map[string]bool{}
	}
	d.names[name] = true
}

func (d *deletions) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.names)
}

func (d *deletions) take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.names))
	for n := range d.names {
		out = append(out, n)
	}
	d.names = nil
	return out
}

// forgetDeleted makes the hours of the deleted objects write them again: the
// sink no longer believes they are stored. Called only while no flush runs,
// since the flush goroutine owns each index's objects.
func (st *state) forgetDeleted(names []string) {
	for _, name := range names {
		hour, _, ok := store.ParseName(name)
		if !ok {
			continue
		}
		st.mu.Lock()
		x := st.hours[hour]
		st.mu.Unlock()
		if x == nil {
			continue // an hour the sink no longer holds (retention, or long past)
		}
		if _, known := x.objects[name]; !known {
			continue
		}
		delete(x.objects, name)
		x.mu.Lock()
		x.gen++
		x.mu.Unlock()
	}
}
