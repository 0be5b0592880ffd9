// Package retry decides which errors of the store or the API server are worth
// another try and retries them with capped exponential backoff. Every stage
// that talks to the API server or the store uses it, so the classification
// lives in exactly one place: the API server's kinds (apimachinery), the
// network's errors, and ErrTransient for a backend that is not the API
// server.
package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
	"k8s.io/utils/clock"
)

// ErrTransient marks an error of a store backend other than the API server
// (S3) as the service, or the path to it, being unavailable or overloaded:
// Retryable accepts any error that wraps it. Wrap with Transient.
var ErrTransient = errors.New("temporarily unavailable")

// Transient marks err as worth another try (ErrTransient), keeping err in the
// chain for errors.As; nil stays nil.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return transient{err}
}

type transient struct{ err error }

func (e transient) Error() string   { return e.err.Error() }
func (e transient) Unwrap() []error { return []error{ErrTransient, e.err} }

// Permanent reports whether err says the path to the API server is set up
// wrongly, so that no retry can succeed: the server's certificate is not
// trusted (unknown CA, wrong host name, expired) or the server does not speak
// TLS. Such errors travel inside a *url.Error, which is a net.Error, so they
// must be told apart before the network errors that Retryable accepts.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	var (
		verify    *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		host      x509.HostnameError
		roots     x509.SystemRootsError
		header    tls.RecordHeaderError
	)
	return errors.As(err, &verify) || errors.As(err, &unknownCA) || errors.As(err, &invalid) ||
		errors.As(err, &host) || errors.As(err, &roots) || errors.As(err, &header)
}

// Retryable reports whether err comes from the API server, or the path to it,
// being unavailable or overloaded, rather than from the request itself. A
// Conflict is not retryable here: repeating the same write cannot succeed, the
// caller has to read again first.
func Retryable(err error) bool {
	if err == nil || Permanent(err) {
		return false
	}
	if errors.Is(err, ErrTransient) {
		return true
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
	// Clock measures MaxElapsed and the waits; the real clock when nil.
	Clock clock.Clock
}

// Do calls fn until it succeeds, returns an error that is not Retryable, the
// context ends or MaxElapsed has passed. It returns fn's last error, wrapped
// with what when it gives up after retries. The last wait is cut short so that
// the last try starts at MaxElapsed at the latest: Do returns no later than
// MaxElapsed plus the duration of one try.
func Do(ctx context.Context, p Policy, what string, fn func(context.Context) error) error {
	backoff := p.Backoff
	if backoff.Steps == 0 {
		backoff = DefaultBackoff()
	}
	clk := p.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	start := clk.Now()
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
		elapsed := clk.Since(start)
		if p.MaxElapsed > 0 && elapsed >= p.MaxElapsed {
			return fmt.Errorf("%s: giving up after %d tries in %s: %w", what, attempt, elapsed.Round(time.Second), err)
		}
		delay := backoff.Step()
		if p.MaxElapsed > 0 {
			delay = min(delay, p.MaxElapsed-elapsed)
		}
		if p.Log != nil {
			p.Log.WithError(err).WithField("attempt", attempt).WithField("retry_in", delay.Round(time.Millisecond).String()).Warnf("%s failed, retrying", what)
		}
		t := clk.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w", what, err)
		case <-t.C():
		}
	}
}
