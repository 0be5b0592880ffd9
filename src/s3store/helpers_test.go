package s3store

import (
	"net/http"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pod-ashiato/ashiato/src/internal/awstest"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/s3store/s3fake"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

const bucket = "history"

var hour15 = time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)

// newFake starts a fake S3 with the bucket and a store of cluster on it.
func newFake(t *testing.T, cluster string) (*s3fake.Server, *Store) {
	t.Helper()
	awstest.Env(t)
	srv := s3fake.New(bucket)
	t.Cleanup(srv.Close)
	return srv, storeOn(t, srv.URL, "ashiato", cluster)
}

func storeOn(t *testing.T, endpoint, prefix, cluster string) *Store {
	t.Helper()
	s, err := New(t.Context(), Options{Endpoint: endpoint, Bucket: bucket, Prefix: prefix, Cluster: cluster})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// quick retries fast and not for long.
var quick = retry.Policy{Backoff: wait.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 50, Cap: 10 * time.Millisecond}, MaxElapsed: 2 * time.Second}

// shard is a store object of the hour with one data key and only the
// store's two labels (no hour or shard label: Legacy).
func shard(hour time.Time, i int, value string) *storeio.Shard {
	return &storeio.Shard{
		Name: store.ShardName(hour, i), Hour: hour, Index: i, Legacy: true,
		Data: map[string]string{"shop_a": value},
	}
}

// failing answers code to every request that matches.
func failing(code int, match func(r *http.Request) bool) func(r *http.Request) int {
	return func(r *http.Request) int {
		if match(r) {
			return code
		}
		return 0
	}
}
