package source

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/retry"
)

func fastRetry() retry.Policy {
	return retry.Policy{Backoff: wait.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 50, Cap: 5 * time.Millisecond}}
}

func TestFromPod(t *testing.T) {
	seen := time.Date(2026, 11, 26, 14, 2, 0, 0, time.FixedZone("X", 3600))
	start := metav1.NewTime(time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC))
	yes := true
	tests := []struct {
		name string
		pod  corev1.Pod
		want record.Placement
	}{
		{
			name: "running pod with controller",
			pod: corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-0", UID: "u1", OwnerReferences: []metav1.OwnerReference{
					{Kind: "ConfigMap", Name: "not-the-controller"},
					{Kind: "StatefulSet", Name: "web", Controller: &yes},
				}},
				Spec: corev1.PodSpec{NodeName: "n1"},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", HostIP: "192.0.2.1", StartTime: &start,
					Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: start}}},
			},
			want: record.Placement{Namespace: "shop", Pod: "web-0", UID: "u1", Node: "n1", PodIP: "10.0.0.1", HostIP: "192.0.2.1",
				Phase: "Running", OwnerKind: "StatefulSet", OwnerName: "web", StartTime: start.UTC(), Timestamp: seen.UTC(),
				Event: record.EventSnapshot, Conditions: []record.Condition{{Type: "Ready", Status: "True", LastTransitionTime: start.UTC()}}},
		},
		{
			name: "owner without controller flag",
			pod:  corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "b", OwnerReferences: []metav1.OwnerReference{{Kind: "Job", Name: "j"}}}},
			want: record.Placement{Namespace: "a", Pod: "b", OwnerKind: "Job", OwnerName: "j", Timestamp: seen.UTC(), Event: record.EventSnapshot},
		},
		{
			name: "bare unscheduled pod",
			pod:  corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "b"}, Status: corev1.PodStatus{Phase: corev1.PodPending}},
			want: record.Placement{Namespace: "a", Pod: "b", Phase: "Pending", Timestamp: seen.UTC(), Event: record.EventSnapshot},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromPod(&tt.pod, seen, record.EventSnapshot)
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want) {
				t.Errorf("FromPod\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func pods(n int) []runtime.Object {
	objs := make([]runtime.Object, n)
	for i := range n {
		objs[i] = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("p%03d", i), Labels: map[string]string{"app": "x"}}, Spec: corev1.PodSpec{NodeName: "n"}}
	}
	return objs
}

// pager makes the fake clientset serve LIST in pages the way the API server
// does: Limit items, a continue token naming the next offset. fail, when set,
// may replace the answer to a request.
func pager(client *fake.Clientset, all []runtime.Object, fail func(call int, opts metav1.ListOptions) error) *[]metav1.ListOptions {
	var seen []metav1.ListOptions
	client.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		opts := a.(k8stesting.ListActionImpl).GetListOptions()
		seen = append(seen, opts)
		if fail != nil {
			if err := fail(len(seen), opts); err != nil {
				return true, nil, err
			}
		}
		from, _ := strconv.Atoi(opts.Continue)
		to := min(from+int(opts.Limit), len(all))
		list := &corev1.PodList{}
		for _, o := range all[from:to] {
			list.Items = append(list.Items, *o.(*corev1.Pod))
		}
		if to < len(all) {
			list.Continue = strconv.Itoa(to)
		}
		return true, list, nil
	})
	return &seen
}

func collect(t *testing.T, src Source, ctx context.Context) ([]string, error) {
	t.Helper()
	out := make(chan record.Placement, 1000)
	err := src.Run(ctx, out)
	var got []string
	for p := range out {
		got = append(got, p.Pod)
	}
	return got, err
}

func TestListPaginates(t *testing.T) {
	all := pods(25)
	expired := apierrors.NewResourceExpired("continue token too old")
	tests := []struct {
		name      string
		fail      func(call int, opts metav1.ListOptions) error
		wantCalls int
	}{
		{"pages", nil, 3},
		{"transient errors are retried", func(call int, _ metav1.ListOptions) error {
			if call == 2 || call == 3 {
				return apierrors.NewTooManyRequests("slow down", 0)
			}
			return nil
		}, 5},
		{"expired continue token resumes exactly", func(call int, opts metav1.ListOptions) error {
			if call == 3 && opts.Continue != "" {
				return expired
			}
			return nil
		}, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset()
			calls := pager(client, all, tt.fail)
			l := &List{Client: client, Selection: Selection{Namespace: "ns", LabelSelector: "app=x"}, PageSize: 10, Retry: fastRetry()}
			got, err := collect(t, l, t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(all) {
				t.Fatalf("sent %d pods, want %d: %v", len(got), len(all), got)
			}
			for i, name := range got {
				if want := all[i].(*corev1.Pod).Name; name != want {
					t.Fatalf("pod %d is %s, want %s (each once, in order)", i, name, want)
				}
			}
			if len(*calls) != tt.wantCalls {
				t.Errorf("%d LIST calls, want %d", len(*calls), tt.wantCalls)
			}
			for _, o := range *calls {
				if o.Limit != 10 || o.LabelSelector != "app=x" {
					t.Errorf("LIST sent limit=%d selector=%q, want 10 and app=x", o.Limit, o.LabelSelector)
				}
			}
		})
	}
}

func TestListFailsOnPermanentError(t *testing.T) {
	client := fake.NewClientset()
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("RBAC"))
	pager(client, pods(3), func(int, metav1.ListOptions) error { return forbidden })
	_, err := collect(t, &List{Client: client, Retry: fastRetry()}, t.Context())
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "listing pods") {
		t.Fatalf("Run = %v, want a wrapped Forbidden", err)
	}
}

func TestListPollsUntilStopped(t *testing.T) {
	client := fake.NewClientset(pods(2)...)
	ctx, cancel := context.WithCancel(t.Context())
	cycles := 0
	client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		cycles++
		if cycles == 3 {
			cancel()
		}
		return false, nil, nil
	})
	got, err := collect(t, &List{Client: client, Interval: 5 * time.Millisecond, Retry: fastRetry()}, ctx)
	if err != nil {
		t.Fatalf("a stop is not an error: %v", err)
	}
	if cycles != 3 || len(got) < 4 {
		t.Fatalf("%d cycles sent %d records, want 3 cycles and at least 2 full ones", cycles, len(got))
	}
}
