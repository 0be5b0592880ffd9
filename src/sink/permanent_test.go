package sink

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	logrustest "github.com/sirupsen/logrus/hooks/test"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pod-ashiato/ashiato/src/storeio"
)

// alive runs step (which hands the sink a tick or a record) and fails the test
// if the sink returns instead, its input still open: a sink that gave up
// would leave step blocked for ever.
func (r *running) alive(step func()) {
	r.t.Helper()
	ok := make(chan struct{})
	go func() { step(); close(ok) }()
	select {
	case <-ok:
	case err := <-r.done:
		r.t.Fatalf("the sink returned while its input was open, dropping what was pending: %v", err)
	}
}

// TestPermanentErrorKeepsPending: a store that refuses the flushes for good
// (RBAC changed, the namespace deleted) does not end the sink. Every pending
// placement is kept and tried again at each flush the backoff allows, each
// refusal reported through OnFlush and Pending (the metrics that
// PodAshiatoStoreFailing reads); writes resume when the store accepts them
// again, and when the input closes first the sink makes one last attempt and
// returns the error.
func TestPermanentErrorKeepsPending(t *testing.T) {
	nsGone := apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, ns)
	forbidden := apierrors.NewForbidden(cmRes, "x", errors.New("RBAC: configmaps is forbidden"))
	tests := []struct {
		name     string
		refusal  error
		refuse   int // flushes refused before the store accepts; -1: all of them
		sentinel error
	}{
		{"forbidden for 3 flushes", forbidden, 3, storeio.ErrForbidden},
		{"forbidden until the end", forbidden, -1, storeio.ErrForbidden},
		{"namespace gone for 2 flushes", nsGone, 2, storeio.ErrNotFound},
		{"namespace gone until the end", nsGone, -1, storeio.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset()
			var refusing atomic.Bool
			var attempts atomic.Int32 // creates tried while refusing
			refusing.Store(true)
			client.PrependReactor("create", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
				if refusing.Load() {
					attempts.Add(1)
					return true, nil, tt.refusal
				}
				return false, nil, nil
			})
			log, _ := logrustest.NewNullLogger()
			s := newSink(client)
			s.Log = log
			s.FlushInterval = time.Second
			var (
				mu      sync.Mutex
				results []error // OnFlush's errors, in order
			)
			s.OnFlush = func(_ time.Time, err error) {
				mu.Lock()
				defer mu.Unlock()
				results = append(results, err)
			}
			now := hour14.Add(5 * time.Minute)
			r := start(t, s, now)
			r.alive(func() { r.send(placement("a", "n1", now), placement("b", "n2", now)) })

			flushes := 0
			for tt.refuse < 0 && flushes < 5 || flushes < tt.refuse {
				r.alive(func() { r.tick(s.FlushInterval) })
				if got := int(attempts.Load()); got > flushes {
					flushes = got
				}
				if r.clock.Now().After(now.Add(time.Minute)) {
					t.Fatalf("%d refused flushes in a minute of 1 s ticks, want %d", flushes, max(tt.refuse, 5))
				}
			}
			if s.Pending() != 2 {
				t.Errorf("after %d refused flushes %d pods pending, want 2", flushes, s.Pending())
			}
			// More arrives while the store refuses: kept too.
			r.alive(func() { r.send(placement("c", "n1", r.clock.Now())) })

			if tt.refuse >= 0 {
				refusing.Store(false)
				for s.Pending() > 0 || len(hourOf(t, client, hour14)) < 3 {
					r.alive(func() { r.tick(s.FlushInterval) })
					if r.clock.Now().After(now.Add(5 * time.Minute)) {
						t.Fatalf("the store accepts again but holds %v after 5 minutes", hourOf(t, client, hour14))
					}
				}
				r.stop()
				want := map[string]string{"shop_a": "n1", "shop_b": "n2", "shop_c": "n1"}
				if got := hourOf(t, client, hour14); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("the store holds %v, want %v: nothing pending may be dropped", got, want)
				}
				mu.Lock()
				defer mu.Unlock()
				if n := len(results); n < tt.refuse+2 || results[0] == nil || results[n-1] != nil {
					t.Errorf("OnFlush told %v; want the %d refusals, then successful flushes", results, tt.refuse)
				}
				return
			}

			before := attempts.Load()
			close(r.in)
			err := <-r.done
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("Run = %v after the store refused to the end, want the store's error (%v)", err, tt.sentinel)
			}
			if got := attempts.Load() - before; got != 1 {
				t.Errorf("%d attempts after the input closed, want one last attempt", got)
			}
			if s.Pending() != 3 {
				t.Errorf("%d pods pending after the last attempt, want 3", s.Pending())
			}
			mu.Lock()
			defer mu.Unlock()
			for i, err := range results {
				if err == nil {
					t.Errorf("OnFlush %d told success; every flush was refused", i)
				}
			}
			if len(results) < 6 {
				t.Errorf("OnFlush told %d flushes, want the 5 refused and the last attempt", len(results))
			}
		})
	}
}
