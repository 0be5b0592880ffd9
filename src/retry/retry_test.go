package retry

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
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
