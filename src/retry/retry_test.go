package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"
)

var pods = schema.GroupResource{Resource: "pods"}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"too many requests", apierrors.NewTooManyRequests("slow down", 1), true},
		{"server timeout", apierrors.NewServerTimeout(pods, "list", 1), true},
		{"internal error", apierrors.NewInternalError(errors.New("boom")), true},
		{"service unavailable", apierrors.NewServiceUnavailable("down"), true},
		{"generic 502", apierrors.NewGenericServerResponse(502, "get", pods, "x", "bad gateway", 0, true), true},
		{"connection refused, wrapped", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"conflict", apierrors.NewConflict(pods, "x", errors.New("changed")), false},
		{"forbidden", apierrors.NewForbidden(pods, "x", errors.New("rbac")), false},
		{"not found", apierrors.NewNotFound(pods, "x"), false},
		{"expired continue", apierrors.NewResourceExpired("too old"), false},
		{"bad request", apierrors.NewBadRequest("nope"), false},
		{"plain error", errors.New("x"), false},
		{"transient, marked", Transient(errors.New("s3: HTTP 503 SlowDown")), true},
		{"transient, wrapped again", fmt.Errorf("reading: %w", Transient(errors.New("x"))), true},
		{"transient sentinel", ErrTransient, true},
		{"transient but an untrusted certificate", Transient(x509.UnknownAuthorityError{}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func fast() wait.Backoff {
	return wait.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 100, Cap: 5 * time.Millisecond}
}

func TestDo(t *testing.T) {
	unavailable := apierrors.NewServiceUnavailable("down")
	forbidden := apierrors.NewForbidden(pods, "x", errors.New("rbac"))
	tests := []struct {
		name      string
		errs      []error // returned by successive calls; nil after the list ends
		maxTime   time.Duration
		wantCalls int
		wantErr   error
	}{
		{"success at once", nil, 0, 1, nil},
		{"retries until success", []error{unavailable, unavailable, unavailable}, 0, 4, nil},
		{"stops at a permanent error", []error{unavailable, forbidden}, 0, 2, forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := Do(t.Context(), Policy{Backoff: fast(), MaxElapsed: tt.maxTime}, "test", func(context.Context) error {
				calls++
				if calls <= len(tt.errs) {
					return tt.errs[calls-1]
				}
				return nil
			})
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if calls != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tt.wantCalls)
			}
		})
	}
}

func TestDoGivesUp(t *testing.T) {
	unavailable := apierrors.NewServiceUnavailable("down")
	err := Do(t.Context(), Policy{Backoff: fast(), MaxElapsed: 20 * time.Millisecond}, "list pods", func(context.Context) error { return unavailable })
	if !apierrors.IsServiceUnavailable(err) {
		t.Fatalf("err = %v, want the last API error wrapped", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = Do(ctx, Policy{Backoff: fast()}, "list pods", func(context.Context) error { return unavailable })
	if !apierrors.IsServiceUnavailable(err) {
		t.Fatalf("cancelled: err = %v, want the last API error wrapped", err)
	}
}

// TestCertificateErrorsArePermanent: a server whose certificate is not
// trusted fails the same way on every try, so it must not be retried (before
// the fix, the *url.Error around it made it a retryable net.Error).
func TestCertificateErrorsArePermanent(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	untrusted := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}
	_, unknownCA := untrusted.Get(srv.URL)

	tests := []struct {
		name string
		err  error
	}{
		{"unknown CA, from a real handshake", unknownCA},
		{"not TLS at all", &url.Error{Op: "Get", URL: "https://x", Err: tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}}},
		{"wrong host name", &url.Error{Op: "Get", URL: "https://x", Err: x509.HostnameError{Host: "x", Certificate: &x509.Certificate{}}}},
		{"expired", fmt.Errorf("list: %w", &url.Error{Op: "Get", URL: "https://x", Err: x509.CertificateInvalidError{Reason: x509.Expired}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("the request succeeded; want a TLS error")
			}
			if !Permanent(tt.err) || Retryable(tt.err) {
				t.Errorf("Permanent = %v, Retryable = %v for %v; want true, false", Permanent(tt.err), Retryable(tt.err), tt.err)
			}
			calls := 0
			err := Do(t.Context(), Policy{Backoff: fast(), MaxElapsed: time.Second}, "list pods", func(context.Context) error { calls++; return tt.err })
			if calls != 1 || !errors.Is(err, tt.err) {
				t.Errorf("Do: %d calls, err %v; want 1 call and the TLS error", calls, err)
			}
		})
	}
	if Permanent(fmt.Errorf("dial: %w", syscall.ECONNREFUSED)) || Permanent(apierrors.NewServiceUnavailable("down")) {
		t.Error("an outage is not permanent")
	}
}

// TestDoKeepsToMaxElapsed: the last wait is cut to what remains of
// MaxElapsed, so Do gives up at MaxElapsed, not one backoff step later.
func TestDoKeepsToMaxElapsed(t *testing.T) {
	for _, maxElapsed := range []time.Duration{15 * time.Second, 10 * time.Second, 1100 * time.Millisecond} {
		t.Run(maxElapsed.String(), func(t *testing.T) {
			clk := clocktesting.NewFakeClock(time.Unix(1_700_000_000, 0))
			start := clk.Now()
			var tries []time.Duration
			done := make(chan error, 1)
			go func() {
				done <- Do(t.Context(), Policy{
					Backoff:    wait.Backoff{Duration: time.Second, Factor: 2, Steps: 100, Cap: 30 * time.Second},
					MaxElapsed: maxElapsed,
					Clock:      clk,
				}, "list pods", func(context.Context) error {
					tries = append(tries, clk.Since(start))
					return apierrors.NewServiceUnavailable("down")
				})
			}()
			for {
				select {
				case err := <-done:
					if !apierrors.IsServiceUnavailable(err) {
						t.Fatalf("err = %v, want the last API error", err)
					}
					if last := tries[len(tries)-1]; last != maxElapsed {
						t.Fatalf("tries at %v; want the last one at MaxElapsed %v, no later", tries, maxElapsed)
					}
					return
				default:
				}
				if clk.HasWaiters() {
					clk.Step(100 * time.Millisecond)
				} else {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
}
