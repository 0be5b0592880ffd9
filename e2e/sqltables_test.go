package e2e

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pod-ashiato/ashiato/e2e/s3server"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/s3store"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
	"github.com/pod-ashiato/ashiato/src/table"
)

// tablesRetry retries the listing of a cluster's hours on a loaded machine.
var tablesRetry = retry.Policy{Backoff: wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Steps: 6, Cap: time.Second}}

// openS3Store is the S3 store of cluster in the server's bucket under s3Prefix.
func openS3Store(t *testing.T, srv *s3server.Server, cluster string) *s3store.Store {
	t.Helper()
	st, err := s3store.New(t.Context(), s3store.Options{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Prefix: s3Prefix, Cluster: cluster})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// compactTables writes the tables of every stored hour of cluster into the
// bucket beside its hours, with the product's table writer.
func compactTables(t *testing.T, srv *s3server.Server, cluster string) {
	t.Helper()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	eachStoredHour(t, openS3Store(t, srv, cluster), func(h *store.Hour, files table.Files) {
		for name, data := range files {
			key := table.Key(s3Prefix, name, cluster, h.Start)
			if _, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
				t.Fatalf("writing %s: %v", key, err)
			}
		}
	})
}

// eachStoredHour decodes every hour st holds in the last 32 days, oldest
// first, and hands it with its tables to f.
func eachStoredHour(t *testing.T, st storeio.Store, f func(*store.Hour, table.Files)) {
	t.Helper()
	last := store.HourOf(time.Now())
	byHour := map[time.Time][]storeio.Shard{}
	err := st.ListHours(t.Context(), last.Add(-32*24*time.Hour), last, 0, tablesRetry, "listing the hours", func(sh *storeio.Shard) {
		hour, _, ok := store.ParseName(sh.Name)
		if ok {
			byHour[hour] = append(byHour[hour], *sh)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	var prev *store.Hour
	for hour := last.Add(-32 * 24 * time.Hour); !hour.After(last); hour = hour.Add(time.Hour) {
		shards := byHour[hour]
		if len(shards) == 0 {
			prev = nil
			continue
		}
		h, _, warns := store.Decode(t.Context(), hour, shards)
		if len(warns) > 0 {
			t.Fatalf("decoding %s: %v", hour, warns)
		}
		var edge *table.Edge
		if prev != nil {
			edge = table.EdgeOf(prev)
		}
		files, err := table.Encode(h, edge)
		if err != nil {
			t.Fatal(err)
		}
		f(h, files)
		prev = h
	}
}

// mirrorTables copies the bucket's tables/ keys byte for byte into a
// folder, as <folder>/<key>, and returns the folder.
func mirrorTables(t *testing.T, srv *s3server.Server) string {
	t.Helper()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	prefix := s3Prefix + "/" + table.Root + "/"
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(srv.Bucket), Prefix: aws.String(prefix)})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			out, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String(key)})
			if err != nil {
				t.Fatalf("reading %s: %v", key, err)
			}
			data, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil {
				t.Fatalf("reading %s: %v", key, err)
			}
			writeFile(t, filepath.Join(dir, filepath.FromSlash(key)), data)
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no table files under %s", prefix)
	}
	return dir
}

// exportTables writes the tables of every stored hour of the clusters into
// a new folder, as <folder>/tables/v1/..., and returns the folder.
func exportTables(t *testing.T, srv *s3server.Server, clusters ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, cluster := range clusters {
		eachStoredHour(t, openS3Store(t, srv, cluster), func(h *store.Hour, files table.Files) {
			writeTables(t, dir, cluster, h.Start, files)
		})
	}
	return dir
}

// writeTables writes an hour's tables of cluster under dir, as an export
// folder holds them.
func writeTables(t *testing.T, dir, cluster string, hour time.Time, files table.Files) {
	t.Helper()
	for name, data := range files {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(table.Key("", name, cluster, hour))), data)
	}
}

// writeFile writes data at path, making its folders.
func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
