package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/pod-ashiato/ashiato/src/record"
)

// streamPods are pods in the API server's key order (namespace/name; "a-b"
// sorts before "a/"), with what FromPod reads set.
func streamPods(n int) []corev1.Pod {
	start := metav1.NewTime(time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC))
	yes := true
	var out []corev1.Pod
	for i := range n {
		ns := []string{"a-b", "a", "b"}[i%3]
		out = append(out, corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("web-%04d", i), UID: types.UID(fmt.Sprint("u", i)),
				ResourceVersion: "7", Labels: map[string]string{"app": "web"},
				OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-1", Controller: &yes}}},
			Spec: corev1.PodSpec{NodeName: fmt.Sprintf("node-%d", i%7), Containers: []corev1.Container{{Name: "c", Image: "img"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", HostIP: "192.0.2.1", StartTime: &start,
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: start}}},
		})
	}
	slices.SortFunc(out, func(a, b corev1.Pod) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return out
}

func encodeList(t testing.TB, items []corev1.Pod, asJSON bool) []byte {
	t.Helper()
	list := &corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"},
		ListMeta: metav1.ListMeta{ResourceVersion: "12345"}, Items: items}
	var buf bytes.Buffer
	if asJSON {
		if err := json.NewEncoder(&buf).Encode(list); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	s := protobuf.NewSerializerWithOptions(scheme.Scheme, scheme.Scheme, protobuf.SerializerOptions{StreamingCollectionsEncoding: true})
	if err := s.Encode(list, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fakeAPIServer answers pod LISTs. Each response is served by the next entry
// of responses (the last one repeats).
type fakeAPIServer struct {
	t         *testing.T
	mu        sync.Mutex
	requests  []*http.Request
	responses []func(w http.ResponseWriter)
}

func (f *fakeAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r)
	i := min(len(f.requests), len(f.responses)) - 1
	respond := f.responses[i]
	f.mu.Unlock()
	respond(w)
}

func (f *fakeAPIServer) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// body serves data, or only its first cut bytes (cut ≥ 0) while declaring its
// full length, so the client reads an unexpected EOF.
func body(data []byte, contentType string, cut int) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(http.StatusOK)
		if cut >= 0 {
			data = data[:cut]
		}
		_, _ = w.Write(data)
	}
}

func status(code int, reason metav1.StatusReason) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(&metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status: metav1.StatusFailure, Code: int32(code), Reason: reason, Message: string(reason)})
	}
}

const protobufType = "application/vnd.kubernetes.protobuf"

func runStream(t *testing.T, f *fakeAPIServer, sel Selection) ([]record.Placement, int, error) {
	t.Helper()
	f.t = t
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL,
		ContentConfig: rest.ContentConfig{ContentType: protobufType}})
	if err != nil {
		t.Fatal(err)
	}
	seen := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	cycled := -1
	s := &Stream{Client: client, Selection: sel, Retry: fastRetry(), Now: func() time.Time { return seen },
		OnCycle: func(n int) { cycled = n }}
	out := make(chan record.Placement, 1)
	done := make(chan error, 1)
	go func() { done <- s.Run(t.Context(), out) }()
	var got []record.Placement
	for p := range out {
		got = append(got, p)
	}
	return got, cycled, <-done
}

func wantRecords(items []corev1.Pod) []record.Placement {
	seen := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	var want []record.Placement
	for i := range items {
		want = append(want, FromPod(&items[i], seen, record.EventSnapshot))
	}
	return want
}

func TestStream(t *testing.T) {
	items := streamPods(300)
	pb, js := encodeList(t, items, false), encodeList(t, items, true)
	cutAt := func(data []byte, frac float64) int { return int(float64(len(data)) * frac) }
	// An API server that does not list in key order: the first two pods swapped.
	unordered := slices.Clone(items)
	unordered[0], unordered[1] = unordered[1], unordered[0]
	pbUnordered := encodeList(t, unordered, false)

	tests := []struct {
		name      string
		responses []func(http.ResponseWriter)
		want      []record.Placement
		requests  int
		err       string
	}{
		{"protobuf", []func(http.ResponseWriter){body(pb, protobufType, -1)}, wantRecords(items), 1, ""},
		{"json", []func(http.ResponseWriter){body(js, "application/json", -1)}, wantRecords(items), 1, ""},
		{"empty list", []func(http.ResponseWriter){body(encodeList(t, nil, false), protobufType, -1)}, nil, 1, ""},
		{"cut before any pod, then whole",
			[]func(http.ResponseWriter){body(pb, protobufType, 10), body(pb, protobufType, -1)}, wantRecords(items), 2, ""},
		{"cut twice mid-list: every pod exactly once",
			[]func(http.ResponseWriter){body(pb, protobufType, cutAt(pb, 0.3)), body(pb, protobufType, cutAt(pb, 0.7)), body(pb, protobufType, -1)},
			wantRecords(items), 3, ""},
		{"json cut mid-list: every pod exactly once",
			[]func(http.ResponseWriter){body(js, "application/json", cutAt(js, 0.5)), body(js, "application/json", -1)},
			wantRecords(items), 2, ""},
		{"cut inside the last pod",
			[]func(http.ResponseWriter){body(pb, protobufType, len(pb)-5), body(pb, protobufType, -1)}, wantRecords(items), 2, ""},
		{"unavailable, then whole",
			[]func(http.ResponseWriter){status(503, metav1.StatusReasonServiceUnavailable), status(500, metav1.StatusReasonInternalError), body(pb, protobufType, -1)},
			wantRecords(items), 3, ""},
		{"forbidden fails at once",
			[]func(http.ResponseWriter){status(403, metav1.StatusReasonForbidden), body(pb, protobufType, -1)}, nil, 1, "Forbidden"},
		{"out of key order and cut: sent again, never lost",
			[]func(http.ResponseWriter){body(pbUnordered, protobufType, cutAt(pbUnordered, 0.5)), body(pbUnordered, protobufType, -1)},
			nil, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAPIServer{responses: tt.responses}
			got, cycled, err := runStream(t, f, Selection{LabelSelector: "app=web"})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if n := f.count(); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
			if tt.name == "out of key order and cut: sent again, never lost" {
				seen := map[string]int{}
				for _, p := range got {
					seen[p.Key()]++
				}
				if len(seen) != len(items) || len(got) <= len(items) {
					t.Errorf("%d records of %d distinct pods, want all %d pods, some twice", len(got), len(seen), len(items))
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %d records, want %d (first got %+v)", len(got), len(tt.want), first(got))
			}
			if tt.err == "" && cycled != len(tt.want) {
				t.Errorf("OnCycle(%d), want %d", cycled, len(tt.want))
			}
		})
	}
}

func first(ps []record.Placement) any {
	if len(ps) == 0 {
		return nil
	}
	return ps[0]
}

// The filters the API server applies go in the request; the LIST has no
// limit (one response) and asks for protobuf.
func TestStreamRequest(t *testing.T) {
	pb := encodeList(t, streamPods(3), false)
	for _, tt := range []struct {
		sel  Selection
		path string
	}{
		{Selection{}, "/api/v1/pods"},
		{Selection{Namespace: "shop", LabelSelector: "app=web,tier!=cache", FieldSelector: "spec.nodeName=n1"}, "/api/v1/namespaces/shop/pods"},
	} {
		f := &fakeAPIServer{responses: []func(http.ResponseWriter){body(pb, protobufType, -1)}}
		if _, _, err := runStream(t, f, tt.sel); err != nil {
			t.Fatal(err)
		}
		r := f.requests[0]
		q := r.URL.Query()
		if r.Method != http.MethodGet || r.URL.Path != tt.path || q.Get("labelSelector") != tt.sel.LabelSelector || q.Get("fieldSelector") != tt.sel.FieldSelector || q.Has("limit") || q.Has("resourceVersion") {
			t.Errorf("%+v: request %s %s", tt.sel, r.Method, r.URL)
		}
		if !strings.HasPrefix(r.Header.Get("Accept"), protobufType) {
			t.Errorf("Accept = %q, want protobuf first", r.Header.Get("Accept"))
		}
	}
}

// A body cut at any byte is never read as a complete list: before the last
// pod, the decoder returns an error, never io.EOF.
func TestDecoderNeverTakesACutBodyForTheEnd(t *testing.T) {
	items := streamPods(3)
	for _, asJSON := range []bool{false, true} {
		data := encodeList(t, items, asJSON)
		for cut := range len(data) {
			n, err := decodeAll(bytes.NewReader(data[:cut]))
			if err == nil && n < len(items) {
				t.Fatalf("json=%v, cut at byte %d of %d: decoded %d pods and ended cleanly", asJSON, cut, len(data), n)
			}
		}
		if n, err := decodeAll(bytes.NewReader(data)); err != nil || n != len(items) {
			t.Fatalf("json=%v, whole body: %d pods, %v", asJSON, n, err)
		}
	}
}

func decodeAll(r io.Reader) (int, error) {
	dec, err := newPodDecoder(r)
	if err != nil {
		return 0, err
	}
	for n := 0; ; n++ {
		if _, err := dec.next(time.Time{}); errors.Is(err, io.EOF) {
			return n, nil
		} else if err != nil {
			return n, err
		}
	}
}

// A cut after progress starts a fresh retry budget: with a budget too short
// for any retry, a list cut twice mid-way still completes, while a failure
// that made no progress gives up.
func TestStreamProgressRestartsTheRetryBudget(t *testing.T) {
	items := streamPods(300)
	pb := encodeList(t, items, false)
	run := func(responses ...func(http.ResponseWriter)) ([]record.Placement, error) {
		f := &fakeAPIServer{t: t, responses: responses}
		srv := httptest.NewServer(f)
		defer srv.Close()
		client, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		policy := fastRetry()
		policy.MaxElapsed = time.Nanosecond
		s := &Stream{Client: client, Retry: policy}
		out := make(chan record.Placement, len(items)*2)
		err = s.Run(t.Context(), out)
		var got []record.Placement
		for p := range out {
			got = append(got, p)
		}
		return got, err
	}
	got, err := run(body(pb, protobufType, len(pb)/3), body(pb, protobufType, len(pb)*2/3), body(pb, protobufType, -1))
	if err != nil || len(got) != len(items) {
		t.Errorf("cut twice after progress: %d records, %v; want %d, nil", len(got), err, len(items))
	}
	if _, err := run(status(503, metav1.StatusReasonServiceUnavailable), body(pb, protobufType, -1)); err == nil {
		t.Error("a failure without progress was retried past MaxElapsed")
	}
}
