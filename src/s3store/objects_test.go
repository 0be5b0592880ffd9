package s3store

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/internal/awstest"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

func TestKeys(t *testing.T) {
	tests := []struct {
		prefix, cluster, name, key string
	}{
		{"ashiato", "prod", store.NameFor(hour15), "ashiato/prod/2026/03/14/15/0"},
		{"/a/b/", "prod", store.ShardName(hour15, 12), "a/b/prod/2026/03/14/15/12"},
		{"", "eu-1.example", store.ShardName(hour15, 3), "eu-1.example/2026/03/14/15/3"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			s := &Store{prefix: strings.Trim(tt.prefix, "/"), cluster: tt.cluster}
			key, err := s.key(tt.name)
			if err != nil || key != tt.key {
				t.Fatalf("key(%s) = %q, %v; want %q", tt.name, key, err, tt.key)
			}
			name, hour, ok := s.nameOf(key)
			if !ok || name != tt.name || !hour.Equal(hour15) {
				t.Fatalf("nameOf(%s) = %q, %s, %v; want %q", key, name, hour, ok, tt.name)
			}
		})
	}
	s := &Store{prefix: "ashiato", cluster: "prod"}
	for _, key := range []string{"ashiato/prod/2026/03/14/15/01", "ashiato/prod/2026/03/14/15/x", "ashiato/prod/2026/03/14/15", "ashiato/other/2026/03/14/15/0", "ashiato/prod/2026/03/14/15/0/extra", "ashiato/prod/2026/13/14/15/0", "ashiato/prod/2026/03/14/15/256"} {
		if name, _, ok := s.nameOf(key); ok {
			t.Errorf("nameOf(%s) = %s, want not a store key", key, name)
		}
	}
}

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"", "", ""},
		{"s3.example.com", "https://s3.example.com", ""},
		{"s3.example.com:8333", "https://s3.example.com:8333", ""},
		{"http://127.0.0.1:8333/", "http://127.0.0.1:8333", ""},
		{"https://storage.googleapis.com", "https://storage.googleapis.com", ""},
		{"ftp://x", "", "scheme"},
		{"https://", "", "no host"},
		{"https://h:99999", "", "port"},
		{"https://h?x=1", "", "only"},
		{"http://a b", "", "invalid"},
		// User info is refused, and no error shows it.
		{"https://alice:s3cr3t@s3.example.com", "", `"https://***@s3.example.com": user info is not used`},
		{"alice:s3cr3t@s3.example.com:9000", "", `"***@s3.example.com:9000": user info`},
		{"https://alice@s3.example.com", "", "user info"},
		{"https://alice:s3/cr3t@s3.example.com", "", `"https://***@s3.example.com": user info`},
		{"https://alice:s3%zzcr3t@s3.example.com", "", "user info"},
		{"https://h/%zz", "", `invalid endpoint "https://h/%zz": invalid URL escape "%zz"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseEndpoint(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseEndpoint(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.err)
				}
				if strings.Contains(err.Error(), "cr3t") || strings.Contains(err.Error(), "alice") || strings.Count(err.Error(), tt.in) > 1 {
					t.Fatalf("ParseEndpoint(%q): error %q shows the user info, or the endpoint twice", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseEndpoint(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestValidNames(t *testing.T) {
	for _, tt := range []struct {
		check func(string) error
		in    string
		ok    bool
	}{
		{ValidBucket, "history", true}, {ValidBucket, "my.bucket-1", true}, {ValidBucket, "ab", false},
		{ValidBucket, "Upper", false}, {ValidBucket, "-x-", false}, {ValidBucket, "a_b", false},
		{ValidCluster, "prod", true}, {ValidCluster, "eu-1.example", true}, {ValidCluster, "a/b", false},
		{ValidCluster, "", false}, {ValidCluster, "Prod", false}, {ValidCluster, "tables", false},
		{ValidPrefix, "", true}, {ValidPrefix, "a/b", true}, {ValidPrefix, "/a/", true}, {ValidPrefix, "a//b", false}, {ValidPrefix, "a/../b", false},
	} {
		if err := tt.check(tt.in); (err == nil) != tt.ok {
			t.Errorf("%q: %v, want ok %v", tt.in, err, tt.ok)
		}
	}
}

// TestConditionalWrites is the resourceVersion contract the sink relies on,
// with ETags.
func TestConditionalWrites(t *testing.T) {
	srv, s := newFake(t, "prod")
	ctx := t.Context()
	cm := shard(hour15, 0, "n1")

	created, err := s.Create(ctx, cm)
	if err != nil || created.Version == "" || created.Annotations[AnnotationCluster] != "prod" {
		t.Fatalf("Create = %+v, %v; want an ETag and the cluster annotation", created, err)
	}
	if cm.Annotations != nil {
		t.Fatalf("Create changed its argument: %v", cm.Annotations)
	}
	steps := []struct {
		name  string
		write func() (*storeio.Shard, error)
		check func(error) bool
	}{
		{"create again: AlreadyExists", func() (*storeio.Shard, error) { return s.Create(ctx, shard(hour15, 0, "n2")) }, is(storeio.ErrAlreadyExists)},
		{"update with a stale ETag: Conflict", func() (*storeio.Shard, error) {
			stale := shard(hour15, 0, "n2")
			stale.Version = `"0123"`
			return s.Update(ctx, stale)
		}, is(storeio.ErrConflict)},
		{"update of a missing object: NotFound", func() (*storeio.Shard, error) {
			gone := shard(hour15, 1, "n2")
			gone.Version = created.Version
			return s.Update(ctx, gone)
		}, is(storeio.ErrNotFound)},
		{"update without an ETag: refused", func() (*storeio.Shard, error) { return s.Update(ctx, shard(hour15, 0, "n2")) }, refused},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if _, err := st.write(); !st.check(err) {
				t.Fatalf("got %v", err)
			}
		})
	}
	got, err := s.Get(ctx, cm.Name)
	if err != nil || got.Data["shop_a"] != "n1" || got.Version != created.Version {
		t.Fatalf("after the refused writes Get = %+v, %v; want the first write", got, err)
	}
	update := *got
	update.Data = map[string]string{"shop_a": "n1,n2"}
	updated, err := s.Update(ctx, &update)
	if err != nil || updated.Version == created.Version {
		t.Fatalf("Update with the read ETag = %v, %v", updated, err)
	}
	if _, err := s.Update(ctx, &update); !errors.Is(err, storeio.ErrConflict) {
		t.Fatalf("a second update with the old ETag = %v, want Conflict", err)
	}
	if keys := srv.Keys(bucket); !slices.Equal(keys, []string{"ashiato/prod/2026/03/14/15/0"}) {
		t.Fatalf("keys %v", keys)
	}
	if err := s.Delete(ctx, storeio.Ref{Name: cm.Name}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, cm.Name); got != nil || err != nil {
		t.Fatalf("Get after Delete = %v, %v; want nil, nil", got, err)
	}
}

// TestBodyIsAConfigMap: the object is the shard as Kubernetes JSON, so
// kubectl apply restores it.
func TestBodyIsAConfigMap(t *testing.T) {
	srv, s := newFake(t, "prod")
	cm := shard(hour15, 0, "n1")
	cm.BinaryData = map[string][]byte{"placements.gz": {1, 2, 3}}
	cm.Version = "17"
	if _, err := s.Create(t.Context(), cm); err != nil {
		t.Fatal(err)
	}
	got := string(srv.Object(bucket, "ashiato/prod/2026/03/14/15/0"))
	want := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"pod-ashiato-2026031415","labels":{"app":"pod-ashiato","type":"pod-node-mapping"},"annotations":{"pod-ashiato/cluster":"prod"}},"data":{"shop_a":"n1"},"binaryData":{"placements.gz":"AQID"}}`
	if got != want {
		t.Fatalf("body\n%s\nwant\n%s", got, want)
	}
}

// TestUnreadableBodyIsAWarning: a body that is not a ConfigMap is read as
// an object the codec warns about; the hour's other shards still read.
func TestUnreadableBodyIsAWarning(t *testing.T) {
	srv, s := newFake(t, "prod")
	if _, err := s.Create(t.Context(), shard(hour15, 0, "n1")); err != nil {
		t.Fatal(err)
	}
	srv.Put(bucket, "ashiato/prod/2026/03/14/15/1", []byte("not json"))
	objs, err := s.ListHour(t.Context(), hour15)
	if err != nil || len(objs) != 2 {
		t.Fatalf("ListHour = %d objects, %v", len(objs), err)
	}
	h, _, warnings := store.Decode(t.Context(), hour15, objs)
	if len(h.Pod(store.PodRef{Namespace: "shop", Name: "a"})) != 1 || len(warnings) != 1 || !strings.Contains(warnings[0].Key, "unreadable S3 object") {
		t.Fatalf("decoded %v, warnings %+v; want shop/a and one warning of the unreadable object", h.Pods, warnings)
	}
}

func TestListing(t *testing.T) {
	srv, s := newFake(t, "prod")
	other := s.ForCluster("staging")
	ctx := t.Context()
	var want []string
	for h := range 4 {
		hour := hour15.Add(time.Duration(h) * time.Hour)
		for i := range 12 { // shard 10 and 11 sort before 2 as text
			if _, err := s.Create(ctx, shard(hour, i, "n1")); err != nil {
				t.Fatal(err)
			}
			if h >= 1 && h <= 2 {
				want = append(want, store.ShardName(hour, i))
			}
		}
		if _, err := other.Create(ctx, shard(hour, 0, "n9")); err != nil {
			t.Fatal(err)
		}
	}
	srv.Put(bucket, "ashiato/prod/README", []byte("not ours"))

	var got []string
	err := s.ListHours(ctx, hour15.Add(time.Hour+time.Minute), hour15.Add(2*time.Hour), 0, quick, "listing", func(cm *storeio.Shard) {
		got = append(got, cm.Name)
	})
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ListHours = %v, %v\nwant %v", got, err, want)
	}
	var refs []string
	if err := s.ListRefs(ctx, time.Time{}, hour15, quick, "listing", func(r storeio.Ref) { refs = append(refs, r.Name) }); err != nil || len(refs) != 12 || refs[0] != store.NameFor(hour15) {
		t.Fatalf("ListRefs to the first hour = %v, %v", refs, err)
	}
	hour, err := s.ListHour(ctx, hour15)
	if err != nil || len(hour) != 12 || hour[0].Name != store.NameFor(hour15) || hour[11].Name != store.ShardName(hour15, 11) {
		t.Fatalf("ListHour = %d objects, %v", len(hour), err)
	}
	clusters, err := s.Clusters(ctx, quick)
	if err != nil || !slices.Equal(clusters, []string{"prod", "staging"}) {
		t.Fatalf("Clusters = %v, %v", clusters, err)
	}
}

// TestErrorKinds: S3's answers become the kinds retry and the sink know.
func TestErrorKinds(t *testing.T) {
	tests := []struct {
		status    int
		retryable bool
		kind      func(error) bool
	}{
		{503, true, is(retry.ErrTransient)}, // the fake answers 503 SlowDown, as S3 throttles
		{500, true, is(retry.ErrTransient)},
		{429, true, is(retry.ErrTransient)},
		{403, false, is(storeio.ErrForbidden)},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv, s := newFake(t, "prod")
			srv.Fail = failing(tt.status, func(*http.Request) bool { return true })
			_, err := s.Create(t.Context(), shard(hour15, 0, "n1"))
			if !tt.kind(err) || retry.Retryable(err) != tt.retryable {
				t.Fatalf("err %v: retryable %v, want %v and the status's kind", err, retry.Retryable(err), tt.retryable)
			}
		})
	}
	t.Run("connection refused is retryable", func(t *testing.T) {
		srv, s := newFake(t, "prod")
		srv.Close()
		_, err := s.Get(t.Context(), store.NameFor(hour15))
		if err == nil || !retry.Retryable(err) || retry.Permanent(err) {
			t.Fatalf("err %v: want retryable", err)
		}
	})
	t.Run("an untrusted certificate is permanent", func(t *testing.T) {
		awstest.Env(t)
		tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
		defer tlsSrv.Close()
		s := storeOn(t, tlsSrv.URL, "", "prod")
		_, err := s.Get(t.Context(), store.NameFor(hour15))
		if !retry.Permanent(err) || retry.Retryable(err) {
			t.Fatalf("err %v: want permanent", err)
		}
	})
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		fail int
		want error
	}{
		{"ok", 0, nil},
		{"forbidden", 403, ErrDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, s := newFake(t, "prod")
			if tt.fail != 0 {
				srv.Fail = failing(tt.fail, func(*http.Request) bool { return true })
			}
			if err := s.Check(t.Context(), time.Second); !errors.Is(err, tt.want) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("a 5xx at start is asked again", func(t *testing.T) {
		srv, s := newFake(t, "prod")
		s.checkBackoff = time.Millisecond
		var heads atomic.Int32
		srv.Fail = func(r *http.Request) int {
			if r.Method == http.MethodHead && heads.Add(1) <= 3 {
				return []int{503, 500, 429}[heads.Load()-1]
			}
			return 0
		}
		if err := s.Check(t.Context(), 5*time.Second); err != nil || heads.Load() != 4 {
			t.Fatalf("Check = %v after %d HEADs, want nil after 4", err, heads.Load())
		}
	})
	t.Run("a 5xx that lasts fails at the timeout", func(t *testing.T) {
		srv, s := newFake(t, "prod")
		s.checkBackoff = time.Millisecond
		srv.Fail = failing(500, func(*http.Request) bool { return true })
		if err := s.Check(t.Context(), 200*time.Millisecond); err == nil || !strings.Contains(err.Error(), "HTTP 500") {
			t.Fatalf("Check = %v, want the 500", err)
		}
	})
	t.Run("no such bucket", func(t *testing.T) {
		srv, _ := newFake(t, "prod")
		s, err := New(t.Context(), Options{Endpoint: srv.URL, Bucket: "missing", Cluster: "prod"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Check(t.Context(), time.Second); !errors.Is(err, ErrNoBucket) {
			t.Fatalf("Check = %v, want ErrNoBucket", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		srv, s := newFake(t, "prod")
		srv.Close()
		if err := s.Check(t.Context(), time.Second); !errors.Is(err, ErrUnreachable) {
			t.Fatalf("Check = %v, want ErrUnreachable", err)
		}
	})
}

// is matches errors that wrap target.
func is(target error) func(error) bool { return func(err error) bool { return errors.Is(err, target) } }

// refused matches an error that is none of the store's kinds and not worth
// another try.
func refused(err error) bool {
	for _, k := range []error{storeio.ErrNotFound, storeio.ErrConflict, storeio.ErrAlreadyExists, storeio.ErrForbidden, storeio.ErrTooLarge} {
		if errors.Is(err, k) {
			return false
		}
	}
	return err != nil && !retry.Retryable(err)
}
