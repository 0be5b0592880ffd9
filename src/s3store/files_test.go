package s3store

import (
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/pod-ashiato/ashiato/src/storeio"
)

// TestFiles: files go under <prefix>/tables/, are created once, list in key
// order, are deleted (twice is no error), and are not clusters.
func TestFiles(t *testing.T) {
	srv, s := newFake(t, "prod")
	ctx := t.Context()
	keys := []string{"tables/v1/b/x", "tables/v1/a/y", "tables/v1/a/x"}
	for _, k := range keys {
		if err := s.PutFile(ctx, k, []byte(k)); err != nil {
			t.Fatalf("PutFile(%s): %v", k, err)
		}
	}
	if got := string(srv.Object(bucket, "ashiato/tables/v1/a/x")); got != "tables/v1/a/x" {
		t.Errorf("object body %q", got)
	}
	if err := s.PutFile(ctx, "tables/v1/a/x", []byte("other")); !errors.Is(err, storeio.ErrAlreadyExists) {
		t.Errorf("second PutFile: %v, want ErrAlreadyExists", err)
	}
	if got := string(srv.Object(bucket, "ashiato/tables/v1/a/x")); got != "tables/v1/a/x" {
		t.Errorf("a refused PutFile changed the body: %q", got)
	}
	var listed []string
	if err := s.ListFiles(ctx, "tables/v1/a/", quick, func(k string) { listed = append(listed, k) }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"tables/v1/a/x", "tables/v1/a/y"}; !slices.Equal(listed, want) {
		t.Errorf("ListFiles = %v, want %v", listed, want)
	}
	if err := s.DeleteFile(ctx, "tables/v1/a/x"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFile(ctx, "tables/v1/a/x"); err != nil {
		t.Errorf("deleting a file gone: %v", err)
	}
	if got := s.FileLocation("tables/v1/a/y"); got != "s3://history/ashiato/tables/v1/a/y" {
		t.Errorf("FileLocation = %q", got)
	}
	clusters, err := s.Clusters(ctx, quick)
	if err != nil || len(clusters) != 0 {
		t.Errorf("Clusters = %v, %v; want none (tables is not a cluster)", clusters, err)
	}
	for _, bad := range []string{"prod/2026/03/14/15/0", "tables", "tables//x", "tables/../prod/2026/03/14/15/0"} {
		if err := s.PutFile(ctx, bad, nil); !errors.Is(err, errNotAFile) {
			t.Errorf("PutFile(%q): %v, want refused", bad, err)
		}
	}
}

// TestListFilesRetried: a page that fails with a 503 is asked again.
func TestListFilesRetried(t *testing.T) {
	srv, s := newFake(t, "prod")
	if err := s.PutFile(t.Context(), "tables/x", nil); err != nil {
		t.Fatal(err)
	}
	failed := 0
	srv.Fail = func(r *http.Request) int {
		if r.Method == http.MethodGet && failed < 2 {
			failed++
			return http.StatusServiceUnavailable
		}
		return 0
	}
	var listed []string
	if err := s.ListFiles(t.Context(), "tables/", quick, func(k string) { listed = append(listed, k) }); err != nil || len(listed) != 1 {
		t.Errorf("ListFiles = %v, %v; want tables/x after two 503s", listed, err)
	}
}
