// Package heap sets the collector's defaults for a long-running recorder
// and returns a transient's leftover heap to the system.
package heap

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"time"

	"k8s.io/utils/clock"
)

// defaultGCPercent is the collector's growth (GOGC) when the environment sets
// none. The recorder's heap is mostly its watch cache and the store's index,
// live for the whole run, and once synced it allocates little: the Go default
// (100) lets the heap, and so RSS, grow to twice that live heap between two
// collections, for garbage that barely exists. At this setting RSS stays
// close to what is live, for some more CPU during the initial listing
// (docs/benchmarks.md, "where the soak's memory goes"). GOGC, and GOMEMLIMIT
// for a ceiling, still apply when set.
const defaultGCPercent = 25

// SetGCDefaults applies defaultGCPercent unless GOGC is set, and returns the
// growth in effect.
func SetGCDefaults(getenv func(string) string) int {
	if v := getenv("GOGC"); v != "" {
		if v == "off" {
			return -1
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 100 // the runtime ignores a GOGC it cannot read
		}
		return n
	}
	debug.SetGCPercent(defaultGCPercent)
	return defaultGCPercent
}

// releaseEvery is how often ReleaseMemory looks at the heap.
const releaseEvery = 30 * time.Second

// State is what ReleaseMemory reads of the runtime.
type State struct {
	live uint64 // the live heap, as of the last collection
	free uint64 // heap memory free but still held from the system
}

func ReadHeap() State {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/free:bytes"}}
	metrics.Read(s)
	var h State
	if s[0].Value.Kind() == metrics.KindUint64 {
		h.live = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		h.free = s[1].Value.Uint64()
	}
	return h
}

// tooMuchFree reports whether the heap holds more free memory than a
// collection cycle leaves (up to GOGC percent of the live heap): what is
// left of a transient such as the initial listing or the hourly snapshot
// and the writing of a new hour.
func tooMuchFree(h State) bool {
	return h.free > 16<<20 && h.free > h.live/2
}

// ReleaseMemory returns a transient's leftover heap to the system until ctx
// ends. The runtime's own scavenger gives it back too, but slowly and only
// down to a bound above the collector's target, which a past peak keeps high
// until later collections: minutes after the peak, RSS still carries much of
// it (docs/benchmarks.md). Releasing costs a collection, so it happens only
// when a transient left that much free.
func ReleaseMemory(ctx context.Context, clk clock.WithTicker, read func() State, release func()) {
	t := clk.NewTicker(releaseEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			if tooMuchFree(read()) {
				release()
			}
		}
	}
}
