// Package retry decides which Kubernetes API errors are worth another try and
// retries them with capped exponential backoff. Every stage that talks to the API
// server uses it, so the classification lives in exactly one place.
package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Retryable reports whether err comes from the API server, or the path to it,
// being unavailable or overloaded, rather than from the request itself. A
// Conflict is not retryable here: repeating the same write cannot succeed, the
// caller has to read again first.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	switch {
	case apierrors.IsServerTimeout(err),
		apierrors.IsTimeout(err),
		apierrors.IsTooManyRequests(err),
		apierrors.IsInternalError(err),
		apierrors.IsServiceUnavailable(err),
		apierrors.IsUnexpectedServerError(err):
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		code := status.Status().Code
		return code >= 500 || code == 429
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}

// DefaultBackoff starts at 250 ms and doubles up to 30 s, with jitter so that
// several replicas do not retry in step. Its cap also bounds how often a
// failure is logged.
func DefaultBackoff() wait.Backoff {
	return wait.Backoff{Duration: 250 * time.Millisecond, Factor: 2, Jitter: 0.2, Steps: 1 << 30, Cap: 30 * time.Second}
}

// Policy is how Do retries.
type Policy struct {
	Backoff wait.Backoff
	// MaxElapsed stops retrying once this much time has passed since the first
	// try; zero retries until the context ends.
	MaxElapsed time.Duration
	// Log receives one warning per failed try; nil logs nothing.
	Log logrus.FieldLogger
	// OnFailure, when set, is told about every failed try, retryable or not
	// (the API error metric).
	OnFailure func(error)
}

// Do calls fn until it succeeds, returns an error that is not Retryable, the
// context ends or MaxElapsed has passed. It returns fn's last error, wrapped
// with what when it gives up after retries.
func Do(ctx context.Context, p Policy, what string, fn func(context.Context) error) error {
	backoff := p.Backoff
	if backoff.Steps == 0 {
		backoff = DefaultBackoff()
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err != nil && p.OnFailure != nil {
			p.OnFailure(err)
		}
		if err == nil || !Retryable(err) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if p.MaxElapsed > 0 && time.Since(start) >= p.MaxElapsed {
			return fmt.Errorf("%s: giving up after %d tries in %s: %w", what, attempt, time.Since(start).Round(time.Second), err)
		}
		delay := backoff.Step()
		if p.Log != nil {
			p.Log.WithError(err).WithField("attempt", attempt).WithField("retry_in", delay.Round(time.Millisecond).String()).Warnf("%s failed, retrying", what)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w", what, err)
		case <-t.C:
		}
	}
}
