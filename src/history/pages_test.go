package history

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// generated is four hours (11:00 to 14:59) of pods on five nodes, with what
// makes the streamed reads differ from whole hours if they are wrong: pods
// that cross an hour's edge, move (a StatefulSet's pod, a bare pod), are
// replaced by new pods of their owner, owners whose lines are in another
// shard than their pods', node events and labels, hours in one object and
// in four or eight shards.
func generated(seed uint64) []runtime.Object {
	rnd := rand.New(rand.NewPCG(seed, 1))
	nodes := []string{"n1", "n2", "n3", "n4", "n5"}
	owners := []store.Owner{{Kind: "ReplicaSet", Name: "web-7d9f"}, {Kind: "StatefulSet", Name: "db"}, {Kind: "DaemonSet", Name: "agent"}, {Kind: "Job", Name: "batch"}, {}}
	type pod struct {
		ref   store.PodRef
		owner store.Owner
		node  string
		from  time.Time // on node from
		until time.Time
	}
	var pods []pod
	for i := range 80 {
		o := owners[i%len(owners)]
		name := fmt.Sprintf("p%d", i)
		if o.Kind != "" {
			name = o.Name + "-" + name
		}
		from := h11.Add(time.Duration(rnd.IntN(4*3600)) * time.Second)
		p := pod{ref: store.PodRef{Namespace: []string{"shop", "ops"}[i%2], Name: name}, owner: o, node: nodes[rnd.IntN(len(nodes))], from: from,
			until: from.Add(time.Duration(rnd.IntN(3*3600)) * time.Second)}
		pods = append(pods, p)
		if (o.Kind == "StatefulSet" || o.Kind == "") && rnd.IntN(2) == 0 { // moves under its name
			q := p
			q.node = nodes[rnd.IntN(len(nodes))]
			q.from = p.until.Add(time.Duration(rnd.IntN(600)) * time.Second)
			q.until = q.from.Add(time.Hour)
			pods = append(pods, q)
		}
	}
	var objs []runtime.Object
	for i, start := range []time.Time{h11, h12, h13, h14} {
		h := store.NewHour(start)
		for _, p := range pods {
			for t := p.from; !t.After(p.until); t = t.Add(time.Minute) {
				if store.HourOf(t).Equal(start) {
					h.Add(p.ref, p.node, t)
					if p.owner.Kind != "" {
						h.SetOwner(p.ref, p.owner)
					}
				}
			}
		}
		for _, n := range nodes[:3] {
			at := start.Add(time.Duration(rnd.IntN(3600)) * time.Second)
			h.AddNodeEvent(store.NodeEvent{Node: n, At: at, Event: "node_not_ready", Reason: "KubeletNotReady"})
			h.AddNodeEvent(store.NodeEvent{Node: n, At: at.Add(5 * time.Minute), Event: "node_ready"})
			h.SetNodeLabels(n, map[string]string{"topology.kubernetes.io/zone": "z" + n})
		}
		objs = append(objs, encode(h, []int{1, 4, 8, 4}[i])...)
	}
	return objs
}

// TestStreamedReadsAreTheWholeHours: on generated hours, every streamed read
// answers what the functions of the package answer on the hours read whole
// (Reader.Read), for windows across the hours' edges, instants and ranges.
func TestStreamedReadsAreTheWholeHours(t *testing.T) {
	windows := []Window{
		{Since: hm("11:00"), Until: hm("14:59:59")},
		{Since: hm("11:30"), Until: hm("13:10")},
		At(hm("12:00")), At(hm("12:59:30")), At(hm("13:00:30")), At(hm("14:20")),
	}
	for seed := range uint64(6) {
		client := fake.NewClientset(generated(seed)...)
		r := newReader(client)
		for _, w := range windows {
			hours, warns, err := r.Read(t.Context(), w)
			if err != nil || len(warns) > 0 {
				t.Fatalf("Read: %v %v", warns, err)
			}
			for _, node := range []string{"n1", "n2", "n3", "n4", "n5", "none"} {
				got, err := r.Node(t.Context(), node, w)
				if err != nil {
					t.Fatal(err)
				}
				want := Node(hours, node, w)
				if !slices.Equal(got.Rows, want) {
					t.Errorf("seed %d %v node %s: rows\n%s\nwant\n%s", seed, w, node, render(got.Rows), render(want))
				}
				for _, row := range want {
					if o, ok := firstOwner(hours, row.Pod); got.Owners[row.Pod] != o || !ok && got.Owners[row.Pod] != (store.Owner{}) {
						t.Errorf("seed %d node %s: owner of %s %v, want %v", seed, node, row.Pod, got.Owners[row.Pod], o)
					}
				}
				var events []store.NodeEvent
				for _, h := range hours {
					events = append(events, h.NodeEvents(node)...)
				}
				if !slices.Equal(got.Events, events) {
					t.Errorf("seed %d node %s: events %v, want %v", seed, node, got.Events, events)
				}
				if want := NodeLabels(hours)[node]; !reflect.DeepEqual(got.Labels, want) {
					t.Errorf("seed %d node %s: labels %v, want %v", seed, node, got.Labels, want)
				}
				// A page draws where the node's pods came from and went: each
				// hour kept holds their placements on every node of that hour.
				for _, kept := range got.Hours {
					for _, h := range hours {
						if !h.Start.Equal(kept.Start) {
							continue
						}
						for ref := range kept.Pods {
							if !slices.Equal(kept.Pod(ref), h.Pod(ref)) {
								t.Errorf("seed %d node %s hour %s: %s placements %v, want %v", seed, node, h.Start, ref, kept.Pod(ref), h.Pod(ref))
							}
						}
					}
				}
				inc, err := r.Incident(t.Context(), IncidentQuery{Node: node, At: w.Since, Window: 30 * time.Minute})
				if err != nil {
					t.Fatal(err)
				}
				whole, _, err := r.Read(t.Context(), Window{Since: w.Since.Add(-30 * time.Minute), Until: w.Since.Add(30 * time.Minute)})
				if err != nil {
					t.Fatal(err)
				}
				if want := Investigate(whole, node, w.Since, 30*time.Minute); !reflect.DeepEqual(inc.Incident, want) {
					t.Errorf("seed %d node %s at %s: incident\n%+v\nwant\n%+v", seed, node, w.Since, inc.Incident, want)
				}
			}
			for _, ref := range podsOf(hours) {
				got, err := r.Pod(t.Context(), ref, w)
				if err != nil {
					t.Fatal(err)
				}
				want := Pod(hours, ref, w)
				if !slices.Equal(got.Rows, want) {
					t.Errorf("seed %d %v pod %s: rows\n%s\nwant\n%s", seed, w, ref, render(got.Rows), render(want))
				}
				if o, _ := firstOwner(hours, ref); len(want) > 0 && got.Owners[ref] != o {
					t.Errorf("seed %d pod %s: owner %v, want %v", seed, ref, got.Owners[ref], o)
				}
			}
			counts, _, err := r.PodsPerNode(t.Context(), w)
			if err != nil {
				t.Fatal(err)
			}
			if want := podsPerNode(hours, w); !reflect.DeepEqual(counts, want) {
				t.Errorf("seed %d %v: pods per node %v, want %v", seed, w, counts, want)
			}
		}
		sel := func(l map[string]string) bool { return l["topology.kubernetes.io/zone"] != "zn2" && l != nil }
		for _, at := range []time.Time{hm("12:10"), hm("13:30")} {
			whole, _, err := r.Read(t.Context(), Window{Since: at.Add(-time.Hour), Until: at.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			want := InvestigateNodes(whole, FailedNodes(whole, sel, at.Add(-time.Hour), at.Add(time.Hour)), at, time.Hour)
			want.Selector = "zone!=zn2"
			got, err := r.Incident(t.Context(), IncidentQuery{Match: sel, Selector: "zone!=zn2", At: at, Window: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Incident, want) {
				t.Errorf("seed %d selector at %s: incident\n%+v\nwant\n%+v", seed, at, got.Incident, want)
			}
		}
	}
}

func firstOwner(hours []*store.Hour, ref store.PodRef) (store.Owner, bool) {
	for _, h := range hours {
		if o, ok := h.Owner(ref); ok {
			return o, true
		}
	}
	return store.Owner{}, false
}

func podsOf(hours []*store.Hour) []store.PodRef {
	set := map[store.PodRef]bool{}
	for _, h := range hours {
		for ref := range h.Pods {
			set[ref] = true
		}
	}
	out := make([]store.PodRef, 0, len(set))
	for ref := range set {
		out = append(out, ref)
	}
	slices.SortFunc(out, func(a, b store.PodRef) int { return compareRefs(a, b) })
	return out
}

func compareRefs(a, b store.PodRef) int {
	if a.Namespace != b.Namespace {
		if a.Namespace < b.Namespace {
			return -1
		}
		return 1
	}
	switch {
	case a.Name < b.Name:
		return -1
	case a.Name > b.Name:
		return 1
	}
	return 0
}

// podsPerNode is the home page's count from hours read whole.
func podsPerNode(hours []*store.Hour, w Window) map[string]int {
	pods := map[string]map[store.PodRef]bool{}
	for _, h := range hours {
		for ref, seen := range h.Pods {
			for _, s := range seen {
				if !w.matches(h.Start, s, false) {
					continue
				}
				if pods[s.Node] == nil {
					pods[s.Node] = map[store.PodRef]bool{}
				}
				pods[s.Node][ref] = true
			}
		}
	}
	out := map[string]int{}
	for n, refs := range pods {
		out[n] = len(refs)
	}
	return out
}

// cancelAfterList cancels the read's context once its listing has handed
// out every object: the last hour is then decoded with an ended context, as
// when a page's deadline passes during its last hour.
type cancelAfterList struct {
	storeio.Store
	cancel context.CancelFunc
}

func (s cancelAfterList) ListHours(ctx context.Context, first, last time.Time, limit int64, policy retry.Policy, what string, each func(*storeio.Shard)) error {
	err := s.Store.ListHours(ctx, first, last, limit, policy, what, each)
	s.cancel()
	return err
}

// TestReadCutShortIsAnError: a read whose context ends while it decodes
// fails with the context's error; it never answers with the hours decoded
// so far as if they were all (the codec stops at once and only warns).
func TestReadCutShortIsAnError(t *testing.T) {
	w := Window{Since: hm("11:00"), Until: hm("14:59:59")}
	reads := []struct {
		name string
		read func(ctx context.Context, r *Reader) error
	}{
		{"Node", func(ctx context.Context, r *Reader) error { _, err := r.Node(ctx, "n1", w); return err }},
		{"NodeRows", func(ctx context.Context, r *Reader) error { _, _, err := r.NodeRows(ctx, "n1", w); return err }},
		{"PodsPerNode", func(ctx context.Context, r *Reader) error { _, _, err := r.PodsPerNode(ctx, w); return err }},
	}
	for _, tt := range reads {
		t.Run(tt.name, func(t *testing.T) {
			r := newReader(fake.NewClientset(generated(1)...))
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			r.Store = cancelAfterList{Store: r.Store, cancel: cancel}
			if err := tt.read(ctx, r); !errors.Is(err, context.Canceled) {
				t.Errorf("a read cut short returned %v, want context.Canceled", err)
			}
		})
	}
}
