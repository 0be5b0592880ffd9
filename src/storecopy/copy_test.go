package storecopy

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/internal/awstest"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/s3store"
	"github.com/pod-ashiato/ashiato/src/s3store/s3fake"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
	"github.com/pod-ashiato/ashiato/src/storeread"
)

const ns = "hist"

var (
	hour10 = time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	quick  = retry.Policy{Backoff: wait.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 20, Cap: 5 * time.Millisecond}, MaxElapsed: 2 * time.Second}
)

// hourWith encodes an hour of n pods named prefix-i, with long names when
// long (so it takes several shards).
func hourWith(t *testing.T, hour time.Time, prefix string, n int, long bool) []*storeio.Shard {
	t.Helper()
	h := store.NewHour(hour)
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	for i := range n {
		name := fmt.Sprintf("%s-%d", prefix, i)
		if long { // random names compress poorly, so few pods fill a shard
			b := make([]byte, 230)
			for j := range b {
				b[j] = alphabet[r.IntN(len(alphabet))]
			}
			name += "-" + string(b)
		}
		h.Pods[store.PodRef{Namespace: "shop", Name: name}] = []store.Seen{{Node: "n1", First: hour.Add(time.Minute), Last: hour.Add(10 * time.Minute)}}
	}
	cms, err := store.Encode(h, 0)
	if err != nil {
		t.Fatal(err)
	}
	return cms
}

func objects(cms ...[]*storeio.Shard) []runtime.Object {
	var out []runtime.Object
	for _, list := range cms {
		for _, cm := range list {
			out = append(out, configmapstore.New(nil, ns).ConfigMap(cm))
		}
	}
	return out
}

// pods decodes what a store holds for the hour.
func pods(t *testing.T, objs storeio.Store, hour time.Time) (*store.Hour, int) {
	t.Helper()
	got, err := storeread.ReadHour(t.Context(), objs, hour, quick)
	if err != nil {
		t.Fatal(err)
	}
	h, _, warnings := store.Decode(t.Context(), hour, got)
	if len(warnings) > 0 {
		t.Fatalf("warnings %v", warnings)
	}
	return h, len(got)
}

func TestCopy(t *testing.T) {
	awstest.Env(t)
	big := hourWith(t, hour10, "big", 6000, true) // several shards
	small := hourWith(t, hour10.Add(time.Hour), "small", 20, false)
	original := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: store.NameFor(hour10.Add(2 * time.Hour)), Namespace: ns,
			Labels: map[string]string{store.LabelApp: store.LabelAppValue, store.LabelType: store.LabelTypeValue}},
		Data: map[string]string{"shop_old-0": "n1", "shop_old-1": "n1,n2"},
	}
	if len(big) < 2 {
		t.Fatalf("the big hour has %d shards, want several", len(big))
	}
	client := fake.NewClientset(append(objects(big, small), original)...)
	from := configmapstore.New(client.CoreV1(), ns)
	srv := s3fake.New("hist")
	defer srv.Close()
	to, err := s3store.New(t.Context(), s3store.Options{Endpoint: srv.URL, Bucket: "hist", Prefix: "p", Cluster: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	c := &Copier{From: from, To: to, Retry: quick}

	// before writes the hour as a writer that does not merge would: what the
	// copy must keep is the source's pods and what the target held when it
	// wrote (check).
	steps := []struct {
		name   string
		before func()
		want   string
		check  []string
	}{
		{"first copy", nil, fmt.Sprintf("hours=3 copied=3 merged=0 skipped=0 objects_written=%d", len(big)+2), []string{"small-0"}},
		{"again: nothing to do", nil, "hours=3 copied=0 merged=0 skipped=3 objects_written=0 bytes_written=0", nil},
		{"the target holds an hour otherwise: merged", func() {
			other := hourWith(t, hour10.Add(time.Hour), "other", 5, false)
			if _, err := to.Update(t.Context(), withVersion(t, to, other[0])); err != nil {
				t.Fatal(err)
			}
		}, "hours=3 copied=0 merged=1 skipped=2 objects_written=1", []string{"small-0", "small-19", "other-4"}},
		{"a writer races the copy: read, merged again", func() {
			other := hourWith(t, hour10.Add(time.Hour), "racer", 3, false)
			if _, err := to.Update(t.Context(), withVersion(t, to, other[0])); err != nil {
				t.Fatal(err)
			}
			var raced atomic.Bool
			srv.Fail = func(r *http.Request) int {
				if r.Method == http.MethodPut && raced.CompareAndSwap(false, true) {
					// Between the copy's read and its write, another writer.
					late := hourWith(t, hour10.Add(time.Hour), "late", 2, false)
					if _, err := to.Update(t.Context(), withVersion(t, to, late[0])); err != nil {
						t.Error(err)
					}
				}
				return 0
			}
		}, "hours=3 copied=0 merged=1 skipped=2 objects_written=1", []string{"small-0", "small-19", "late-1"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.before != nil {
				st.before()
			}
			srv.ResetRequests()
			sum, err := c.Run(t.Context())
			if err != nil || !strings.HasPrefix(sum.String(), st.want) {
				t.Fatalf("summary %s, %v; want it to start with %s", sum, err, st.want)
			}
			h, _ := pods(t, to, hour10.Add(time.Hour))
			for _, p := range st.check {
				if len(h.Pod(store.PodRef{Namespace: "shop", Name: p})) == 0 {
					t.Errorf("%s missing: %d pods", p, len(h.Pods))
				}
			}
		})
	}
	srv.Fail = nil

	// Pod Ashiato's hours are copied as stored, shard by shard.
	for _, cm := range big {
		got, err := to.Get(t.Context(), cm.Name)
		if err != nil || got == nil || !store.SameContent(cm, got) {
			t.Fatalf("%s not copied as stored: %v", cm.Name, err)
		}
	}
	// The original tool's object is re-encoded: the same placements, times unknown.
	h, n := pods(t, to, hour10.Add(2*time.Hour))
	if n != 1 || len(h.Pods) != 2 || len(h.Pod(store.PodRef{Namespace: "shop", Name: "old-1"})) != 2 {
		t.Fatalf("original hour copied as %d objects: %v", n, h.Pods)
	}
	if srv.Requests("PUT refused") == 0 {
		t.Errorf("the racing writer was not met by a refused conditional write")
	}
}

// withVersion is cm with the ETag the store holds for its name, to replace it.
func withVersion(t *testing.T, s *s3store.Store, cm *storeio.Shard) *storeio.Shard {
	t.Helper()
	cur, err := s.Get(t.Context(), cm.Name)
	if err != nil || cur == nil {
		t.Fatalf("get %s: %v", cm.Name, err)
	}
	out := *cm
	out.Version = cur.Version
	return &out
}
