package e2e

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pod-ashiato/ashiato/e2e/s3server"
	"github.com/pod-ashiato/ashiato/src/compact"
	"github.com/pod-ashiato/ashiato/src/export"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/s3store"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/table"
)

// tablesRetry retries the store's calls on a loaded machine.
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

// compactTables runs the recorder's compaction (package compact) over
// every stored hour of cluster, the current one too: it writes the tables
// beside the hours as the recorder does once an hour is closed.
func compactTables(t *testing.T, srv *s3server.Server, cluster string) {
	t.Helper()
	c, err := compact.New(compact.Options{Store: openS3Store(t, srv, cluster), Retry: tablesRetry, MaxHours: 1000})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Window(t.Context(), time.Time{}, time.Now())
	if err != nil || res.Left > 0 || len(res.Written) == 0 {
		t.Fatalf("compacting %s: wrote %d files, %d hours left: %v", cluster, len(res.Written), res.Left, err)
	}
}

// exportTables exports every stored hour of the clusters into a new folder
// (package export, what ashiato store export runs), its clock past the end
// of the current hour so that this hour is closed too, and returns the
// folder.
func exportTables(t *testing.T, srv *s3server.Server, clusters ...string) string {
	t.Helper()
	dir := t.TempDir()
	dest, err := export.Folder(dir)
	if err != nil {
		t.Fatal(err)
	}
	later := clocktesting.NewFakeClock(store.HourOf(time.Now()).Add(time.Hour + compact.DefaultGrace))
	for _, cluster := range clusters {
		res, err := export.Run(t.Context(), openS3Store(t, srv, cluster), export.Options{Cluster: cluster, Dest: dest, Retry: tablesRetry, Clock: later})
		if err != nil || len(res.Written) == 0 {
			t.Fatalf("exporting %s: wrote %d files: %v", cluster, len(res.Written), err)
		}
	}
	return dir
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
			path := filepath.Join(dir, filepath.FromSlash(key))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no table files under %s", prefix)
	}
	return dir
}

// folderFiles reads every file under dir: its path below dir to its bytes.
func folderFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
