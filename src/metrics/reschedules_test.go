package metrics

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pod-ashiato/ashiato/src/record"
)

// count runs records through the Count stage of m.
func count(t *testing.T, m *Metrics, records ...record.Placement) {
	t.Helper()
	in := make(chan record.Placement, len(records))
	out := make(chan record.Placement, len(records))
	for _, r := range records {
		in <- r
	}
	close(in)
	if err := m.Count(t.Context(), in, out); err != nil {
		t.Fatal(err)
	}
}

func TestReschedulesByNamespaceAndCause(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	nodeLost := record.Placement{Node: "a", Event: record.EventNodeNotReady, Timestamp: at(0)}
	pod := func(sec int, ns, name, node, kind, owner string, e record.Event) record.Placement {
		return record.Placement{Namespace: ns, Pod: name, Node: node, OwnerKind: kind, OwnerName: owner, Event: e, Timestamp: at(sec)}
	}
	tests := []struct {
		name    string
		records []record.Placement
		want    string // the series of ashiato_reschedules_total, as /metrics has them
	}{
		{"a moved pod on healthy nodes", []record.Placement{
			pod(1, "shop", "db-0", "b", "StatefulSet", "db", record.EventMoved),
		}, `ashiato_reschedules_total{cause="moved",namespace="shop"} 1`},
		{"replacements after node loss are recreated, even under the same name", []record.Placement{
			nodeLost,
			pod(1, "shop", "web-1", "a", "ReplicaSet", "web", record.EventDeleted),
			pod(2, "shop", "db-0", "a", "StatefulSet", "db", record.EventDeleted),
			pod(3, "shop", "web-2", "b", "ReplicaSet", "web", record.EventScheduled),
			pod(4, "shop", "db-0", "b", "StatefulSet", "db", record.EventMoved),
			pod(5, "bank", "api-0", "c", "StatefulSet", "api", record.EventMoved),
		}, `ashiato_reschedules_total{cause="moved",namespace="bank"} 1
ashiato_reschedules_total{cause="recreated",namespace="shop"} 2`},
		{"a scale-up and snapshots are no reschedule", []record.Placement{
			pod(1, "shop", "web-1", "b", "ReplicaSet", "web", record.EventScheduled),
			pod(2, "shop", "web-1", "b", "ReplicaSet", "web", record.EventSnapshot),
		}, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New()
			count(t, m, tt.records...)
			var counted []string
			for _, line := range series(t, m, "ashiato_reschedules_total{") {
				if !strings.HasSuffix(line, " 0") {
					counted = append(counted, line)
				}
			}
			if got := strings.Join(counted, "\n"); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestNamespaceLabelIsBounded(t *testing.T) {
	tests := []struct {
		max        int
		namespaces int
		wantNamed  int
		wantOther  float64
	}{
		{max: 3, namespaces: 2, wantNamed: 2, wantOther: 0},
		{max: 3, namespaces: 10, wantNamed: 3, wantOther: 7},
		{max: 0, namespaces: 4, wantNamed: 0, wantOther: 4},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d of %d", tt.max, tt.namespaces), func(t *testing.T) {
			m := New()
			m.SetMaxNamespaces(tt.max)
			var records []record.Placement
			for i := range tt.namespaces {
				r := record.Placement{Namespace: fmt.Sprintf("ns-%02d", i), Pod: "p", Node: "b", Event: record.EventMoved}
				records = append(records, r, r) // a namespace seen again keeps its series
			}
			count(t, m, records...)
			if got, want := testutil.CollectAndCount(m.reschedules.counter), 2*(tt.wantNamed+1); got != want {
				t.Errorf("%d series, want %d: two causes for %d named namespaces and %s", got, want, tt.wantNamed, OtherNamespaces)
			}
			for i := range tt.wantNamed {
				if got := testutil.ToFloat64(m.reschedules.counter.WithLabelValues(fmt.Sprintf("ns-%02d", i), CauseMoved)); got != 2 {
					t.Errorf("ns-%02d = %v, want 2", i, got)
				}
			}
			if got := testutil.ToFloat64(m.reschedules.counter.WithLabelValues(OtherNamespaces, CauseMoved)); got != 2*tt.wantOther {
				t.Errorf("%s = %v, want %v", OtherNamespaces, got, 2*tt.wantOther)
			}
		})
	}
}

// TestNamespaceSeriesBeforeTheStorm: a namespace's series exist at 0 from its
// first pod on, so that increase() over a storm counts all of it.
func TestNamespaceSeriesBeforeTheStorm(t *testing.T) {
	m := New()
	m.SetMaxNamespaces(1)
	count(t, m,
		record.Placement{Namespace: "shop", Pod: "a", Node: "n1", Event: record.EventSnapshot},
		record.Placement{Namespace: "bank", Pod: "b", Node: "n1", Event: record.EventScheduled},
		record.Placement{Node: "n1", Event: record.EventNodeNotReady},
	)
	want := `ashiato_reschedules_total{cause="moved",namespace="_other"} 0
ashiato_reschedules_total{cause="moved",namespace="shop"} 0
ashiato_reschedules_total{cause="recreated",namespace="_other"} 0
ashiato_reschedules_total{cause="recreated",namespace="shop"} 0`
	if got := strings.Join(series(t, m, "ashiato_reschedules_total{"), "\n"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestStoreHealth(t *testing.T) {
	m := New()
	if n := len(series(t, m, "ashiato_store_")); n != 0 {
		t.Fatalf("%d store series before the sink starts, want none", n)
	}
	t0 := time.Unix(1_800_000_000, 0)
	m.StoreStarted(t0)
	m.StoreStarted(t0) // a leader again: registers once
	steps := []struct {
		at                 time.Time
		err                error
		pending, shards    int
		wantLast           float64
		wantPending        float64
		wantShards         float64
		wantOK, wantFailed float64
	}{
		{t0.Add(30 * time.Second), nil, 0, 1, 1_800_000_030, 0, 1, 1, 0},
		{t0.Add(60 * time.Second), errors.New("refused"), 120, 0, 1_800_000_030, 120, 1, 1, 1},
		{t0.Add(90 * time.Second), nil, 0, 2, 1_800_000_090, 0, 2, 2, 1},
	}
	for i, s := range steps {
		m.StoreFlushed(s.at, s.err, s.pending, s.shards)
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"last flush", testutil.ToFloat64(m.store.lastFlush), s.wantLast},
			{"pending", testutil.ToFloat64(m.store.pending), s.wantPending},
			{"shards", testutil.ToFloat64(m.store.shards), s.wantShards},
			{"ok flushes", testutil.ToFloat64(m.store.flushes.WithLabelValues("ok")), s.wantOK},
			{"failed flushes", testutil.ToFloat64(m.store.flushes.WithLabelValues("error")), s.wantFailed},
		} {
			if c.got != c.want {
				t.Errorf("after flush %d: %s = %v, want %v", i+1, c.name, c.got, c.want)
			}
		}
	}
	if n := len(series(t, m, "ashiato_store_")); n != 5 {
		t.Errorf("%d store series, want 5", n)
	}
}

// series is the lines of /metrics that start with prefix, in its order.
func series(t *testing.T, m *Metrics, prefix string) []string {
	t.Helper()
	_, body := get(t, m.Handler(), "/metrics")
	var lines []string
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, prefix) {
			lines = append(lines, line)
		}
	}
	return lines
}
