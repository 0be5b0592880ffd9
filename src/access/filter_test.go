package access

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// mapViewer answers from a table and counts the questions.
type mapViewer struct {
	pods  map[string]bool // namespace ("" every one) → may list
	nodes bool
	err   error

	mu    sync.Mutex
	asked map[string]int
}

func (m *mapViewer) Name() string { return "test" }

func (m *mapViewer) MayListPods(_ context.Context, ns string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.asked == nil {
		m.asked = map[string]int{}
	}
	m.asked[ns]++
	return m.pods[ns], m.err
}

func (m *mapViewer) MayGetNodes(context.Context) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.asked == nil {
		m.asked = map[string]int{}
	}
	m.asked["<nodes>"]++
	return m.nodes, m.err
}

type row struct{ ns, pod string }

func TestFilterCountsWhatItHides(t *testing.T) {
	ctx := t.Context()
	rows := []row{
		{"shop", "web-0"}, {"shop", "web-1"},
		{"pay", "api-0"}, {"pay", "api-0"}, {"pay", "api-1"}, // api-0 has two rows (two hours)
		{"kube-system", "dns-0"},
		{"ops", "mon-0"},
	}
	cases := []struct {
		name      string
		v         *mapViewer
		shown     int
		hidden    Hidden
		text      string
		nodeShown bool
	}{
		{"cluster-wide", &mapViewer{pods: map[string]bool{"": true}, nodes: true}, len(rows), Hidden{}, "", true},
		{"one namespace", &mapViewer{pods: map[string]bool{"shop": true}}, 2, Hidden{Pods: 4, Namespaces: 3, NodeEvents: 2},
			"4 pods in 3 namespaces you may not list are not shown; 2 node lifecycle events are not shown: you may not get nodes", false},
		{"all but one", &mapViewer{pods: map[string]bool{"shop": true, "pay": true, "kube-system": true}, nodes: true}, 6, Hidden{Pods: 1, Namespaces: 1},
			"1 pod in 1 namespace you may not list is not shown", true},
		{"nothing", &mapViewer{pods: map[string]bool{}}, 0, Hidden{Pods: 6, Namespaces: 4, NodeEvents: 2},
			"6 pods in 4 namespaces you may not list are not shown; 2 node lifecycle events are not shown: you may not get nodes", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewFilter(ctx, tc.v)
			if err != nil {
				t.Fatal(err)
			}
			shown := 0
			for _, r := range rows {
				ok, err := f.Pod(ctx, r.ns, r.pod)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					shown++
				}
			}
			for range 2 {
				ok, err := f.NodeEvent(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if ok != tc.nodeShown {
					t.Errorf("node event shown: %v, want %v", ok, tc.nodeShown)
				}
			}
			if shown != tc.shown {
				t.Errorf("shown %d rows, want %d", shown, tc.shown)
			}
			if got := f.Hidden(); got != tc.hidden {
				t.Errorf("Hidden() = %+v, want %+v", got, tc.hidden)
			}
			if got := f.Hidden().String(); got != tc.text {
				t.Errorf("text %q, want %q", got, tc.text)
			}
			if f.Hidden().Any() != (tc.text != "") {
				t.Errorf("Any() = %v with text %q", f.Hidden().Any(), tc.text)
			}
			// Each question once: the cluster-wide one, then each namespace
			// only when that was no.
			for q, n := range tc.v.asked {
				if n != 1 {
					t.Errorf("asked %q %d times, want once", q, n)
				}
			}
			if tc.v.pods[""] && len(tc.v.asked) != 2 {
				t.Errorf("a cluster-wide reader was asked %v, want only the cluster-wide question and nodes", tc.v.asked)
			}
		})
	}
}

func TestFilterPrefetch(t *testing.T) {
	v := &mapViewer{pods: map[string]bool{"a": true}}
	f, err := NewFilter(t.Context(), v)
	if err != nil {
		t.Fatal(err)
	}
	nss := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "a", "b"}
	if err := f.Prefetch(t.Context(), nss); err != nil {
		t.Fatal(err)
	}
	if err := f.Prefetch(t.Context(), nss); err != nil {
		t.Fatal(err)
	}
	if ok, _ := f.Namespace(t.Context(), "a"); !ok {
		t.Error("namespace a: not allowed, want allowed")
	}
	for _, ns := range []string{"a", "b", "j"} {
		if v.asked[ns] != 1 {
			t.Errorf("asked about %s %d times, want once", ns, v.asked[ns])
		}
	}
	if f.Hidden().Any() {
		t.Errorf("Prefetch counted %+v as hidden, want nothing (no row was filtered)", f.Hidden())
	}
}

func TestFilterErrorsFailTheCaller(t *testing.T) {
	down := errors.New("API server unreachable")
	if _, err := NewFilter(t.Context(), &mapViewer{err: down}); !errors.Is(err, down) {
		t.Errorf("NewFilter: %v, want the viewer's error", err)
	}
	v := &mapViewer{pods: map[string]bool{}}
	f, err := NewFilter(t.Context(), v)
	if err != nil {
		t.Fatal(err)
	}
	v.err = down
	if ok, err := f.Pod(t.Context(), "shop", "web-0"); ok || !errors.Is(err, down) {
		t.Errorf("Pod: %v %v, want false and the error", ok, err)
	}
	if ok, err := f.NodeEvent(t.Context()); ok || !errors.Is(err, down) {
		t.Errorf("NodeEvent: %v %v, want false and the error", ok, err)
	}
	if err := f.Prefetch(t.Context(), []string{"x", "y"}); !errors.Is(err, down) {
		t.Errorf("Prefetch: %v, want the error", err)
	}
	// An error is not an answer: nothing was counted or remembered.
	if f.Hidden().Any() {
		t.Errorf("hidden %+v after errors, want nothing", f.Hidden())
	}
}

func TestPodHiddenText(t *testing.T) {
	want := "pod pay/api-0 is not shown: you may not list pods in namespace pay"
	if got := PodHiddenText("pay", "api-0"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
