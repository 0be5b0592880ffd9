package recorder

import (
	"context"
	"os"

	"github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"

	"github.com/pod-ashiato/ashiato/src/leader"
	"github.com/pod-ashiato/ashiato/src/metrics"
)

// lead runs work only while this instance holds the Lease (package leader).
// Standing by, it reads and writes nothing. On a signal the Lease is released
// after work has drained, so a standby takes over at once instead of after
// the lease duration, and never while this instance still writes; nothing is
// lost in between because the new leader starts with a full snapshot and the
// sink merges into the hour.
func lead(ctx context.Context, cfg *Config, client kubernetes.Interface, log logrus.FieldLogger, m *metrics.Metrics, work func(context.Context) error) error {
	host, _ := os.Hostname()
	m.SetReady(true) // a standby is ready: it has nothing to sync
	e := &leader.Elector{
		Client:    client,
		Namespace: cfg.LeaseNamespace,
		Name:      cfg.LeaseName,
		Identity:  host + "_" + rand.String(8),
		Log:       log,
		OnLeading: m.SetLeader,
	}
	return e.Run(ctx, work)
}
