package leader

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// released reports whether an update gives the Lease up (client-go's release
// clears the holder).
func released(a k8stesting.Action) bool {
	u, ok := a.(k8stesting.UpdateAction)
	if !ok {
		return false
	}
	lease, ok := u.GetObject().(*coordinationv1.Lease)
	return ok && (lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "")
}

// TestLeaseReleasedAfterDraining: on a signal, work drains while the Lease is
// still held; the Lease is released only once work has returned, so a
// standby never writes while the old leader's final flush runs.
func TestLeaseReleasedAfterDraining(t *testing.T) {
	client := fake.NewClientset()
	var drained atomic.Bool
	releasedEarly := make(chan struct{}, 1)
	var releases atomic.Int32
	client.PrependReactor("update", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if released(a) {
			releases.Add(1)
			if !drained.Load() {
				select {
				case releasedEarly <- struct{}{}:
				default:
				}
			}
		}
		return false, nil, nil
	})

	signal, sendSignal := context.WithCancel(t.Context())
	e := &Elector{Client: client, Namespace: "ns", Name: "lease", Identity: "me", RetryPeriod: 50 * time.Millisecond}
	ran := false
	err := e.Run(signal, func(ctx context.Context) error {
		ran = true
		sendSignal()
		<-ctx.Done()
		// Draining: the final flush may take a while. Give a wrong release
		// ample time to show up.
		select {
		case <-releasedEarly:
			t.Error("the Lease was released while work was still draining")
		case <-time.After(time.Second):
		}
		drained.Store(true)
		return nil
	})
	if err != nil || !ran {
		t.Fatalf("Run = %v, ran %v; want nil after leading", err, ran)
	}
	if releases.Load() == 0 {
		t.Error("the Lease was never released after draining")
	}
	lease, err := client.CoordinationV1().Leases("ns").Get(t.Context(), "lease", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("Lease still held by %q after Run returned", *h)
	}
}

// TestLostLeaseStopsWork: when another process takes the Lease, work's
// context ends and Run says the Lease was lost.
func TestLostLeaseStopsWork(t *testing.T) {
	client := fake.NewClientset()
	var stolen atomic.Bool
	client.PrependReactor("update", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		if stolen.Load() {
			return true, nil, errors.New("renewal refused")
		}
		return false, nil, nil
	})
	e := &Elector{Client: client, Namespace: "ns", Name: "lease", Identity: "me",
		LeaseDuration: 300 * time.Millisecond, RenewDeadline: 200 * time.Millisecond, RetryPeriod: 20 * time.Millisecond}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	err := e.Run(ctx, func(work context.Context) error {
		stolen.Store(true)
		<-work.Done()
		return nil
	})
	if !errors.Is(err, ErrLostLease) || ctx.Err() != nil {
		t.Fatalf("Run = %v (ctx %v), want ErrLostLease before the timeout", err, ctx.Err())
	}
}

// TestSignalWhileStandingBy: a process that never led returns nil at once.
func TestSignalWhileStandingBy(t *testing.T) {
	client := fake.NewClientset(&coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "lease"},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity: ptr("other"), LeaseDurationSeconds: ptr(int32(3600)),
			RenewTime: &metav1.MicroTime{Time: time.Now()}, AcquireTime: &metav1.MicroTime{Time: time.Now()},
		},
	})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	e := &Elector{Client: client, Namespace: "ns", Name: "lease", Identity: "me", RetryPeriod: 20 * time.Millisecond}
	if err := e.Run(ctx, func(context.Context) error { t.Error("work ran without the Lease"); return nil }); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func ptr[T any](v T) *T { return &v }
