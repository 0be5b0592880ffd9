package configmapstore

import (
	"errors"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

const ns = "hist"

var (
	hour14 = time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	cmRes  = schema.GroupResource{Resource: "configmaps"}
)

// TestShardConfigMap: a shard and its ConfigMap carry the same thing, the
// store's labels written from Hour, Index and Legacy, others' labels kept.
func TestShardConfigMap(t *testing.T) {
	tests := []struct {
		name   string
		shard  storeio.Shard
		labels map[string]string
	}{
		{"shard 0", storeio.Shard{Name: store.NameFor(hour14), Hour: hour14, Index: 0,
			Annotations: map[string]string{store.AnnotationShards: "2"}, Data: map[string]string{"shop_a": "n1"}, Version: "7"},
			map[string]string{"app": "pod-ashiato", "type": "pod-node-mapping", "pod-ashiato/hour": "2026112614", "pod-ashiato/shard": "0"}},
		{"shard 3 with a label of someone else's", storeio.Shard{Name: store.ShardName(hour14, 3), Hour: hour14, Index: 3,
			Labels: map[string]string{"team": "x"}, BinaryData: map[string][]byte{store.KeyPacked: {1}}},
			map[string]string{"app": "pod-ashiato", "type": "pod-node-mapping", "pod-ashiato/hour": "2026112614", "pod-ashiato/shard": "3", "team": "x"}},
		{"the original tool's", storeio.Shard{Name: store.NameFor(hour14), Hour: hour14, Legacy: true, Data: map[string]string{"shop_a": "n1"}},
			map[string]string{"app": "pod-ashiato", "type": "pod-node-mapping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cm := New(nil, ns).ConfigMap(&tt.shard)
			if cm.Namespace != ns || cm.ResourceVersion != tt.shard.Version || !reflect.DeepEqual(cm.Labels, tt.labels) {
				t.Fatalf("ConfigMap = %+v, want namespace %s, resourceVersion %q, labels %v", cm.ObjectMeta, ns, tt.shard.Version, tt.labels)
			}
			if back := Shard(cm); !reflect.DeepEqual(back, tt.shard) {
				t.Fatalf("Shard(ConfigMap(s)) = %+v, want %+v", back, tt.shard)
			}
		})
	}
}

// TestErrors: the API server's answers become storeio's sentinels, with the
// status still in the chain for apierrors and retry.
func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		sentinel  error
		retryable bool
	}{
		{"conflict", apierrors.NewConflict(cmRes, "x", errors.New("changed")), storeio.ErrConflict, false},
		{"already exists", apierrors.NewAlreadyExists(cmRes, "x"), storeio.ErrAlreadyExists, false},
		{"not found", apierrors.NewNotFound(cmRes, "x"), storeio.ErrNotFound, false},
		{"forbidden", apierrors.NewForbidden(cmRes, "x", errors.New("rbac")), storeio.ErrForbidden, false},
		{"unauthorized", apierrors.NewUnauthorized("who"), storeio.ErrForbidden, false},
		{"too large", apierrors.NewRequestEntityTooLargeError("1 MiB"), storeio.ErrTooLarge, false},
		{"unavailable", apierrors.NewServiceUnavailable("down"), nil, true},
	}
	all := []error{storeio.ErrConflict, storeio.ErrAlreadyExists, storeio.ErrNotFound, storeio.ErrForbidden, storeio.ErrTooLarge}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Error(tt.err)
			for _, s := range all {
				if errors.Is(got, s) != (s == tt.sentinel) {
					t.Errorf("errors.Is(%v, %v) = %v", got, s, errors.Is(got, s))
				}
			}
			var status apierrors.APIStatus
			if !errors.As(got, &status) || got.Error() != tt.err.Error() || retry.Retryable(got) != tt.retryable {
				t.Errorf("Error(%v) = %v: the status lost, the message changed or retryable %v", tt.err, got, retry.Retryable(got))
			}
		})
	}
	if Error(nil) != nil {
		t.Error("Error(nil) is not nil")
	}
}

// TestStore is the contract on the fake clientset: a write returns the
// version, others' objects are not the store's, a refused write is the
// sentinel, and the delete check tells a refusal apart.
func TestStore(t *testing.T) {
	foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: store.ShardName(hour14, 1), Namespace: ns}}
	client := fake.NewClientset(foreign)
	s := New(client.CoreV1(), ns)
	ctx := t.Context()
	created, err := s.Create(ctx, &storeio.Shard{Name: store.NameFor(hour14), Hour: hour14, Data: map[string]string{"shop_a": "n1"}})
	if err != nil || created.Hour != hour14 || created.Legacy {
		t.Fatalf("Create = %+v, %v", created, err)
	}
	if _, err := s.Create(ctx, created); !errors.Is(err, storeio.ErrAlreadyExists) {
		t.Fatalf("a second Create = %v, want ErrAlreadyExists", err)
	}
	if got, err := s.Get(ctx, foreign.Name); got != nil || err != nil {
		t.Fatalf("Get of an object without the store's labels = %v, %v; want nil, nil", got, err)
	}
	if got, err := s.Get(ctx, store.ShardName(hour14, 2)); got != nil || err != nil {
		t.Fatalf("Get of nothing = %v, %v; want nil, nil", got, err)
	}
	hour, err := s.ListHour(ctx, hour14)
	if err != nil || len(hour) != 1 || hour[0].Data["shop_a"] != "n1" {
		t.Fatalf("ListHour = %+v, %v", hour, err)
	}
	if err := s.CheckDelete(ctx); err != nil {
		t.Fatalf("CheckDelete with delete allowed = %v", err)
	}
	client.PrependReactor("delete", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(cmRes, ProbeName, errors.New("RBAC"))
	})
	if err := s.CheckDelete(ctx); !errors.Is(err, storeio.ErrForbidden) || !apierrors.IsForbidden(err) {
		t.Fatalf("CheckDelete without delete = %v, want ErrForbidden", err)
	}
}
