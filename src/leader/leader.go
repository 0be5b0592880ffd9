// Package leader runs work only while this process holds a Lease, so that of
// several replicas exactly one emits and writes the history.
//
// The Lease is given up only after work has returned: on a signal, work
// drains (the sink's final flush included) while this process still holds the
// Lease, and only then does a standby take over. Releasing on the signal
// itself, as ReleaseOnCancel does when the elector shares the signal's
// context, would let the new leader write while the old one still flushes.
package leader

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/pod-ashiato/ashiato/src/retry"
)

// Lease timing: a dead leader is replaced within LeaseDuration (plus one
// RetryPeriod), client-go's recommended proportions.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// ErrLostLease ends a run whose Lease was taken away: the process exits
// non-zero and its restart stands for election again, the usual controller
// pattern (a half-leading process is worse than a restart).
var ErrLostLease = errors.New("lost the leader lease")

// Elector stands for election on the Lease Namespace/Name.
type Elector struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string
	Identity  string
	Log       logrus.FieldLogger
	// OnLeading, when set, is told when this process starts (true) and stops
	// (false) leading (the leader metric).
	OnLeading func(bool)
	// Timing; the defaults above when zero.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// Run stands for election until ctx ends and runs work once this process
// leads. work's context ends on ctx's end (a signal) or when the Lease is
// lost; the Lease is released after work has returned. Run returns work's
// error, ErrLostLease when the Lease was lost, or nil after a signal.
func (e *Elector) Run(ctx context.Context, work func(context.Context) error) error {
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, e.Namespace, e.Name,
		e.Client.CoreV1(), e.Client.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: e.Identity})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	// client-go retries every failure forever; an untrusted server would
	// leave the process standing by in silence.
	if _, err := e.Client.CoordinationV1().Leases(e.Namespace).Get(ctx, e.Name, metav1.GetOptions{}); retry.Permanent(err) {
		return fmt.Errorf("leader election: %w", err)
	}
	started := make(chan context.Context, 1)
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   orDefault(e.LeaseDuration, DefaultLeaseDuration),
		RenewDeadline:   orDefault(e.RenewDeadline, DefaultRenewDeadline),
		RetryPeriod:     orDefault(e.RetryPeriod, DefaultRetryPeriod),
		ReleaseOnCancel: true,
		Name:            e.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leading context.Context) { started <- leading },
			OnStoppedLeading: func() { e.onLeading(false) },
			OnNewLeader: func(identity string) {
				e.log().WithFields(logrus.Fields{"leader": identity, "me": e.Identity}).Info("leader observed")
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}

	// The elector does not share ctx: a signal stops the work, and the Lease
	// is renewed through the draining and released only when stopElecting
	// runs, after work has returned.
	electing, stopElecting := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElecting()
	done := make(chan struct{})
	go func() { elector.Run(electing); close(done) }()
	e.log().WithFields(logrus.Fields{"lease": e.Namespace + "/" + e.Name, "me": e.Identity}).Info("standing for election")

	select {
	case leading := <-started:
		e.onLeading(true)
		e.log().WithField("me", e.Identity).Info("leading: emitting and writing")
		workCtx, cancel := context.WithCancel(ctx)
		stopOnLoss := context.AfterFunc(leading, cancel)
		err := work(workCtx)
		stopOnLoss()
		cancel()
		lost := ctx.Err() == nil // work ended without a signal: the Lease went, or work failed
		stopElecting()           // now, and only now, give the Lease up
		<-done
		switch {
		case err != nil:
			return err
		case lost:
			return ErrLostLease
		}
		return nil
	case <-ctx.Done():
		stopElecting() // never led: nothing to drain
		<-done
		return nil
	}
}

func (e *Elector) onLeading(leading bool) {
	if e.OnLeading != nil {
		e.OnLeading(leading)
	}
}

func (e *Elector) log() logrus.FieldLogger {
	if e.Log != nil {
		return e.Log
	}
	return logrus.New().WithField("component", "leader")
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
