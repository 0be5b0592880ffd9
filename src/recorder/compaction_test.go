package recorder

import (
	"testing"
	"time"
)

// TestSettled: compaction's first pass waits for the first flush a whole
// interval after the first that found the source synced, not for the first
// flush (which may come in the middle of the initial snapshot).
func TestSettled(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	every := 30 * time.Second
	type flush struct {
		after  time.Duration
		synced bool
	}
	for _, tc := range []struct {
		name    string
		flushes []flush
		settled bool
	}{
		{"nothing synced", []flush{{0, false}, {30 * time.Second, false}, {time.Minute, false}}, false},
		{"the first flush after the sync", []flush{{0, false}, {30 * time.Second, true}}, false},
		{"an interval after it", []flush{{0, false}, {30 * time.Second, true}, {time.Minute, true}}, true},
		{"a quicker flush after it", []flush{{30 * time.Second, true}, {40 * time.Second, true}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStored()
			for _, f := range tc.flushes {
				s.flushed(t0.Add(f.after), f.synced, every)
			}
			select {
			case <-s.settled:
				if !tc.settled {
					t.Error("settled, want not yet")
				}
			default:
				if tc.settled {
					t.Error("not settled, want settled")
				}
			}
			if last := tc.flushes[len(tc.flushes)-1]; !s.upTo().Equal(t0.Add(last.after)) {
				t.Errorf("upTo = %v, want the last flush %v", s.upTo(), t0.Add(last.after))
			}
		})
	}
}
