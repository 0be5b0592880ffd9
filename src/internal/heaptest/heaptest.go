// Package heaptest measures the live heap for tests that pin what a structure
// costs in memory.
package heaptest

import (
	"runtime"
	"time"
)

// Settled is the heap once the garbage of earlier tests (goroutines still
// winding down) has settled: collected until two readings agree within
// 64 KiB, or after 20 tries.
func Settled() uint64 {
	var m runtime.MemStats
	prev := uint64(0)
	for range 20 {
		runtime.GC()
		runtime.ReadMemStats(&m)
		if d := int64(m.HeapAlloc) - int64(prev); d > -64<<10 && d < 64<<10 {
			break
		}
		prev = m.HeapAlloc
		time.Sleep(20 * time.Millisecond)
	}
	return m.HeapAlloc
}
