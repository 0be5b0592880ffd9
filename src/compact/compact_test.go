package compact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pod-ashiato/ashiato/src/internal/awstest"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/s3store"
	"github.com/pod-ashiato/ashiato/src/s3store/s3fake"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
	"github.com/pod-ashiato/ashiato/src/storeread"
	"github.com/pod-ashiato/ashiato/src/table"
)

const bucket = "history"

var h10 = time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)

var quick = retry.Policy{Backoff: wait.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 50, Cap: 5 * time.Millisecond}, MaxElapsed: time.Second}

type fixture struct {
	srv *s3fake.Server
	st  *s3store.Store
	clk *clocktesting.FakeClock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	awstest.Env(t)
	srv := s3fake.New(bucket)
	t.Cleanup(srv.Close)
	st, err := s3store.New(t.Context(), s3store.Options{Endpoint: srv.URL, Bucket: bucket, Prefix: "ashiato", Cluster: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, st: st, clk: clocktesting.NewFakeClock(h10)}
}

// put stores an hour as the sink does: the codec's shards, created.
func (f *fixture) put(t *testing.T, h *store.Hour) {
	t.Helper()
	shards, err := store.Encode(h, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shards {
		if _, err := f.st.Create(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
}

// hourOf is an hour with a pod running through it on node n1 (so it
// continues into the next) and a node event.
func hourOf(start time.Time, pods int) *store.Hour {
	h := store.NewHour(start)
	for i := range pods {
		ref := store.PodRef{Namespace: "ns", Name: fmt.Sprintf("p%d", i)}
		h.Add(ref, "n1", start.Add(time.Duration(i)*time.Second))
		h.Add(ref, "n1", start.Add(time.Hour-time.Second))
		h.SetOwner(ref, store.Owner{Kind: "ReplicaSet", Name: "rs"})
	}
	h.AddNodeEvent(store.NodeEvent{Node: "n1", At: start.Add(time.Minute), Event: "node_ready"})
	h.SetNodeLabels("n1", map[string]string{"topology.kubernetes.io/zone": "z"})
	return h
}

func (f *fixture) compactor(t *testing.T, mod func(*Options)) *Compactor {
	t.Helper()
	opts := Options{Store: f.st, Retry: quick, Clock: f.clk}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func key(t string, hour time.Time) string { return "ashiato/" + table.Key("", t, "prod", hour) }

// want is what the files of hour should be: the hour as stored, read back,
// encoded with the edge of the hour before.
func (f *fixture) want(t *testing.T, hour time.Time) table.Files {
	t.Helper()
	read := func(h time.Time) *store.Hour {
		objs, err := storeread.ReadHour(t.Context(), f.st, h, quick)
		if err != nil {
			t.Fatal(err)
		}
		x, _, _ := store.Decode(t.Context(), h, objs)
		return x
	}
	files, err := table.Encode(read(hour), table.EdgeOf(read(hour.Add(-time.Hour))))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func (f *fixture) tableKeys() []string {
	var out []string
	for _, k := range f.srv.Keys(bucket) {
		if strings.HasPrefix(k, "ashiato/tables/") {
			out = append(out, k)
		}
	}
	return out
}

// TestHourCloses: an hour is compacted once it ended Grace ago, into the
// files table.Encode makes of it; a rerun writes nothing.
func TestHourCloses(t *testing.T) {
	f := newFixture(t)
	f.put(t, hourOf(h10, 3))
	f.put(t, hourOf(h10.Add(time.Hour), 2))
	c := f.compactor(t, nil)

	for _, tc := range []struct {
		now  time.Time
		want []string
	}{
		{h10.Add(time.Hour + 9*time.Minute), nil},
		{h10.Add(time.Hour + 10*time.Minute), []string{key(table.NodeEvents, h10), key(table.Placements, h10)}},
		{h10.Add(2*time.Hour + 10*time.Minute), []string{
			key(table.NodeEvents, h10), key(table.NodeEvents, h10.Add(time.Hour)),
			key(table.Placements, h10), key(table.Placements, h10.Add(time.Hour))}},
	} {
		f.clk.SetTime(tc.now)
		if _, err := c.Once(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := f.tableKeys(); !slices.Equal(got, tc.want) {
			t.Fatalf("at %s: files %v, want %v", tc.now.Format(time.Kitchen), got, tc.want)
		}
	}
	for _, hour := range []time.Time{h10, h10.Add(time.Hour)} {
		want := f.want(t, hour)
		for _, tb := range table.Tables {
			if !bytes.Equal(f.srv.Object(bucket, key(tb, hour)), want[tb]) {
				t.Errorf("%s of %s: not the bytes table.Encode makes of the stored hour", tb, hour.Format(time.Kitchen))
			}
		}
	}

	f.srv.ResetRequests()
	res, err := c.Once(t.Context())
	if err != nil || len(res.Written) != 0 || f.srv.Requests("PUT object") != 0 {
		t.Errorf("rerun: wrote %v (%d PUTs), err %v; want nothing", res.Written, f.srv.Requests("PUT object"), err)
	}
	// A new compactor (a restart) finds them done too.
	if res, err := f.compactor(t, nil).Once(t.Context()); err != nil || len(res.Written) != 0 {
		t.Errorf("after a restart: wrote %v, err %v; want nothing", res.Written, err)
	}
}

// TestEdgeKeptOrRead: hours compacted in one pass (the edge kept) and one a
// pass after restarts (the edge read) are the same bytes, with continued set.
func TestEdgeKeptOrRead(t *testing.T) {
	one, each := newFixture(t), newFixture(t)
	for _, f := range []*fixture{one, each} {
		for i := range 3 {
			f.put(t, hourOf(h10.Add(time.Duration(i)*time.Hour), 2))
		}
		f.clk.SetTime(h10.Add(4 * time.Hour))
	}
	c := one.compactor(t, nil)
	if res, err := c.Once(t.Context()); err != nil || len(res.Compacted) != 3 {
		t.Fatalf("one pass: %v, %v", res.Compacted, err)
	}
	if c.edge != nil {
		t.Error("the edge of the pass's last hour is held until the next pass (the hour before is read again then)")
	}
	for range 3 {
		if res, err := each.compactor(t, func(o *Options) { o.MaxHours = 1 }).Once(t.Context()); err != nil || len(res.Compacted) != 1 {
			t.Fatalf("a pass of one hour: %v, %v", res.Compacted, err)
		}
	}
	for _, k := range one.tableKeys() {
		if !bytes.Equal(one.srv.Object(bucket, k), each.srv.Object(bucket, k)) {
			t.Errorf("%s differs between one pass and a pass an hour", k)
		}
	}
	raw := one.srv.Object(bucket, key(table.Placements, h10.Add(time.Hour)))
	rows, err := table.Read[table.Placement](raw)
	if err != nil || len(rows) != 2 || !rows[0].Continued {
		t.Errorf("second hour's rows %+v, %v: want 2, continued", rows, err)
	}
}

// TestCrashBetweenFiles: a pass that wrote placements and failed on
// node_events leaves the hour to the next pass, which writes only the
// missing file.
func TestCrashBetweenFiles(t *testing.T) {
	f := newFixture(t)
	f.put(t, hourOf(h10, 2))
	f.clk.SetTime(h10.Add(2 * time.Hour))
	f.srv.Fail = func(r *http.Request) int {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/node_events/") {
			return http.StatusForbidden
		}
		return 0
	}
	var results []string
	c := f.compactor(t, func(o *Options) { o.Observe = func(t, r string) { results = append(results, t+" "+r) } })
	if _, err := c.Once(t.Context()); !errors.Is(err, storeio.ErrForbidden) {
		t.Fatalf("pass: %v, want the refused write", err)
	}
	if got := f.tableKeys(); !slices.Equal(got, []string{key(table.Placements, h10)}) {
		t.Fatalf("after the failed pass: %v", got)
	}
	f.srv.Fail = nil
	f.srv.ResetRequests()
	res, err := c.Once(t.Context())
	if err != nil || !slices.Equal(res.Written, []string{table.Key("", table.NodeEvents, "prod", h10)}) || f.srv.Requests("PUT object") != 1 {
		t.Fatalf("next pass wrote %v (%d PUTs), %v; want node_events only", res.Written, f.srv.Requests("PUT object"), err)
	}
	if want := []string{"placements written", "node_events error", "node_events written"}; !slices.Equal(results, want) {
		t.Errorf("observed %v, want %v", results, want)
	}
}

// TestAlreadyThere: a file another writer put there first is success.
func TestAlreadyThere(t *testing.T) {
	f := newFixture(t)
	f.put(t, hourOf(h10, 1))
	f.clk.SetTime(h10.Add(2 * time.Hour))
	want := f.want(t, h10)
	c := f.compactor(t, nil)
	// Between this pass's listing and its writes: the listing says not done.
	done, err := c.done(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.PutFile(t.Context(), table.Key("", table.Placements, "prod", h10), want[table.Placements]); err != nil {
		t.Fatal(err)
	}
	written, err := c.hour(t.Context(), h10, done[h10])
	if err != nil || !slices.Equal(written, []string{table.Key("", table.NodeEvents, "prod", h10)}) {
		t.Errorf("wrote %v, %v; want node_events, placements found there", written, err)
	}
}

// TestRetention: hours older than Keep are not compacted and their files
// are deleted; MaxHours bounds a pass and the rest follow.
func TestRetention(t *testing.T) {
	f := newFixture(t)
	for i := range 6 {
		f.put(t, hourOf(h10.Add(time.Duration(i)*time.Hour), 1))
	}
	f.clk.SetTime(h10.Add(7 * time.Hour))
	c := f.compactor(t, func(o *Options) { o.MaxHours = 4 })
	res, err := c.Once(t.Context())
	if err != nil || len(res.Compacted) != 4 || res.Left != 2 {
		t.Fatalf("first pass: %v left %d, %v; want 4 hours, 2 left", res.Compacted, res.Left, err)
	}
	// Keep 4h at 17:00: hours that ended at or before 13:00 expire (10, 11,
	// 12); 13, 14, 15 are kept, and 14 and 15 are compacted now.
	c.opts.Keep = 4 * time.Hour
	res, err = c.Once(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := []time.Time{h10.Add(4 * time.Hour), h10.Add(5 * time.Hour)}; !slices.Equal(res.Compacted, want) || len(res.Deleted) != 6 {
		t.Errorf("pass with Keep: compacted %v, deleted %v; want 14:00 and 15:00, 6 files", res.Compacted, res.Deleted)
	}
	var hours []string
	for _, k := range f.tableKeys() {
		if strings.Contains(k, "/placements/") {
			hours = append(hours, k[strings.Index(k, "hour="):][:7])
		}
	}
	if want := []string{"hour=13", "hour=14", "hour=15"}; !slices.Equal(hours, want) {
		t.Errorf("placements files of %v, want %v", hours, want)
	}
}

// TestFlushed: an hour is compacted only once the writer stored it.
func TestFlushed(t *testing.T) {
	f := newFixture(t)
	f.put(t, hourOf(h10, 1))
	f.clk.SetTime(h10.Add(3 * time.Hour))
	var flushed time.Time
	c := f.compactor(t, func(o *Options) { o.Flushed = func() time.Time { return flushed } })
	for _, tc := range []struct {
		flushed time.Time
		want    int
	}{{time.Time{}, 0}, {h10.Add(59 * time.Minute), 0}, {h10.Add(time.Hour), 1}} {
		flushed = tc.flushed
		res, err := c.Once(t.Context())
		if err != nil || len(res.Compacted) != tc.want {
			t.Errorf("flushed up to %v: compacted %v, %v; want %d hours", tc.flushed, res.Compacted, err, tc.want)
		}
	}
}

// TestWith: compaction runs beside work, a pass on every tick, stops with
// work, and a store without files is refused before work runs.
func TestWith(t *testing.T) {
	f := newFixture(t)
	f.put(t, hourOf(h10, 1))
	f.clk.SetTime(h10.Add(50 * time.Minute))
	err := With(t.Context(), Options{Store: f.st, Retry: quick, Clock: f.clk, Every: time.Minute,
		Log: nil}, func(ctx context.Context) error {
		// The first pass runs at once and finds the hour open; the next,
		// after the hour closed, compacts it.
		if err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			return f.clk.HasWaiters(), nil
		}); err != nil {
			return err
		}
		f.clk.Step(21 * time.Minute)
		return wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			return len(f.tableKeys()) == 2, nil
		})
	})
	if err != nil {
		t.Fatalf("With: %v", err)
	}
	err = With(t.Context(), Options{Store: noFiles{f.st}}, func(context.Context) error {
		t.Error("work ran with a store that keeps no files")
		return nil
	})
	if !errors.Is(err, ErrNoFiles) {
		t.Errorf("With a store without files: %v, want ErrNoFiles", err)
	}
}

// TestParts: an hour decoded a range of namespaces at a time gives the
// same files as the hour decoded whole, with the edge read in parts or kept
// from parts.
func TestParts(t *testing.T) {
	hourIn := func(start time.Time) *store.Hour {
		h := store.NewHour(start)
		for i := range 40 {
			ref := store.PodRef{Namespace: fmt.Sprintf("ns-%d", i%7), Name: fmt.Sprintf("p%02d", i)}
			h.Add(ref, fmt.Sprintf("n%d", i%3), start.Add(time.Duration(i)*time.Second))
			h.Add(ref, fmt.Sprintf("n%d", i%3), start.Add(time.Hour-time.Duration(i)*time.Second))
			h.SetOwner(ref, store.Owner{Kind: "ReplicaSet", Name: fmt.Sprintf("rs%d", i%4)})
		}
		h.AddNodeEvent(store.NodeEvent{Node: "n1", At: start.Add(time.Minute), Event: "node_ready"})
		return h
	}
	for _, order := range []string{"edge read", "edge kept"} {
		t.Run(order, func(t *testing.T) {
			f := newFixture(t)
			f.put(t, hourIn(h10))
			f.put(t, hourIn(h10.Add(time.Hour)))
			f.clk.SetTime(h10.Add(3 * time.Hour))
			c := f.compactor(t, nil)
			c.partLines = 9 // parts of a few namespaces
			if order == "edge read" {
				if _, err := c.Window(t.Context(), h10.Add(time.Hour), h10.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.Window(t.Context(), h10, h10.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			for _, hour := range []time.Time{h10, h10.Add(time.Hour)} {
				want := f.want(t, hour)
				for _, tb := range table.Tables {
					if got := f.srv.Object(bucket, key(tb, hour)); !bytes.Equal(got, want[tb]) {
						t.Errorf("%s of %s: %d bytes, not the %d of the hour encoded whole", tb, hour.Format("15h"), len(got), len(want[tb]))
					}
				}
			}
			if ranges := namespaceRanges(store.NamespaceLines(t.Context(), h10, nil), 9); len(ranges) != 0 {
				t.Errorf("ranges of nothing: %v", ranges)
			}
		})
	}
}

// TestReady: Run's first pass waits for Ready (the recorder's first
// flush), then compacts at once, not a tick later.
func TestReady(t *testing.T) {
	f := newFixture(t)
	f.put(t, hourOf(h10, 1))
	f.clk.SetTime(h10.Add(3 * time.Hour))
	ready := make(chan struct{})
	err := With(t.Context(), Options{Store: f.st, Retry: quick, Clock: f.clk, Ready: ready}, func(ctx context.Context) error {
		// A pass that did not wait would write the closed hour's files
		// within milliseconds.
		time.Sleep(300 * time.Millisecond)
		if keys := f.tableKeys(); len(keys) != 0 {
			return fmt.Errorf("before Ready: %d table files written (%v), want 0", len(keys), keys)
		}
		close(ready)
		return wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			return len(f.tableKeys()) == 2, nil
		})
	})
	if err != nil {
		t.Fatalf("With: %v", err)
	}
}

// noFiles is a store that offers only storeio.Store (as the ConfigMap
// store does).
type noFiles struct{ storeio.Store }
