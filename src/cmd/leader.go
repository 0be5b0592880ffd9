package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/pod-ashiato/ashiato/src/metrics"
)

// Lease timing: a dead leader is replaced within leaseDuration (plus one
// retryPeriod), client-go's recommended proportions.
const (
	leaseDuration = 15 * time.Second
	renewDeadline = 10 * time.Second
	retryPeriod   = 2 * time.Second
)

// errLostLease ends a run whose leader lease was taken away: the process exits
// non-zero and its restart stands for election again, the usual controller
// pattern (a half-leading process is worse than a restart).
var errLostLease = errors.New("lost the leader lease")

// lead runs work only while this instance holds the Lease. Standing by, it
// reads and writes nothing. On a signal the Lease is released after work has
// drained, so a standby takes over at once instead of after leaseDuration;
// nothing is lost in between because the new leader starts with a full
// snapshot and the sink merges into the hour.
func lead(ctx context.Context, cfg *config, client kubernetes.Interface, log logrus.FieldLogger, m *metrics.Metrics, work func(context.Context) error) error {
	host, _ := os.Hostname()
	id := host + "_" + rand.String(8)
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, cfg.cmNamespace, cfg.leaseName,
		client.CoreV1(), client.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: id})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	started := make(chan context.Context, 1)
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   leaseDuration,
		RenewDeadline:   renewDeadline,
		RetryPeriod:     retryPeriod,
		ReleaseOnCancel: true,
		Name:            cfg.leaseName,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leading context.Context) { started <- leading },
			OnStoppedLeading: func() { m.SetLeader(false) },
			OnNewLeader: func(identity string) {
				log.WithFields(logrus.Fields{"leader": identity, "me": id}).Info("leader observed")
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}

	electing, stopElecting := context.WithCancel(ctx)
	defer stopElecting()
	done := make(chan struct{})
	go func() { elector.Run(electing); close(done) }()
	m.SetReady(true) // a standby is ready: it has nothing to sync
	log.WithFields(logrus.Fields{"lease": cfg.cmNamespace + "/" + cfg.leaseName, "me": id}).Info("standing for election")

	select {
	case leading := <-started:
		m.SetLeader(true)
		log.WithField("me", id).Info("leading: emitting and writing")
		err := work(leading)
		stopElecting() // work may have ended on its own (an error): give the Lease up
		<-done
		if err != nil {
			return err
		}
		if ctx.Err() == nil {
			return errLostLease
		}
		return nil
	case <-done:
		return nil // stopped before it ever led
	}
}
