package s3store

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/s3store/s3fake"
	"github.com/pod-ashiato/ashiato/src/store"
)

const bucket = "history"

var hour15 = time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)

// awsEnv gives the AWS chain static test credentials and nothing of the
// machine's own (shared files, instance metadata).
func awsEnv(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test-secret", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_PROFILE": "", "AWS_CA_BUNDLE": "",
		"AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_S3": "",
	} {
		t.Setenv(k, v)
	}
}

// newFake starts a fake S3 with the bucket and a store of cluster on it.
func newFake(t *testing.T, cluster string) (*s3fake.Server, *Store) {
	t.Helper()
	awsEnv(t)
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

// shard is a store object of the hour as Encode would write it, with one
// data key.
func shard(hour time.Time, i int, value string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: store.ShardName(hour, i), Labels: map[string]string{
			store.LabelApp: store.LabelAppValue, store.LabelType: store.LabelTypeValue,
		}},
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
