package export

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/internal/awstest"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/s3store"
	"github.com/pod-ashiato/ashiato/src/s3store/s3fake"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
	"github.com/pod-ashiato/ashiato/src/table"
)

const ns = "hist"

var (
	h10   = time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	quick = retry.Policy{Backoff: wait.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 20, Cap: 5 * time.Millisecond}, MaxElapsed: 2 * time.Second}
)

// hours are three stored hours of a pod running through them, and the hour
// before them holds the original tool's object (no times).
func hours(t *testing.T) [][]*storeio.Shard {
	t.Helper()
	var out [][]*storeio.Shard
	for i := range 3 {
		start := h10.Add(time.Duration(i) * time.Hour)
		h := store.NewHour(start)
		for p := range 5 {
			ref := store.PodRef{Namespace: "shop", Name: fmt.Sprintf("web-%d", p)}
			h.Add(ref, fmt.Sprintf("n%d", p%2), start.Add(time.Duration(p)*time.Minute))
			h.Add(ref, fmt.Sprintf("n%d", p%2), start.Add(time.Hour-time.Second))
		}
		h.AddNodeEvent(store.NodeEvent{Node: "n1", At: start.Add(time.Minute), Event: "node_not_ready"})
		shards, err := store.Encode(h, 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, shards)
	}
	return out
}

// original is the original tool's object of the hour before h10.
var original = &corev1.ConfigMap{
	ObjectMeta: metav1.ObjectMeta{Name: store.NameFor(h10.Add(-time.Hour)), Namespace: ns,
		Labels: map[string]string{store.LabelApp: store.LabelAppValue, store.LabelType: store.LabelTypeValue}},
	Data: map[string]string{"shop_old-0": "n1"},
}

func configMapStore(t *testing.T) storeio.Store {
	client := fake.NewClientset(original)
	st := configmapstore.New(client.CoreV1(), ns)
	for _, shards := range hours(t) {
		for _, s := range shards {
			if _, err := st.Create(t.Context(), s); err != nil {
				t.Fatal(err)
			}
		}
	}
	return st
}

func s3Store(t *testing.T) (*s3fake.Server, *s3store.Store) {
	awstest.Env(t)
	srv := s3fake.New("hist")
	t.Cleanup(srv.Close)
	st, err := s3store.New(t.Context(), s3store.Options{Endpoint: srv.URL, Bucket: "hist", Prefix: "p", Cluster: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	for _, shards := range hours(t) {
		for _, s := range shards {
			if _, err := st.Create(t.Context(), s); err != nil {
				t.Fatal(err)
			}
		}
	}
	return srv, st
}

// files reads a folder's files: key -> bytes.
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestExportBothStores: the same hours in either store export to the same
// files; the open hour is left; a rerun writes nothing.
func TestExportBothStores(t *testing.T) {
	_, s3st := s3Store(t)
	clk := clocktesting.NewFakeClock(h10.Add(3*time.Hour + 5*time.Minute)) // 12:00 closed, 13:00 not
	run := func(src storeio.Store, dir string) Result {
		t.Helper()
		dest, err := Folder(dir)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(t.Context(), src, Options{Since: h10, Cluster: "prod", Dest: dest, Retry: quick, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	fromCM, fromS3 := t.TempDir(), t.TempDir()
	cm := configMapStore(t)
	if res := run(cm, fromCM); len(res.Written) != 4 {
		t.Errorf("from ConfigMaps wrote %v, want 2 hours' files (12:00 is not closed)", res.Written)
	}
	run(s3st, fromS3)
	a, b := files(t, fromCM), files(t, fromS3)
	want := []string{
		table.Key("", table.NodeEvents, "prod", h10), table.Key("", table.NodeEvents, "prod", h10.Add(time.Hour)),
		table.Key("", table.Placements, "prod", h10), table.Key("", table.Placements, "prod", h10.Add(time.Hour)),
	}
	if got := keysOf(a); !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	for k := range a {
		if !bytes.Equal(a[k], b[k]) {
			t.Errorf("%s differs between the ConfigMap store's export and the S3 store's", k)
		}
	}
	if res := run(cm, fromCM); len(res.Written) != 0 {
		t.Errorf("again: wrote %v, want nothing", res.Written)
	}
	clk.Step(time.Hour)
	if res := run(cm, fromCM); len(res.Written) != 2 {
		t.Errorf("an hour later: wrote %v, want the hour closed since", res.Written)
	}
}

// TestExportOriginal: the original tool's hour (ConfigMap store, no hour
// label) is exported, its times unknown.
func TestExportOriginal(t *testing.T) {
	dir := t.TempDir()
	dest, _ := Folder(dir)
	res, err := Run(t.Context(), configMapStore(t), Options{Until: h10.Add(-time.Hour), Cluster: "c", Dest: dest, Retry: quick})
	if err != nil || len(res.Written) != 2 {
		t.Fatalf("wrote %v, %v; want the original hour's two files", res.Written, err)
	}
	raw := files(t, dir)[table.Key("", table.Placements, "c", h10.Add(-time.Hour))]
	rows, err := table.Read[table.Placement](raw)
	if err != nil || len(rows) != 1 || rows[0].Pod != "old-0" || !rows[0].FirstSeen.IsZero() {
		t.Errorf("rows %+v, %v; want old-0 with no times", rows, err)
	}
}

// TestExportToS3: into a bucket and prefix, the same bytes as into a folder.
func TestExportToS3(t *testing.T) {
	srv, src := s3Store(t)
	d, err := ParseDest("s3://hist/exports/x")
	if err != nil {
		t.Fatal(err)
	}
	dest, err := Open(t.Context(), d, s3store.Options{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Cluster: "prod", Until: h10.Add(time.Hour), Retry: quick}
	opts.Dest = dest
	if _, err := Run(t.Context(), src, opts); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	opts.Dest, _ = Folder(dir)
	if _, err := Run(t.Context(), src, opts); err != nil {
		t.Fatal(err)
	}
	local := files(t, dir)
	if len(local) != 4 {
		t.Fatalf("folder has %v", keysOf(local))
	}
	for k, b := range local {
		if !bytes.Equal(srv.Object("hist", "exports/x/"+k), b) {
			t.Errorf("s3://hist/exports/x/%s is not the folder's file", k)
		}
	}
}

func TestParseDest(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Dest
		err  bool
	}{
		{"out", Dest{Dir: "out"}, false},
		{"/tmp/x/", Dest{Dir: "/tmp/x/"}, false},
		{"s3://bucket", Dest{Bucket: "bucket"}, false},
		{"s3://bucket/a/b/", Dest{Bucket: "bucket", Prefix: "a/b"}, false},
		{"", Dest{}, true},
		{"s3://", Dest{}, true},
		{"s3://B/x", Dest{}, true},
		{"s3://bucket/a//b", Dest{}, true},
		{"gs://bucket", Dest{}, true},
	} {
		got, err := ParseDest(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseDest(%q) = %+v, %v", tc.in, got, err)
		}
		if err != nil && !errors.Is(err, ErrUsage) {
			t.Errorf("ParseDest(%q): %v does not wrap ErrUsage", tc.in, err)
		}
	}
}

// TestFolderPutFile: create only, whole files, no temporary file left.
func TestFolderPutFile(t *testing.T) {
	dir := t.TempDir()
	f, _ := Folder(dir)
	key := "tables/v1/placements/cluster=c/date=2026-03-14/hour=10/part-0.parquet"
	if err := f.PutFile(t.Context(), key, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := f.PutFile(t.Context(), key, []byte("two")); !errors.Is(err, storeio.ErrAlreadyExists) {
		t.Errorf("second PutFile: %v, want ErrAlreadyExists", err)
	}
	got := files(t, dir)
	if len(got) != 1 || string(got[key]) != "one" {
		t.Errorf("folder holds %v", got)
	}
	for _, bad := range []string{"x", "tables/../../etc/passwd", "/tables/x"} {
		if err := f.PutFile(t.Context(), bad, nil); err == nil || !strings.Contains(err.Error(), "not under") {
			t.Errorf("PutFile(%q): %v, want refused", bad, err)
		}
	}
}
