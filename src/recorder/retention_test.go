package recorder

import (
	"context"
	"errors"
	"testing"
	"time"

	logtest "github.com/sirupsen/logrus/hooks/test"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/metrics"
	"github.com/pod-ashiato/ashiato/src/store"
)

// expiredHour is an hour far older than any retention, as the store holds it.
func expiredHour() *corev1.ConfigMap {
	cms, err := store.Encode(store.NewHour(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)), 0)
	if err != nil {
		panic(err)
	}
	return configmapstore.New(nil, "hist").ConfigMap(cms[0])
}

func TestWithRetention(t *testing.T) {
	log, _ := logtest.NewNullLogger()
	gone := func(client *fake.Clientset) bool {
		_, err := client.CoreV1().ConfigMaps("hist").Get(context.Background(), expiredHour().Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}

	t.Run("oneshot deletes after the work", func(t *testing.T) {
		client := fake.NewClientset(expiredHour())
		cfg := &Config{Oneshot: true, Store: configmapstore.New(client.CoreV1(), "hist"), Retention: time.Hour, RetentionFlag: "retention"}
		err := withRetention(t.Context(), cfg, log, metrics.New(), func(context.Context) error {
			if gone(client) {
				t.Error("deleted before the work was done")
			}
			return nil
		})
		if err != nil || !gone(client) {
			t.Fatalf("err %v, deleted %v", err, gone(client))
		}
	})

	t.Run("nothing without the store or with retention 0", func(t *testing.T) {
		for _, tt := range []struct {
			oneshot, storing bool
			keep             time.Duration
		}{{true, false, time.Hour}, {true, true, 0}, {false, true, 0}} {
			client := fake.NewClientset(expiredHour())
			cfg := &Config{Oneshot: tt.oneshot, Retention: tt.keep, RetentionFlag: "retention"}
			if tt.storing {
				cfg.Store = configmapstore.New(client.CoreV1(), "hist")
			}
			if err := withRetention(t.Context(), cfg, log, metrics.New(), func(context.Context) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if len(client.Actions()) != 0 {
				t.Errorf("%+v: made requests %v", cfg, client.Actions())
			}
		}
	})

	t.Run("continuous deletes while the work runs and stops with it", func(t *testing.T) {
		client := fake.NewClientset(expiredHour())
		cfg := &Config{Store: configmapstore.New(client.CoreV1(), "hist"), Retention: time.Hour, RetentionFlag: "retention"}
		err := withRetention(t.Context(), cfg, log, metrics.New(), func(ctx context.Context) error {
			for !gone(client) {
				select {
				case <-ctx.Done():
					t.Error("work stopped before the hour was deleted")
					return nil
				case <-time.After(5 * time.Millisecond):
				}
			}
			return errors.New("work failed")
		})
		if err == nil || err.Error() != "work failed" {
			t.Fatalf("err %v, want the work's", err)
		}
	})

	t.Run("continuous: a forbidden delete stops the work and is the error", func(t *testing.T) {
		client := fake.NewClientset(expiredHour())
		client.PrependReactor("delete", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "x", errors.New("RBAC"))
		})
		cfg := &Config{Store: configmapstore.New(client.CoreV1(), "hist"), Retention: time.Hour, RetentionFlag: "retention"}
		stopped := false
		err := withRetention(t.Context(), cfg, log, metrics.New(), func(ctx context.Context) error {
			<-ctx.Done() // as the pipeline: drain and return nil
			stopped = true
			return nil
		})
		if !apierrors.IsForbidden(err) || !stopped {
			t.Fatalf("err %v (work stopped: %v), want Forbidden after the work stopped", err, stopped)
		}
	})

	t.Run("oneshot: a failed work is not followed by retention", func(t *testing.T) {
		client := fake.NewClientset(expiredHour())
		cfg := &Config{Oneshot: true, Store: configmapstore.New(client.CoreV1(), "hist"), Retention: time.Hour, RetentionFlag: "retention"}
		err := withRetention(t.Context(), cfg, log, metrics.New(), func(context.Context) error { return errors.New("boom") })
		if err == nil || gone(client) {
			t.Fatalf("err %v, deleted %v", err, gone(client))
		}
	})
}
