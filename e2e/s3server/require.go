package s3server

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// RequireBinary fails the test when $ASHIATO_SEAWEEDFS_BIN is unset: a test
// that needs the server must not pass by skipping (bash tools/test.sh e2e
// builds it and sets the variable). Only with -short, the quick run, does it
// skip.
func RequireBinary(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvBin) != "" {
		return
	}
	msg := fmt.Sprintf("%s is not set; build SeaweedFS with `bash tools/seaweedfs/build.sh` and export %s=<the folder it prints>", EnvBin, EnvBin)
	if testing.Short() {
		t.Skip(msg + " (-short: skipped)")
	}
	t.Fatal(msg)
}

// StartT starts a server for a test in a directory of its own and closes it
// when the test ends. The directory is kept (and named in the test log) when
// the test fails, so weed.log can be read.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.BinDir == "" {
		RequireBinary(t)
	}
	dir, err := os.MkdirTemp("", "ashiato-s3-")
	if err != nil {
		t.Fatal(err)
	}
	// Not t.Context(): it ends before cleanups run; Start bounds only the start.
	s, err := Start(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("start seaweedfs (dir kept: %s): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("stop seaweedfs: %v", err)
		}
		if t.Failed() {
			t.Logf("seaweedfs dir kept: %s (log: %s/weed.log)", dir, dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	return s
}
