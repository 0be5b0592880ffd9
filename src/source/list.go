package source

import (
	"context"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/retry"
)

// DefaultPageSize is how many pods one LIST request returns. Pages keep the
// memory of a cycle flat in the cluster's size: a page is converted, sent and
// released before the next is requested. Larger pages list faster (fewer
// round trips to a busy API server) and peak higher; this is the largest that
// kept --oneshot under 64 MiB when it listed in pages (docs/benchmarks.md).
const DefaultPageSize = 1000

// List polls: one paginated LIST per cycle, the first cycle at once, then one
// every Interval. With Interval zero it lists once and stops (--oneshot).
type List struct {
	Client    kubernetes.Interface
	Selection Selection
	PageSize  int64         // DefaultPageSize when zero
	Interval  time.Duration // zero: a single cycle
	Retry     retry.Policy
	Log       logrus.FieldLogger
	Now       func() time.Time // time.Now when nil
	// OnCycle, when set, is told after each complete listing how many pods it
	// sent (readiness and the last-sync metric).
	OnCycle func(pods int)
}

// Run implements Source.
func (l *List) Run(ctx context.Context, out chan<- record.Placement) error {
	defer close(out)
	var tick <-chan time.Time
	if l.Interval > 0 {
		t := time.NewTicker(l.Interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		n, err := l.cycle(ctx, out)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if l.Log != nil {
			l.Log.WithField("pods", n).Debug("list cycle done")
		}
		if l.OnCycle != nil {
			l.OnCycle(n)
		}
		if tick == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
		}
	}
}

// cycle lists every selected pod once, page by page, and returns how many it sent.
func (l *List) cycle(ctx context.Context, out chan<- record.Placement) (int, error) {
	pageSize := l.PageSize
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	pods := l.Client.CoreV1().Pods(l.Selection.Namespace)
	var (
		sent     int
		cont     string
		lastKey  string // the last pod sent; the API server lists in storage-key order, <namespace>/<name>
		resuming bool   // re-listing after an expired continue token
	)
	for {
		opts := metav1.ListOptions{Limit: pageSize, Continue: cont}
		l.Selection.apply(&opts)
		var page []record.Placement
		err := retry.Do(ctx, l.Retry, "listing pods", func(ctx context.Context) error {
			list, err := pods.List(ctx, opts)
			if err != nil {
				return err
			}
			seen := l.now()
			page = make([]record.Placement, 0, len(list.Items))
			for i := range list.Items {
				page = append(page, FromPod(&list.Items[i], seen, record.EventSnapshot))
			}
			cont = list.Continue
			return nil
		})
		if apierrors.IsResourceExpired(err) && opts.Continue != "" {
			// The continue token outlived etcd's compaction window (a slow
			// consumer, a long outage). List again from the start and skip the
			// pods already sent, so each pod is still sent exactly once.
			if l.Log != nil {
				l.Log.WithField("after", lastKey).Info("continue token expired, listing again from the start")
			}
			cont, resuming = "", true
			continue
		}
		if err != nil {
			return sent, fmt.Errorf("listing pods: %w", err)
		}
		for _, p := range page {
			key := p.Key() // LIST returns pods in this order
			if resuming && key <= lastKey {
				continue
			}
			select {
			case out <- p:
			case <-ctx.Done():
				return sent, ctx.Err()
			}
			lastKey = key
			sent++
		}
		if cont == "" {
			return sent, nil
		}
	}
}

func (l *List) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}
