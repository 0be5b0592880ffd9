package main

import (
	"runtime/debug"
	"strconv"
)

// defaultGCPercent is the collector's growth (GOGC) when the environment sets
// none. The recorder's heap is mostly its watch cache and the store's index,
// live for the whole run, and once synced it allocates little; the Go default
// (100) lets the heap, and so RSS, grow to twice that live heap between two
// collections, for garbage that barely exists. At this setting RSS stays
// close to what is live, for a little more CPU during the initial listing
// (docs/benchmarks.md, "where the soak's memory goes"). GOGC, and
// GOMEMLIMIT for a ceiling, still apply when set.
const defaultGCPercent = 50

// setGCDefaults applies defaultGCPercent unless GOGC is set, and returns the
// growth in effect.
func setGCDefaults(getenv func(string) string) int {
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
