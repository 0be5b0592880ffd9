package source

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"

	"github.com/pod-ashiato/ashiato/src/retry"
)

// watchError hears what ends a list-and-watch round. Failed requests were
// already reported by apiHealth, where they happened.
func (w *Watch) watchError(_ context.Context, _ *cache.Reflector, err error) {
	switch {
	case errors.Is(err, io.EOF):
		// The watch closed normally.
	case apierrors.IsResourceExpired(err) || apierrors.IsGone(err):
		w.log().WithError(err).Info("pod watch expired, listing again")
	default:
		w.log().WithError(err).Debug("pod list-and-watch ended, retrying")
	}
}

// healthLogEvery spaces the warnings of a lasting outage.
const healthLogEvery = 30 * time.Second

// apiHealth reports the failures of the informer's own LIST and WATCH
// requests. client-go retries them with its own backoff but does not tell: a
// refused WATCH is retried inside the reflector and logged at V(4) only, so
// without this an outage would leave no trace. The first failure is a warning,
// then at most one every healthLogEvery while failures go on, and one line
// when requests succeed again; every failure reaches onError (the metric).
type apiHealth struct {
	log     logrus.FieldLogger
	onError func(error)
	now     func() time.Time
	fail    func(error) // told about a permanent error, which ends the watch

	mu       sync.Mutex
	failures int       // since the last success
	since    time.Time // first failure of this run
	logged   time.Time // last warning
}

func (h *apiHealth) observe(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	if err == nil {
		if h.failures > 0 {
			h.log.WithFields(logrus.Fields{"failures": h.failures, "after": now.Sub(h.since).Round(time.Second).String()}).
				Info("pod list and watch work again")
		}
		h.failures = 0
		return
	}
	if h.onError != nil {
		h.onError(err)
	}
	if retry.Permanent(err) && h.fail != nil {
		h.fail(err)
		return
	}
	h.failures++
	if h.failures == 1 {
		h.since = now
	}
	if h.failures == 1 || now.Sub(h.logged) >= healthLogEvery {
		h.logged = now
		h.log.WithError(err).WithFields(logrus.Fields{"failures": h.failures, "since": h.since.UTC().Format(time.RFC3339)}).
			Warn("listing or watching pods failed; client-go retries with backoff")
	}
}
