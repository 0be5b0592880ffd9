package sink

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/internal/heaptest"
	"github.com/pod-ashiato/ashiato/src/record"
)

// maxIndexBytes is what TestIndexBytes allows the sink's index to cost per
// pod of an hour: a little above what it measures, so that a field added to
// every pod's entry fails it. docs/benchmarks.md has the measurement.
const maxIndexBytes = 112

// TestIndexBytes measures the heap the sink's index of an hour costs per pod:
// 150,000 running pods of ReplicaSets (25 pods each) on 5,000 nodes, each
// seen by the initial snapshot and again (EventSeen). The records' strings
// are the source's, alive anyway, and not counted.
func TestIndexBytes(t *testing.T) {
	const n = 150_000
	namespaces := make([]string, 50)
	for i := range namespaces {
		namespaces[i] = fmt.Sprintf("team-%02d", i)
	}
	recs := make([]record.Placement, n)
	for i := range recs {
		rs := fmt.Sprintf("checkout-api-%04d-7d9f8c6b5", i/25)
		recs[i] = record.Placement{Namespace: namespaces[i/25%50], Pod: fmt.Sprintf("%s-%05x", rs, i), Node: fmt.Sprintf("node-%04d", i%5000),
			OwnerKind: "ReplicaSet", OwnerName: rs, Timestamp: hour14.Add(time.Minute), Event: record.EventSnapshot}
	}
	before := heaptest.Settled()
	x := newHourIndex(hour14, true)
	for _, r := range recs {
		x.add(r, 5*time.Minute)
	}
	x.seenAll("", hour14.Add(2*time.Minute), 5*time.Minute)
	after := heaptest.Settled()
	runtime.KeepAlive(recs)
	if x.len() != n {
		t.Fatalf("%d pods in the index, want %d", x.len(), n)
	}
	per := (int64(after) - int64(before)) / n
	t.Logf("%d pods: about %d bytes of heap per pod of the hour", n, per)
	if per > maxIndexBytes {
		t.Errorf("%d bytes per pod, want at most %d", per, maxIndexBytes)
	}
}
