package s3server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestServer starts one SeaweedFS and checks, against it, what the S3 store
// relies on: conditional PUTs, decided under the server's per-object lock
// even when writers race, and data that survives a stop and a restart on the
// same endpoint.
func TestServer(t *testing.T) {
	srv := StartT(t, Options{})
	client, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("conditional put", func(t *testing.T) { testConditionalPut(t, srv, client) })
	t.Run("racing conditional puts", func(t *testing.T) { testRacingPuts(t, srv, client) })
	t.Run("lifecycle rule of docs/s3.md", func(t *testing.T) { testLifecycle(t, srv, client) })
	t.Run("restart keeps data", func(t *testing.T) { testRestart(t, srv, client) })
}

// testLifecycle: the retention rule docs/s3.md gives (docs/s3-lifecycle.json,
// the file `aws s3api put-bucket-lifecycle-configuration` takes) is accepted
// by the server and read back as written.
func testLifecycle(t *testing.T, srv *Server, client *s3.Client) {
	ctx := t.Context()
	data, err := os.ReadFile(filepath.Join(repoRoot(), "docs", "s3-lifecycle.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg types.BucketLifecycleConfiguration
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("docs/s3-lifecycle.json is not a lifecycle configuration: %v", err)
	}
	if len(cfg.Rules) != 1 || cfg.Rules[0].Expiration == nil || aws.ToInt32(cfg.Rules[0].Expiration.Days) != 7 {
		t.Fatalf("docs/s3-lifecycle.json: %+v, want one rule expiring after 7 days (the ConfigMap store's default retention)", cfg)
	}
	if _, err := client.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
		Bucket: &srv.Bucket, LifecycleConfiguration: &cfg,
	}); err != nil {
		t.Fatalf("the server refuses the lifecycle rule: %v", err)
	}
	got, err := client.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: &srv.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rules) != 1 || aws.ToString(got.Rules[0].Filter.Prefix) != "pod-ashiato/" || aws.ToInt32(got.Rules[0].Expiration.Days) != 7 ||
		got.Rules[0].Status != types.ExpirationStatusEnabled {
		t.Errorf("lifecycle read back: %+v", got.Rules)
	}
}

// repoRoot is the repository root: under bazel test the runfiles folder
// holding the test's data, under go test two levels above this package.
func repoRoot() string {
	if srcdir, ws := os.Getenv("TEST_SRCDIR"), os.Getenv("TEST_WORKSPACE"); srcdir != "" && ws != "" {
		return filepath.Join(srcdir, ws)
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// put is a PutObject with optional If-None-Match and If-Match; it returns the
// new ETag and the HTTP status (200 on success).
func put(ctx context.Context, client *s3.Client, bucket, key, body, ifNoneMatch, ifMatch string) (string, int, error) {
	in := &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: strings.NewReader(body)}
	if ifNoneMatch != "" {
		in.IfNoneMatch = &ifNoneMatch
	}
	if ifMatch != "" {
		in.IfMatch = &ifMatch
	}
	// No retries: a 412 is an answer, and a retried PUT would hide a race.
	out, err := client.PutObject(ctx, in, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	if err != nil {
		// The SDK wraps a transport error (refused, reset) in a ResponseError
		// too, with no status.
		var re *awshttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() != 0 {
			return "", re.HTTPStatusCode(), nil
		}
		return "", 0, err
	}
	return aws.ToString(out.ETag), http.StatusOK, nil
}

func get(ctx context.Context, t *testing.T, client *s3.Client, bucket, key string) string {
	t.Helper()
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return string(b)
}

func testConditionalPut(t *testing.T, srv *Server, client *s3.Client) {
	ctx := t.Context()
	const key = "conditional/hour"
	var first, second string
	steps := []struct {
		name                 string
		body                 string
		ifNoneMatch, ifMatch func() string
		want                 int
		keep                 *string // where the new ETag goes
	}{
		{name: "create if absent", body: "v1", ifNoneMatch: star, want: 200, keep: &first},
		{name: "create if absent, again", body: "v1-lost", ifNoneMatch: star, want: 412},
		{name: "replace the version read", body: "v2", ifMatch: func() string { return first }, want: 200, keep: &second},
		{name: "replace a stale version", body: "v2-lost", ifMatch: func() string { return first }, want: 412},
		{name: "replace an absent object", body: "x", ifMatch: func() string { return first }, want: 404},
	}
	for _, st := range steps {
		k := key
		if st.want == 404 {
			k = key + "-absent"
		}
		var inm, im string
		if st.ifNoneMatch != nil {
			inm = st.ifNoneMatch()
		}
		if st.ifMatch != nil {
			im = st.ifMatch()
		}
		etag, code, err := put(ctx, client, srv.Bucket, k, st.body, inm, im)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if code != st.want {
			t.Errorf("%s (If-None-Match %q, If-Match %q): HTTP %d, want %d", st.name, inm, im, code, st.want)
		}
		if st.keep != nil {
			*st.keep = etag
		}
	}
	if first == "" || second == "" || first == second {
		t.Errorf("ETags of the two versions: %q and %q, want two different ones", first, second)
	}
	if got := get(ctx, t, client, srv.Bucket, key); got != "v2" {
		t.Errorf("after the refused writes the object reads %q, want v2", got)
	}
}

func star() string { return "*" }

// testRacingPuts: writers that start together on one key, as two ashiato
// processes flushing the same hour would. Of those creating it with
// If-None-Match: * exactly one wins; of those replacing the version they all
// read with If-Match exactly one wins a round, and the object holds the
// winner's bytes. A server that checked the condition outside its write lock
// would let several win.
func testRacingPuts(t *testing.T, srv *Server, client *s3.Client) {
	ctx := t.Context()
	const writers, rounds = 8, 4
	key := fmt.Sprintf("race/%d", time.Now().UnixNano())
	race := func(ifNoneMatch, ifMatch string, round int) (winners []string, codes map[int]int) {
		codes = map[int]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range writers {
			wg.Go(func() {
				body := fmt.Sprintf("round %d writer %d", round, w)
				<-start
				_, code, err := put(ctx, client, srv.Bucket, key, body, ifNoneMatch, ifMatch)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				codes[code]++
				if code == http.StatusOK {
					winners = append(winners, body)
				}
			})
		}
		close(start)
		wg.Wait()
		return winners, codes
	}
	check := func(what string, winners []string, codes map[int]int) {
		t.Helper()
		if len(winners) != 1 || codes[http.StatusPreconditionFailed] != writers-1 {
			t.Fatalf("%s: %d of %d writers won (answers %v), want exactly 1 and %d × 412", what, len(winners), writers, codes, writers-1)
		}
		if got := get(ctx, t, client, srv.Bucket, key); got != winners[0] {
			t.Fatalf("%s: the object reads %q, want the winner's %q", what, got, winners[0])
		}
	}
	winners, codes := race("*", "", 0)
	check("If-None-Match: *", winners, codes)
	for round := 1; round <= rounds; round++ {
		head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &srv.Bucket, Key: &key})
		if err != nil {
			t.Fatal(err)
		}
		winners, codes := race("", aws.ToString(head.ETag), round)
		check(fmt.Sprintf("If-Match round %d", round), winners, codes)
	}
}

// testRestart: an object written before a stop reads back after a restart at
// the same endpoint; while stopped the endpoint refuses connections.
func testRestart(t *testing.T, srv *Server, client *s3.Client) {
	ctx := t.Context()
	const key = "restart/kept"
	if _, code, err := put(ctx, client, srv.Bucket, key, "kept", "", ""); err != nil || code != 200 {
		t.Fatalf("put: HTTP %d, %v", code, err)
	}
	endpoint := srv.Endpoint
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if srv.Running() {
		t.Fatal("still running after Stop")
	}
	if _, _, err := put(ctx, client, srv.Bucket, key, "while down", "", ""); err == nil {
		t.Error("a PUT succeeded while the server was stopped")
	}
	start := time.Now()
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted in %s", time.Since(start).Round(time.Millisecond))
	if srv.Endpoint != endpoint {
		t.Errorf("endpoint after restart %s, want %s", srv.Endpoint, endpoint)
	}
	if got := get(ctx, t, client, srv.Bucket, key); got != "kept" {
		t.Errorf("after restart the object reads %q, want kept", got)
	}
}
