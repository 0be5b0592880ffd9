package metrics

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func TestHealthAndReadiness(t *testing.T) {
	m := New()
	h := m.Handler()
	if code, _ := get(t, h, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200 from the start", code)
	}
	if code, _ := get(t, h, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before the first sync = %d, want 503", code)
	}
	m.Synced(time.Unix(1700000000, 0))
	if code, _ := get(t, h, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after the first sync = %d, want 200", code)
	}
	if got := testutil.ToFloat64(m.lastSync); got != 1700000000 {
		t.Errorf("last sync = %v", got)
	}
}

func TestCountersMove(t *testing.T) {
	m := New()
	in := make(chan record.Placement, 5)
	out := make(chan record.Placement, 5)
	for _, e := range []record.Event{record.EventSnapshot, record.EventSnapshot, record.EventMoved, record.EventDeleted} {
		in <- record.Placement{Event: e}
	}
	in <- record.Placement{Event: record.EventSnapshot, StoreOnly: true} // not printed, not counted
	close(in)
	if err := m.Count(t.Context(), in, out); err != nil {
		t.Fatal(err)
	}
	if n := len(out); n != 5 {
		t.Fatalf("passed on %d records, want 5", n)
	}
	m.StoreWrite("configmap", 100, nil)
	m.StoreWrite("configmap", 50, errors.New("boom"))
	m.APIError(apierrors.NewConflict(schema.GroupResource{Resource: "configmaps"}, "x", errors.New("c")))
	m.APIError(syscall.ECONNREFUSED)
	m.Compaction("placements", "written")
	m.SetTracked(func() int { return 42 })

	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"snapshot records", testutil.ToFloat64(m.records.WithLabelValues("snapshot")), 2},
		{"moved records", testutil.ToFloat64(m.records.WithLabelValues("moved")), 1},
		{"moves", testutil.ToFloat64(m.moves), 1},
		{"ok writes", testutil.ToFloat64(m.storeWrites.WithLabelValues("configmap", "ok")), 1},
		{"failed writes", testutil.ToFloat64(m.storeWrites.WithLabelValues("configmap", "error")), 1},
		{"bytes written", testutil.ToFloat64(m.storeBytes.WithLabelValues("configmap")), 100},
		{"conflicts", testutil.ToFloat64(m.apiErrors.WithLabelValues("Conflict")), 1},
		{"network errors", testutil.ToFloat64(m.apiErrors.WithLabelValues("network")), 1},
		{"compactions", testutil.ToFloat64(m.compactions.WithLabelValues("placements", "written")), 1},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	_, body := get(t, m.Handler(), "/metrics")
	for _, name := range []string{"ashiato_pods_tracked 42", "ashiato_records_emitted_total", "ashiato_store_writes_total", "ashiato_api_errors_total", "ashiato_last_sync_timestamp_seconds", "go_goroutines"} {
		if !strings.Contains(body, name) {
			t.Errorf("/metrics lacks %q", name)
		}
	}
}

// TestServerTimeouts: the metrics server bounds every phase of a connection
// as the web view's does, so a client that sends slowly, reads slowly or
// idles cannot hold connections open.
func TestServerTimeouts(t *testing.T) {
	srv := newServer(http.NotFoundHandler())
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		if d <= 0 {
			t.Errorf("%s is %v: unbounded", name, d)
		}
	}
	if srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 64<<10 {
		t.Errorf("MaxHeaderBytes %d, want a small bound", srv.MaxHeaderBytes)
	}
}

// TestAPIErrorReasons: an answer of either store is counted under the API
// server's reason for it; the S3 store's carry no API status, only the
// store's sentinels (they were all counted as "network").
func TestAPIErrorReasons(t *testing.T) {
	cmConflict := apierrors.NewConflict(schema.GroupResource{Resource: "configmaps"}, "x", errors.New("c"))
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"API server conflict", cmConflict, "Conflict"},
		{"ConfigMap store conflict (sentinel and status)", errors.Join(storeio.ErrConflict, cmConflict), "Conflict"},
		{"API server, too long", apierrors.NewRequestEntityTooLargeError("x"), "RequestEntityTooLarge"},
		{"S3 precondition failed", fmt.Errorf("s3: x: HTTP 412: %w", storeio.ErrConflict), "Conflict"},
		{"S3 create refused", fmt.Errorf("s3: x: HTTP 412: %w", storeio.ErrAlreadyExists), "AlreadyExists"},
		{"S3 gone", fmt.Errorf("s3: %w", storeio.ErrNotFound), "NotFound"},
		{"S3 denied", fmt.Errorf("s3: %w", storeio.ErrForbidden), "Forbidden"},
		{"S3 too large", fmt.Errorf("s3: %w", storeio.ErrTooLarge), "RequestEntityTooLarge"},
		{"S3 slow down", fmt.Errorf("s3: HTTP 503: %w", retry.ErrTransient), "ServiceUnavailable"},
		{"connection refused", syscall.ECONNREFUSED, "network"},
	} {
		if got := reasonOf(tt.err); got != tt.want {
			t.Errorf("%s: reason %q, want %q", tt.name, got, tt.want)
		}
	}
}
