package recorder

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pod-ashiato/ashiato/src/metrics"
)

// TestSyncCounter: with one reader per namespace, the process is ready only
// once every reader has listed, and tracks the pods of all of them.
func TestSyncCounter(t *testing.T) {
	m := metrics.New()
	m.SetReady(false)
	ready := func() bool {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code == http.StatusOK
	}
	c := newSyncCounter(3, m)
	c.tracked[2] = func() int { return 7 } // a watch: tracked between listings
	c.synced(0, 5)
	c.synced(2, 6)
	if ready() {
		t.Fatal("ready before the second reader listed")
	}
	c.synced(1, 0)
	if !ready() {
		t.Fatal("not ready after every reader listed")
	}
	if n := c.total(); n != 5+0+7 {
		t.Errorf("tracked %d, want 12", n)
	}
	// Pods on lost nodes: summed over the readers that can count them.
	c.podsOn[0] = func(map[string]bool) map[string]int { return map[string]int{"a": 1, "b": 2} }
	c.podsOn[2] = func(map[string]bool) map[string]int { return map[string]int{"b": 3} }
	if got := c.podsOnNodes(map[string]bool{"a": true, "b": true}); got["a"] != 1 || got["b"] != 5 || len(got) != 2 {
		t.Errorf("podsOnNodes = %v, want a:1 b:5", got)
	}
}
