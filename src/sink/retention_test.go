package sink

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
)

var (
	cmGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	// retentionNow is the clock of the retention tests: with Keep 168h, hours up
	// to 2026-11-19T13 (ended 14:00, before now-Keep = 14:30) are expired.
	retentionNow = time.Date(2026, 11, 26, 14, 30, 0, 0, time.UTC)
	weekAgo      = time.Date(2026, 11, 19, 13, 0, 0, 0, time.UTC) // the newest expired hour
)

// cm is a ConfigMap with the given name and labels; uid and resourceVersion
// are derived from the name, as a real API server would set them.
func cm(namespace, name string, labels map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: namespace, Labels: labels,
		UID: types.UID("uid-" + name), ResourceVersion: "1",
	}}
}

var (
	original = map[string]string{store.LabelApp: store.LabelAppValue, store.LabelType: store.LabelTypeValue}
	noLabels = map[string]string(nil)
)

// shard is a shard as the sink writes it, with all four labels.
func shard(hour time.Time, i int) *corev1.ConfigMap {
	objs, err := store.Encode(store.NewHour(hour), i+1)
	if err != nil {
		panic(err)
	}
	o := configMap(objs[i])
	o.UID, o.ResourceVersion = types.UID("uid-"+o.Name), "1"
	return o
}

func newRetention(client *fake.Clientset, keep time.Duration) *Retention {
	log, _ := logtest.NewNullLogger()
	return &Retention{
		Store: configmapstore.New(client.CoreV1(), ns), Keep: keep, Log: log,
		Retry: retry.Policy{Backoff: wait.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 50, Cap: 10 * time.Millisecond}, MaxElapsed: time.Second},
		Now:   func() time.Time { return retentionNow },
	}
}

// enforcePreconditions makes the fake clientset honour delete preconditions
// as the API server does (the fake ignores them).
func enforcePreconditions(client *fake.Clientset) {
	client.PrependReactor("delete", "configmaps", func(action k8stesting.Action) (bool, runtime.Object, error) {
		del := action.(k8stesting.DeleteAction)
		pre := del.GetDeleteOptions().Preconditions
		obj, err := client.Tracker().Get(cmGVR, del.GetNamespace(), del.GetName())
		if err != nil || pre == nil {
			return false, nil, nil
		}
		cur := obj.(*corev1.ConfigMap)
		if (pre.UID != nil && *pre.UID != cur.UID) || (pre.ResourceVersion != nil && *pre.ResourceVersion != cur.ResourceVersion) {
			return true, nil, apierrors.NewConflict(cmRes, cur.Name, errors.New("precondition failed"))
		}
		return false, nil, nil
	})
}

func names(client *fake.Clientset, namespace string) []string {
	list, err := client.Tracker().List(cmGVR, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, namespace)
	if err != nil {
		panic(err)
	}
	var out []string
	for _, o := range list.(*corev1.ConfigMapList).Items {
		out = append(out, o.Name)
	}
	slices.Sort(out)
	return out
}

func TestRetentionOnce(t *testing.T) {
	oldOriginal := store.NameFor(time.Date(2026, 11, 10, 5, 0, 0, 0, time.UTC))
	recentOriginal := store.NameFor(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
	boundary := weekAgo.Add(time.Hour) // ends at 15:00, after now-Keep: kept
	// Every case starts from the same store; want is what Once deletes, in order.
	existing := func() []runtime.Object {
		// An old hour's name with a label edited to a recent hour: not listed
		// by the hour range, so kept (see Once).
		mismatched := shard(retentionNow, 0)
		mismatched.Name = store.NameFor(weekAgo.Add(-72 * time.Hour))
		mismatched.UID = types.UID("uid-" + mismatched.Name)
		return []runtime.Object{
			shard(weekAgo, 0), shard(weekAgo, 1), shard(weekAgo, 2),
			shard(boundary, 0), shard(boundary, 1),
			cm(ns, oldOriginal, original),
			cm(ns, recentOriginal, original),
			cm(ns, store.NameFor(weekAgo.Add(-time.Hour)), noLabels),                                  // not labelled
			cm(ns, store.NameFor(weekAgo.Add(-2*time.Hour)), map[string]string{"app": "pod-ashiato"}), // half labelled
			cm(ns, "pod-ashiato-notes", original),                                                     // not an hour's name
			cm(ns, store.NameFor(weekAgo)+"-01", original),                                            // not the canonical spelling
			cm("elsewhere", store.NameFor(weekAgo.Add(-3*time.Hour)), original),                       // another namespace
			mismatched,
		}
	}
	all := names(fake.NewClientset(existing()...), ns)
	tests := []struct {
		name string
		keep time.Duration
		now  time.Time
		want []string
	}{
		{"keep zero keeps everything", 0, retentionNow, nil},
		{"a week", 168 * time.Hour, retentionNow, []string{oldOriginal, "pod-ashiato-2026111913-2", "pod-ashiato-2026111913-1", "pod-ashiato-2026111913"}},
		{"an hour that ended exactly keep ago", 168 * time.Hour, time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC),
			[]string{oldOriginal, "pod-ashiato-2026111913-2", "pod-ashiato-2026111913-1", "pod-ashiato-2026111913"}},
		{"a second before it ended keep ago", 168 * time.Hour, time.Date(2026, 11, 26, 13, 59, 59, 0, time.UTC), []string{oldOriginal}},
		{"a day", 24 * time.Hour, retentionNow, []string{oldOriginal, "pod-ashiato-2026111913-2", "pod-ashiato-2026111913-1", "pod-ashiato-2026111913",
			"pod-ashiato-2026111914-1", "pod-ashiato-2026111914"}},
		{"longer than anything stored", 24 * 365 * time.Hour, retentionNow, nil},
		{"negative keeps everything", -time.Hour, retentionNow, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(existing()...)
			enforcePreconditions(client)
			r := newRetention(client, tt.keep)
			r.Now = func() time.Time { return tt.now }
			deleted, err := r.Once(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(deleted) != fmt.Sprint(tt.want) {
				t.Errorf("deleted\n %v\nwant\n %v", deleted, tt.want)
			}
			left := names(client, ns)
			wantLeft := slices.DeleteFunc(slices.Clone(all), func(n string) bool { return slices.Contains(tt.want, n) })
			if fmt.Sprint(left) != fmt.Sprint(wantLeft) {
				t.Errorf("left\n %v\nwant\n %v", left, wantLeft)
			}
			if got := names(client, "elsewhere"); len(got) != 1 {
				t.Errorf("another namespace was touched: %v", got)
			}
			for _, a := range client.Actions() {
				if tt.keep <= 0 {
					t.Errorf("keep %s made a request: %s", tt.keep, a.GetVerb())
				}
				switch a := a.(type) {
				case k8stesting.ListAction:
					sel := a.GetListRestrictions().Labels
					app, ok1 := sel.RequiresExactMatch(store.LabelApp)
					typ, ok2 := sel.RequiresExactMatch(store.LabelType)
					if !ok1 || !ok2 || app != store.LabelAppValue || typ != store.LabelTypeValue {
						t.Errorf("listed with %q, not within the store's labels", sel)
					}
				case k8stesting.DeleteAction:
					pre := a.GetDeleteOptions().Preconditions
					if pre == nil || pre.ResourceVersion == nil || *pre.ResourceVersion != "1" {
						t.Errorf("delete of %s without the listed resourceVersion as precondition: %+v", a.GetName(), pre)
					}
				}
			}
		})
	}
}

// TestRetentionSkipsReplaced: an object deleted and created again (a new UID)
// or written (a new resourceVersion) between the listing and the delete is
// kept; the others are still deleted and nothing fails.
func TestRetentionSkipsReplaced(t *testing.T) {
	for _, change := range []string{"uid", "resourceVersion", "deleted"} {
		t.Run(change, func(t *testing.T) {
			client := fake.NewClientset(shard(weekAgo, 0), shard(weekAgo, 1))
			enforcePreconditions(client)
			victim := store.NameFor(weekAgo)
			var once sync.Once
			client.PrependReactor("list", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
				// Change the object right after the listing saw it.
				once.Do(func() {
					client.PrependReactor("delete", "configmaps", func(action k8stesting.Action) (bool, runtime.Object, error) {
						if action.(k8stesting.DeleteAction).GetName() != victim {
							return false, nil, nil
						}
						o := shard(weekAgo, 0)
						switch change {
						case "uid":
							// Created again: a new UID and, as etcd gives
							// every write, a new resourceVersion.
							o.UID, o.ResourceVersion = "uid-new", "3"
						case "resourceVersion":
							o.ResourceVersion = "2"
						case "deleted":
							if err := client.Tracker().Delete(cmGVR, ns, victim); err != nil {
								t.Error(err)
							}
							return false, nil, nil
						}
						if err := client.Tracker().Update(cmGVR, o, ns); err != nil {
							t.Error(err)
						}
						return false, nil, nil
					})
				})
				return false, nil, nil
			})
			deleted, err := newRetention(client, 168*time.Hour).Once(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(deleted) != "[pod-ashiato-2026111913-1]" {
				t.Errorf("deleted %v, want only the unchanged shard", deleted)
			}
			want := "[" + victim + "]"
			if change == "deleted" {
				want = "[]"
			}
			if got := names(client, ns); fmt.Sprint(got) != want {
				t.Errorf("left %v, want %s", got, want)
			}
		})
	}
}

func TestRetentionOnceErrors(t *testing.T) {
	tests := []struct {
		name    string
		verb    string
		err     error
		times   int // the reactor fails this many calls, then lets them through
		wantErr string
		deleted int
	}{
		{"a list retried", "list", apierrors.NewServiceUnavailable("busy"), 2, "", 2},
		{"a delete retried", "delete", apierrors.NewTooManyRequests("slow down", 0), 1, "", 2},
		{"list forbidden", "list", apierrors.NewForbidden(cmRes, "", errors.New("no")), 1 << 30, "or set --retention 0", 0},
		{"delete forbidden", "delete", apierrors.NewForbidden(cmRes, "x", errors.New("no")), 1 << 30, "or set --retention 0", 0},
		{"server down for good", "list", apierrors.NewServiceUnavailable("down"), 1 << 30, "giving up", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(shard(weekAgo, 0), shard(weekAgo, 1))
			var mu sync.Mutex
			calls := 0
			client.PrependReactor(tt.verb, "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
				mu.Lock()
				defer mu.Unlock()
				if calls++; calls <= tt.times {
					return true, nil, tt.err
				}
				return false, nil, nil
			})
			r := newRetention(client, 168*time.Hour)
			r.Retry.MaxElapsed = 50 * time.Millisecond
			deleted, err := r.Once(t.Context())
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if len(deleted) != tt.deleted {
				t.Errorf("deleted %v, want %d objects", deleted, tt.deleted)
			}
		})
	}
}

func TestRetentionRun(t *testing.T) {
	t.Run("keep zero returns at once", func(t *testing.T) {
		client := fake.NewClientset(shard(weekAgo, 0))
		if err := newRetention(client, 0).Run(t.Context(), time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if len(client.Actions()) != 0 {
			t.Errorf("requests with keep 0: %v", client.Actions())
		}
	})

	t.Run("missing grant found at start", func(t *testing.T) {
		client := fake.NewClientset(shard(weekAgo, 0))
		client.PrependReactor("delete", "configmaps", func(action k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(cmRes, action.(k8stesting.DeleteAction).GetName(), errors.New("RBAC: no"))
		})
		r := newRetention(client, 168*time.Hour)
		r.Flag = "--cm-retention" // as the user gave it
		err := r.Run(t.Context(), time.Hour)
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "or set --cm-retention 0") {
			t.Fatalf("Run = %v, want a Forbidden that says how to fix it", err)
		}
		for _, a := range client.Actions() {
			if d, ok := a.(k8stesting.DeleteAction); ok && (len(d.GetDeleteOptions().DryRun) == 0 || d.GetName() != configmapstore.ProbeName) {
				t.Errorf("deleted %s for real before knowing it may", d.GetName())
			}
			if a.GetVerb() == "list" {
				t.Error("listed before knowing it may delete")
			}
		}
	})

	t.Run("a failed round is tried again", func(t *testing.T) {
		client := fake.NewClientset(shard(weekAgo, 0))
		var mu sync.Mutex
		lists := 0
		client.PrependReactor("list", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
			mu.Lock()
			defer mu.Unlock()
			if lists++; lists == 1 {
				return true, nil, apierrors.NewBadRequest("a non-retryable failure") // the round ends
			}
			return false, nil, nil
		})
		log, hook := logtest.NewNullLogger()
		r := newRetention(client, 168*time.Hour)
		r.Log = log
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx, 10*time.Millisecond) }()
		deadline := time.Now().Add(10 * time.Second)
		for len(names(client, ns)) > 0 {
			if time.Now().After(deadline) {
				t.Fatal("the hour was never deleted")
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v after cancel, want nil", err)
		}
		var warned, reported bool
		for _, e := range hook.AllEntries() {
			warned = warned || e.Level == logrus.WarnLevel && strings.Contains(e.Message, "retention failed")
			reported = reported || e.Level == logrus.InfoLevel && fmt.Sprint(e.Data["deleted"]) == "["+store.NameFor(weekAgo)+"]"
		}
		if !warned || !reported {
			t.Errorf("log does not tell the failed round (%v) and the deletion (%v)", warned, reported)
		}
	})

	t.Run("forbidden in a round ends Run", func(t *testing.T) {
		client := fake.NewClientset(shard(weekAgo, 0))
		client.PrependReactor("delete", "configmaps", func(action k8stesting.Action) (bool, runtime.Object, error) {
			if len(action.(k8stesting.DeleteAction).GetDeleteOptions().DryRun) > 0 {
				return false, nil, nil
			}
			return true, nil, apierrors.NewForbidden(cmRes, "x", errors.New("no"))
		})
		err := newRetention(client, 168*time.Hour).Run(t.Context(), time.Hour)
		if !apierrors.IsForbidden(err) {
			t.Fatalf("Run = %v, want Forbidden", err)
		}
	})
}
