package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sirupsen/logrus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/retry"
)

// Stream is the source of --oneshot: one LIST of every selected pod without a
// limit, as the original tool made, whose response is decoded pod by pod as it
// arrives (podDecoder) and sent on at once. The API server answers one request
// instead of one per page, and encodes the whole list in one go, so this is
// the fastest complete read it offers; decoding as the bytes arrive keeps the
// memory to one pod, where client-go's List would hold the whole body and
// every decoded pod (docs/benchmarks.md has both).
//
// A failed request is retried with backoff (Retry); a permanent error fails at
// once. A response cut short after some pods were sent is listed again from
// the start, skipping the pods up to the last one sent: the API server lists
// in key order (namespace/name), so each pod is sent exactly once, as List
// does after an expired continue token. Should the order ever not hold, the
// pods are sent again rather than lost. A cut that made progress restarts the
// retry budget (MaxElapsed), so a slow reader that the API server's request
// timeout cuts off still gets to the end.
type Stream struct {
	Client    kubernetes.Interface
	Selection Selection
	Retry     retry.Policy
	Log       logrus.FieldLogger
	Now       func() time.Time // time.Now when nil
	// OnCycle, when set, is told after the listing how many pods it sent.
	OnCycle func(pods int)
}

// Run implements Source: it lists once and returns.
func (s *Stream) Run(ctx context.Context, out chan<- record.Placement) error {
	defer close(out)
	n, err := s.list(ctx, out)
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing pods: %w", err)
	}
	s.log().WithField("pods", n).Debug("list done")
	if s.OnCycle != nil {
		s.OnCycle(n)
	}
	return nil
}

// cutShort is a retryable failure after some pods were sent. It does not
// unwrap, so that retry.Do hands it back to list, which starts a fresh retry
// budget for the rest.
type cutShort struct{ err error }

func (c *cutShort) Error() string { return c.err.Error() }

// list sends every selected pod once and returns how many it sent.
func (s *Stream) list(ctx context.Context, out chan<- record.Placement) (int, error) {
	var (
		sent    int
		lastKey string // the last pod sent
		ordered = true // every pod came in increasing key order
	)
	attempt := func(ctx context.Context) error {
		resume := sent > 0 && ordered
		progressed := false
		fail := func(err error) error {
			if progressed && retry.Retryable(err) {
				return &cutShort{err: err}
			}
			return err
		}
		body, err := s.request().Stream(ctx)
		if err != nil {
			return err
		}
		defer body.Close()
		dec, err := newPodDecoder(body)
		if err != nil {
			return fail(err)
		}
		for {
			p, err := dec.next(s.now())
			if errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return fail(err)
			}
			key := p.Key()
			if resume && key <= lastKey {
				continue
			}
			if sent > 0 && key <= lastKey {
				ordered = false
			}
			select {
			case out <- p:
			case <-ctx.Done():
				return ctx.Err()
			}
			lastKey, progressed = key, true
			sent++
		}
	}
	for {
		err := retry.Do(ctx, s.Retry, "listing pods", attempt)
		var cut *cutShort
		if !errors.As(err, &cut) {
			return sent, err
		}
		log := s.log().WithError(cut.err).WithField("sent", sent)
		if ordered {
			log.WithField("after", lastKey).Warn("pod list cut short; listing again from the start, skipping the pods already sent")
		} else {
			log.Warn("pod list cut short, and the API server did not list in key order: listing again, some pods will be sent twice")
		}
	}
}

// request is one LIST of the selected pods without a limit, the selectors
// applied by the API server. An empty
// resourceVersion asks for the current state (a consistent read).
func (s *Stream) request() interface {
	Stream(context.Context) (io.ReadCloser, error)
} {
	opts := &metav1.ListOptions{}
	s.Selection.apply(opts)
	return s.Client.CoreV1().RESTClient().Get().
		Namespace(s.Selection.Namespace).
		Resource("pods").
		VersionedParams(opts, scheme.ParameterCodec).
		SetHeader("Accept", "application/vnd.kubernetes.protobuf, application/json")
}

func (s *Stream) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Stream) log() logrus.FieldLogger {
	if s.Log != nil {
		return s.Log
	}
	l := logrus.New()
	l.Out = io.Discard
	return l
}
