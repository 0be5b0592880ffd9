package s3store

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/sink"
	"github.com/pod-ashiato/ashiato/src/store"
)

func placement(pod, node string, at time.Time) record.Placement {
	return record.Placement{Namespace: "shop", Pod: pod, Node: node, Timestamp: at, Event: record.EventSnapshot}
}

// longName is a random pod name of 253 characters: random names compress
// poorly, so few pods fill a shard.
func longName(r *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 253)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func newSink(objs *Store) *sink.Writer {
	return &sink.Writer{
		Store: objs, FlushInterval: time.Hour, FinalTimeout: 20 * time.Second,
		Retry: retry.Policy{Backoff: wait.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 50, Cap: 10 * time.Millisecond}, MaxElapsed: time.Second},
	}
}

// feed runs a sink over the placements until they are all stored.
func feed(t *testing.T, s *sink.Writer, in []record.Placement) error {
	t.Helper()
	ch := make(chan record.Placement, len(in))
	for _, p := range in {
		ch <- p
	}
	close(ch)
	return s.Run(t.Context(), ch)
}

// storedPods decodes the hour as stored, whatever state it is in.
func storedPods(t *testing.T, s *Store, hour time.Time) (map[store.PodRef][]store.Seen, []store.Warning) {
	t.Helper()
	objs, err := s.ListHour(t.Context(), hour)
	if err != nil {
		t.Fatal(err)
	}
	h, _, warnings := store.Decode(t.Context(), hour, objs)
	return h.Pods, warnings
}

// growth is 1,000 short-named pods, then enough long-named ones to grow the
// hour to several shards.
func growth() (first, burst []record.Placement) {
	at := hour15.Add(time.Minute)
	for i := range 1000 {
		first = append(first, placement(fmt.Sprintf("a-%d", i), fmt.Sprintf("node-%d", i%10), at))
	}
	r := rand.New(rand.NewPCG(12, 12))
	for range 7000 {
		burst = append(burst, placement(longName(r), "node-long", at.Add(time.Minute)))
	}
	return first, burst
}

// TestGrowthWritesShardZeroLast: through the interface, an hour that grows
// writes its new shards first and shard 0, which carries the count, last; a
// growth refused part way leaves every pod stored before readable.
func TestGrowthWritesShardZeroLast(t *testing.T) {
	first, burst := growth()
	tests := []struct {
		name   string
		refuse string // key suffix whose PUT fails (503) during the growth
	}{
		{"complete", ""},
		{"shard 1 refused", "/15/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, s := newFake(t, "prod")
			if err := feed(t, newSink(s), first); err != nil {
				t.Fatal(err)
			}
			var (
				mu   sync.Mutex
				puts []string
			)
			srv.Fail = func(r *http.Request) int {
				if r.Method != http.MethodPut {
					return 0
				}
				mu.Lock()
				defer mu.Unlock()
				if tt.refuse != "" && strings.HasSuffix(r.URL.Path, tt.refuse) {
					return http.StatusServiceUnavailable
				}
				puts = append(puts, r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:])
				return 0
			}
			grower := newSink(s)
			if tt.refuse != "" {
				grower.FinalTimeout = 2 * time.Second // it gives up then
			}
			err := feed(t, grower, burst)
			pods, warnings := storedPods(t, s, hour15)
			for _, p := range first {
				if len(pods[store.PodRef{Namespace: "shop", Name: p.Pod}]) == 0 {
					t.Fatalf("shop/%s stored before the growth is lost (writes %v, warnings %v)", p.Pod, puts, warnings)
				}
			}
			if tt.refuse != "" {
				if err == nil || slices.Contains(puts, "0") {
					t.Fatalf("refused growth: err %v, writes %v; want an error and shard 0 untouched", err, puts)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			shards := make([]int, len(puts))
			for i, p := range puts {
				shards[i], _ = strconv.Atoi(p)
			}
			if len(shards) < 2 || shards[len(shards)-1] != 0 || !slices.IsSortedFunc(shards, func(a, b int) int { return b - a }) {
				t.Fatalf("writes in order %v, want the highest shard first and 0 last", puts)
			}
			if len(pods) != len(first)+len(burst) || len(warnings) != 0 {
				t.Fatalf("%d pods stored, warnings %v; want %d", len(pods), warnings, len(first)+len(burst))
			}
			t.Logf("growth writes, in order: %v", puts)
		})
	}
}

// TestConcurrentWritersLoseNothing: writers of one hour race on the same
// objects; the conditional writes make every loser read, merge and write
// again, so every placement of every writer is stored.
func TestConcurrentWritersLoseNothing(t *testing.T) {
	srv, s := newFake(t, "prod")
	const writers, pods = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	start := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var in []record.Placement
			for i := range pods {
				in = append(in, placement(fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("node-%d", w), hour15.Add(time.Duration(w)*time.Minute)))
			}
			<-start
			errs <- feed(t, newSink(s.ForCluster("prod")), in)
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	stored, _ := storedPods(t, s, hour15)
	if len(stored) != writers*pods {
		t.Fatalf("%d pods stored, want %d (refused writes %d)", len(stored), writers*pods, srv.Requests("PUT refused"))
	}
	if srv.Requests("PUT refused") == 0 {
		t.Fatalf("no write was refused: the writers did not race")
	}
	t.Logf("writers=%d pods=%d refused_writes=%d puts=%d", writers, writers*pods, srv.Requests("PUT refused"), srv.Requests("PUT object"))
}

// TestReadersAnswerAsFromConfigMaps: the same placements stored in both
// stores give the same answers, and a pod's history reads two objects an
// hour from S3, as from ConfigMaps.
func TestReadersAnswerAsFromConfigMaps(t *testing.T) {
	srv, s := newFake(t, "prod")
	client := fake.NewClientset()
	first, burst := growth()
	var in []record.Placement
	in = append(in, first...)
	in = append(in, burst[:3000]...)
	// The next hour: some pods moved, one left.
	next := hour15.Add(time.Hour + 2*time.Minute)
	in = append(in, placement("a-1", "node-9", next), placement("a-2", "node-2", next))
	cms := newSink(nil)
	cms.Store = configmapstore.New(client.CoreV1(), "ashiato")
	if err := feed(t, cms, in); err != nil {
		t.Fatal(err)
	}
	if err := feed(t, newSink(s), in); err != nil {
		t.Fatal(err)
	}
	retried := retry.Policy{MaxElapsed: time.Second}
	fromCM := &history.Reader{Store: configmapstore.New(client.CoreV1(), "ashiato"), Retry: retried}
	fromS3 := &history.Reader{Store: s, Retry: retried}
	w := history.Window{Since: hour15, Until: hour15.Add(2 * time.Hour)}
	for _, pod := range []string{"a-1", "a-2", "a-999", "nope"} {
		ref := store.PodRef{Namespace: "shop", Name: pod}
		want, _, err := fromCM.PodRows(t.Context(), ref, w)
		if err != nil {
			t.Fatal(err)
		}
		srv.ResetRequests()
		got, warnings, err := fromS3.PodRows(t.Context(), ref, w)
		if err != nil || len(warnings) > 0 || !slices.Equal(got, want) {
			t.Fatalf("PodRows(%s) from S3 = %v, %v, %v\nfrom ConfigMaps %v", ref, got, warnings, err, want)
		}
		// Three hours (the one before the window too): shard 0, the shard
		// past the count (absent), the pod's shard; an hour without shard 0
		// is listed.
		if gets := srv.Requests("GET object"); gets > 3*3 {
			t.Errorf("PodRows(%s) read %d objects, want at most 3 an hour", ref, gets)
		}
	}
	for _, node := range []string{"node-1", "node-9", "node-long"} {
		want, _, err := fromCM.NodeRows(t.Context(), node, w)
		if err != nil {
			t.Fatal(err)
		}
		got, warnings, err := fromS3.NodeRows(t.Context(), node, w)
		if err != nil || len(warnings) > 0 || !slices.Equal(got, want) || len(want) == 0 {
			t.Fatalf("NodeRows(%s) from S3: %d rows, %v, %v; from ConfigMaps %d rows", node, len(got), warnings, err, len(want))
		}
	}
	wantHours, _, _ := fromCM.Read(t.Context(), w)
	gotHours, _, err := fromS3.Read(t.Context(), w)
	if err != nil || len(gotHours) != len(wantHours) || len(gotHours) != 2 {
		t.Fatalf("Read: %d hours from S3 (%v), %d from ConfigMaps", len(gotHours), err, len(wantHours))
	}
	for i := range gotHours {
		if len(gotHours[i].Pods) != len(wantHours[i].Pods) {
			t.Fatalf("hour %s: %d pods from S3, %d from ConfigMaps", gotHours[i].Start, len(gotHours[i].Pods), len(wantHours[i].Pods))
		}
	}
}

// TestRetentionDeletesOldHours: retention lists the cluster's prefix and
// deletes the hours that ended more than Keep ago, shard 0 last, and only
// this cluster's.
func TestRetentionDeletesOldHours(t *testing.T) {
	srv, s := newFake(t, "prod")
	other := s.ForCluster("staging")
	ctx := t.Context()
	for h := range 5 {
		hour := hour15.Add(time.Duration(h) * time.Hour)
		for i := range 3 {
			if _, err := s.Create(ctx, shard(hour, i, "n1")); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := other.Create(ctx, shard(hour, 0, "n1")); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu      sync.Mutex
		deletes []string
	)
	srv.Fail = func(r *http.Request) int {
		if r.Method == http.MethodDelete {
			mu.Lock()
			deletes = append(deletes, strings.TrimPrefix(r.URL.Path, "/"+bucket+"/ashiato/prod/"))
			mu.Unlock()
		}
		return 0
	}
	// Now is 18:30: with Keep 1h, the hours that ended by 17:30 go (15, 16).
	r := &sink.Retention{Store: s, Keep: time.Hour, Retry: quick, Now: func() time.Time { return hour15.Add(3*time.Hour + 30*time.Minute) }}
	deleted, err := r.Once(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2026/03/14/15/2", "2026/03/14/15/1", "2026/03/14/15/0", "2026/03/14/16/2", "2026/03/14/16/1", "2026/03/14/16/0"}
	if !slices.Equal(deletes, want) || len(deleted) != 6 {
		t.Fatalf("deleted %v (%v), want %v", deletes, deleted, want)
	}
	left := srv.Keys(bucket)
	if len(left) != 3*3+5 || !slices.Contains(left, "ashiato/staging/2026/03/14/15/0") {
		t.Fatalf("left %v", left)
	}
}
