package sink

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pod-ashiato/ashiato/src/retry"
)

// TestPendingAndShards: what the store-health metrics read after each flush.
// A refused flush leaves its pods pending; the next one stores them and
// reports the hour's shards.
func TestPendingAndShards(t *testing.T) {
	client := fake.NewClientset()
	var down atomic.Bool
	down.Store(true)
	client.PrependReactor("*", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		if down.Load() {
			return true, nil, apierrors.NewServiceUnavailable("apiserver down")
		}
		return false, nil, nil
	})
	s := newSink(client)
	var flushErrs []error // what OnFlush was told, in order
	s.OnFlush = func(_ time.Time, err error) { flushErrs = append(flushErrs, err) }
	s.FlushInterval = time.Second
	s.Retry = retry.Policy{Backoff: s.Retry.Backoff, MaxElapsed: time.Nanosecond}
	now := hour14.Add(5 * time.Minute)
	r := start(t, s, now)
	for i := range 3 {
		r.send(placement(fmt.Sprintf("p%d", i), "n1", now))
	}
	r.send(placement("p0", "n2", now)) // the same pod again: still one pending
	r.tick(s.FlushInterval)
	if got, want := fmt.Sprint(s.Pending(), s.Shards()), fmt.Sprint(3, 0); got != want {
		t.Errorf("after a refused flush: pending, shards = %s, want %s", got, want)
	}
	down.Store(false)
	for s.Pending() > 0 && r.clock.Now().Before(now.Add(time.Minute)) {
		r.tick(s.FlushInterval) // past the backoff
	}
	if got, want := fmt.Sprint(s.Pending(), s.Shards()), fmt.Sprint(0, 1); got != want {
		t.Errorf("after the outage: pending, shards = %s, want %s", got, want)
	}
	r.stop()
	if n := len(flushErrs); n < 3 || flushErrs[0] == nil || flushErrs[n-2] != nil || flushErrs[n-1] != nil {
		t.Errorf("OnFlush told %v; want a failed flush first, then successful ones (the last is the final flush)", flushErrs)
	}
}
