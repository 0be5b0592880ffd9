package history

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

const ns = "history"

var (
	h11 = time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC)
	h12 = h11.Add(time.Hour)
	h13 = h11.Add(2 * time.Hour)
	h14 = h11.Add(3 * time.Hour)

	web   = store.PodRef{Namespace: "shop", Name: "web-0"}
	db    = store.PodRef{Namespace: "shop", Name: "db-0"}
	api   = store.PodRef{Namespace: "shop", Name: "api-0"}
	cache = store.PodRef{Namespace: "shop", Name: "cache-0"}
)

// hm is a time of day on 2026-11-26, "13:25" or "13:25:10".
func hm(s string) time.Time {
	if strings.Count(s, ":") == 1 {
		s += ":00"
	}
	t, err := time.Parse(time.RFC3339, "2026-11-26T"+s+"Z")
	if err != nil {
		panic(err)
	}
	return t
}

// encode lays an hour out as the sink does; shards > 1 forces the packed form.
func encode(h *store.Hour, shards int) []runtime.Object {
	cms, err := store.Encode(h, shards)
	if err != nil {
		panic(err)
	}
	var out []runtime.Object
	for _, cm := range cms {
		out = append(out, configmapstore.New(nil, ns).ConfigMap(cm))
	}
	return out
}

// original is an hour as the original tool wrote it: no hour label, no times.
func original(hour time.Time, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: store.NameFor(hour), Namespace: ns, Labels: map[string]string{"app": "pod-ashiato", "type": "pod-node-mapping"}},
		Data:       data,
	}
}

// seeded is the store every query test reads:
//
//	11:00 web-0 on n1 (packed), outside most windows
//	12:00 the original tool's: web-0 on n1, db-0 on n2 then n3, no times
//	13:00 plain: web-0 on n1 13:00:10–13:20, moved to n2 13:25–13:59; db-0 on n2 all hour;
//	      api-0 on n3 13:00–13:55 (the last step); cache-0 on n4 13:00–13:50
//	14:00 packed in 4 shards: web-0 on n2 14:00:05–14:10, 40 app pods on n1,
//	      api-0 on n3 14:00:25–14:30 (the case: a 30 s snapshot after the
//	      turn of the hour), cache-0 on n4 14:00:25–14:30
//
// plus objects that are not the store's hours.
func seeded() []runtime.Object {
	hour11 := store.NewHour(h11)
	hour11.Add(web, "n1", hm("11:30"))
	hour13 := store.NewHour(h13)
	hour13.Add(web, "n1", hm("13:00:10"))
	hour13.Add(web, "n1", hm("13:20"))
	hour13.Add(web, "n2", hm("13:25"))
	hour13.Add(web, "n2", hm("13:59"))
	hour13.Add(db, "n2", hm("13:00"))
	hour13.Add(db, "n2", hm("13:59:59"))
	hour13.Add(api, "n3", hm("13:00"))
	hour13.Add(api, "n3", hm("13:55"))
	hour13.Add(cache, "n4", hm("13:00"))
	hour13.Add(cache, "n4", hm("13:50"))
	hour14 := store.NewHour(h14)
	hour14.Add(web, "n2", hm("14:00:05"))
	hour14.Add(web, "n2", hm("14:10"))
	hour14.Add(api, "n3", hm("14:00:25"))
	hour14.Add(api, "n3", hm("14:30"))
	hour14.Add(cache, "n4", hm("14:00:25"))
	hour14.Add(cache, "n4", hm("14:30"))
	for i := range 40 {
		hour14.Add(store.PodRef{Namespace: "apps", Name: "app-" + strconv.Itoa(i)}, "n1", hm("14:01"))
	}
	objs := slices.Concat(encode(hour11, 2), encode(hour13, 1), encode(hour14, 4))
	return append(objs,
		original(h12, map[string]string{"shop_web-0": "n1", "shop_db-0": "n2,n3"}),
		// Labelled like the store, but not an hour's name.
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pod-ashiato-notes", Namespace: ns, Labels: map[string]string{"app": "pod-ashiato", "type": "pod-node-mapping"}},
			Data: map[string]string{"shop_web-0": "n9"}},
		// An hour's name without the labels: not the store's.
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: store.ShardName(h13, 1), Namespace: ns}, Data: map[string]string{"shop_web-0": "n9"}},
		// Another namespace.
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: store.NameFor(h13), Namespace: "other", Labels: map[string]string{"app": "pod-ashiato", "type": "pod-node-mapping"}},
			Data: map[string]string{"shop_web-0": "n9"}},
	)
}

var cmGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// paginate makes the fake clientset answer LISTs page by page as the API
// server does (the fake ignores limit and continue). expireOnce makes the
// first continued request fail with 410 Gone, as when a token outlives etcd's
// compaction.
func paginate(t *testing.T, client *fake.Clientset, expireOnce bool) *[]metav1.ListOptions {
	var seen []metav1.ListOptions
	client.PrependReactor("list", "configmaps", func(action k8stesting.Action) (bool, runtime.Object, error) {
		list := action.(k8stesting.ListActionImpl)
		opts := list.ListOptions
		seen = append(seen, opts)
		if opts.Continue != "" && expireOnce {
			expireOnce = false
			return true, nil, apierrors.NewResourceExpired("the continue token has expired")
		}
		obj, err := client.Tracker().List(cmGVR, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, list.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		sel, err := labels.Parse(opts.LabelSelector)
		if err != nil {
			t.Fatalf("bad selector %q: %v", opts.LabelSelector, err)
		}
		var items []corev1.ConfigMap
		for _, cm := range obj.(*corev1.ConfigMapList).Items {
			if sel.Matches(labels.Set(cm.Labels)) {
				items = append(items, cm)
			}
		}
		slices.SortFunc(items, func(a, b corev1.ConfigMap) int { return strings.Compare(a.Name, b.Name) })
		start, _ := strconv.Atoi(opts.Continue)
		end := len(items)
		out := &corev1.ConfigMapList{}
		if opts.Limit > 0 && start+int(opts.Limit) < end {
			end = start + int(opts.Limit)
			out.Continue = strconv.Itoa(end)
		}
		out.Items = items[start:end]
		return true, out, nil
	})
	return &seen
}

func newReader(client *fake.Clientset) *Reader {
	return &Reader{
		Store: configmapstore.New(client.CoreV1(), ns), PageSize: 2,
		Retry: retry.Policy{Backoff: wait.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 50, Cap: 10 * time.Millisecond}, MaxElapsed: time.Second},
	}
}

// render is rows one per line: "ns/pod node hour first last", times as
// hh:mm:ss and "-" when unknown.
func render(rows []Row) string {
	clock := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Format("15:04:05")
	}
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%s %s %s %s %s\n", r.Pod, r.Node, r.Hour.Format("15h"), clock(r.First), clock(r.Last))
	}
	return b.String()
}

func TestQueries(t *testing.T) {
	client := fake.NewClientset(seeded()...)
	paginate(t, client, false)
	tests := []struct {
		name  string
		w     Window
		query query
		want  string
	}{
		{"pod over hours, moved within one", Window{h12, hm("14:30")}, podQuery(web), `
shop/web-0 n1 12h - -
shop/web-0 n1 13h 13:00:10 13:20:00
shop/web-0 n2 13h 13:25:00 13:59:00
shop/web-0 n2 14h 14:00:05 14:10:00
`},
		{"pod before the move", At(hm("13:22")), podQuery(web), `
shop/web-0 n1 13h 13:00:10 13:20:00
`},
		{"pod: last seen is good for one step", At(hm("13:25")), podQuery(web), `
shop/web-0 n1 13h 13:00:10 13:20:00
shop/web-0 n2 13h 13:25:00 13:59:00
`},
		{"pod after the move", At(hm("13:40")), podQuery(web), `
shop/web-0 n2 13h 13:25:00 13:59:00
`},
		{"pod at the end of its last step", At(hm("14:15")), podQuery(web), `
shop/web-0 n2 14h 14:00:05 14:10:00
`},
		{"pod gone after its last step", At(hm("14:15:01")), podQuery(web), ""},
		{"pod on the same node across the hour's edge: from the hour's start", At(hm("14:00:00")), podQuery(web), `
shop/web-0 n2 14h 14:00:05 14:10:00
`},
		{"pod before first seen, the hour before ended elsewhere", At(hm("13:24:59")), podQuery(web), `
shop/web-0 n1 13h 13:00:10 13:20:00
`},
		{"node at the hour's first second: last seen in the last step before", At(hm("14:00:00")), nodeQuery("n3"), `
shop/api-0 n3 14h 14:00:25 14:30:00
`},
		{"node just before first seen: continued", At(hm("14:00:24")), nodeQuery("n3"), `
shop/api-0 n3 14h 14:00:25 14:30:00
`},
		{"node across the edge, last seen before the last step: not continued", At(hm("14:00:24")), nodeQuery("n4"), ""},
		{"node at first seen, not continued", At(hm("14:00:25")), nodeQuery("n4"), `
shop/cache-0 n4 14h 14:00:25 14:30:00
`},
		{"node window across the edge", Window{hm("13:59:30"), hm("14:00:10")}, nodeQuery("n3"), `
shop/api-0 n3 13h 13:00:00 13:55:00
shop/api-0 n3 14h 14:00:25 14:30:00
`},
		{"pod in an hour without times", At(hm("12:59:59")), podQuery(web), `
shop/web-0 n1 12h - -
`},
		{"pod not in the store", Window{h11, hm("14:59")}, podQuery(store.PodRef{Namespace: "shop", Name: "nope"}), ""},
		{"hour boundary belongs to the next hour", At(h13), podQuery(db), `
shop/db-0 n2 13h 13:00:00 13:59:59
`},
		{"node at an instant", At(hm("13:40")), nodeQuery("n2"), `
shop/db-0 n2 13h 13:00:00 13:59:59
shop/web-0 n2 13h 13:25:00 13:59:00
`},
		{"node over a window", Window{h12, hm("13:10")}, nodeQuery("n2"), `
shop/db-0 n2 12h - -
shop/db-0 n2 13h 13:00:00 13:59:59
`},
		{"node of the original tool's hour", Window{h12, hm("12:59")}, nodeQuery("n3"), `
shop/db-0 n3 12h - -
`},
		{"node over packed shards", At(hm("14:02")), nodeQuery("n1"), func() string {
			var b strings.Builder
			names := make([]string, 40)
			for i := range names {
				names[i] = "app-" + strconv.Itoa(i)
			}
			slices.Sort(names)
			for _, n := range names {
				fmt.Fprintf(&b, "apps/%s n1 14h 14:01:00 14:01:00\n", n)
			}
			return "\n" + b.String()
		}()},
		{"node nobody ran on", At(hm("13:40")), nodeQuery("n9"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hours, warnings, err := newReader(client).Read(t.Context(), tt.w)
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) > 0 {
				t.Fatalf("warnings: %v", warnings)
			}
			want := strings.TrimPrefix(tt.want, "\n")
			if got := render(tt.query.rows(hours, tt.w)); got != want {
				t.Errorf("got\n%swant\n%s", got, want)
			}
			// The same answer read hour by hour.
			rows, warnings, err := tt.query.stream(t, newReader(client), tt.w)
			if err != nil || len(warnings) > 0 {
				t.Fatalf("streamed: %v, warnings %v", err, warnings)
			}
			if got := render(rows); got != want {
				t.Errorf("streamed: got\n%swant\n%s", got, want)
			}
		})
	}
}

// query is `history pod` (pod set) or `history node`.
type query struct {
	pod  store.PodRef
	node string
}

func podQuery(ref store.PodRef) query { return query{pod: ref} }

func nodeQuery(node string) query { return query{node: node} }

// rows answers from hours read whole.
func (q query) rows(hours []*store.Hour, w Window) []Row {
	if q.node != "" {
		return Node(hours, q.node, w)
	}
	return Pod(hours, q.pod, w)
}

// stream answers as `ashiato history` does, hour by hour.
func (q query) stream(t *testing.T, r *Reader, w Window) ([]Row, []store.Warning, error) {
	if q.node != "" {
		return r.NodeRows(t.Context(), q.node, w)
	}
	return r.PodRows(t.Context(), q.pod, w)
}

// TestReadOnlyTheWindow: the hours read are exactly those of the window that
// hold something, found by two selectors; nothing else is decoded (no
// warnings about the unrelated objects).
func TestReadOnlyTheWindow(t *testing.T) {
	tests := []struct {
		name string
		w    Window
		want []time.Time
	}{
		{"one hour, and the one before", At(hm("13:30")), []time.Time{h12, h13}},
		{"the original tool's hour", At(hm("12:00")), []time.Time{h11, h12}},
		{"all", Window{h11.Add(-24 * time.Hour), h14.Add(24 * time.Hour)}, []time.Time{h11, h12, h13, h14}},
		{"part", Window{hm("12:59:59"), hm("13:00")}, []time.Time{h11, h12, h13}},
		{"only the hour before holds anything", Window{h14.Add(time.Hour), h14.Add(5 * time.Hour)}, []time.Time{h14}},
		{"nothing stored", Window{h14.Add(2 * time.Hour), h14.Add(5 * time.Hour)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(seeded()...)
			lists := paginate(t, client, false)
			hours, warnings, err := newReader(client).Read(t.Context(), tt.w)
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) > 0 {
				t.Errorf("warnings: %v", warnings)
			}
			var got []time.Time
			for _, h := range hours {
				got = append(got, h.Start)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("read hours %v, want %v", got, tt.want)
			}
			selectors := map[string]bool{}
			for _, o := range *lists {
				if o.Limit != 2 {
					t.Errorf("LIST with limit %d, want the page size", o.Limit)
				}
				selectors[o.LabelSelector] = true
			}
			first, last := tt.w.hours()
			want := map[string]bool{store.HoursSelector(first.Add(-time.Hour), last): true, store.UnlabelledSelector(): true}
			if fmt.Sprint(selectors) != fmt.Sprint(want) {
				t.Errorf("listed with %v, want %v", selectors, want)
			}
		})
	}
}

// TestReadPages: every page is read, and an expired continue token starts
// the listing over without losing or doubling anything.
func TestReadPages(t *testing.T) {
	for _, expire := range []bool{false, true} {
		t.Run(fmt.Sprintf("expired token %v", expire), func(t *testing.T) {
			client := fake.NewClientset(seeded()...)
			lists := paginate(t, client, expire)
			w := Window{h11, h14.Add(59 * time.Minute)}
			hours, _, err := newReader(client).Read(t.Context(), w)
			if err != nil {
				t.Fatal(err)
			}
			if len(*lists) < 4 {
				t.Errorf("%d LIST requests: the test does not cross pages", len(*lists))
			}
			rows := Node(hours, "n1", w)
			if len(rows) != 1+1+1+40 { // web-0 in 11, 12, 13; 40 apps in 14
				t.Errorf("%d rows on n1, want 43:\n%s", len(rows), render(rows))
			}
		})
	}
}

// TestDamagedValues: a hand-damaged value is a warning naming the object and
// key; the rest of the hour, and of the store, is still answered.
func TestDamagedValues(t *testing.T) {
	objs := seeded()
	var damaged string
	apps := 0 // pods of the 14:00 hour left readable
	for _, o := range objs {
		cm := o.(*corev1.ConfigMap)
		switch {
		case cm.Name == store.NameFor(h13):
			cm.Data["shop_db-0"] = "N2!" // not a node name
			cm.Data[store.KeySeen] += "garbage line\n"
		case cm.Name == store.ShardName(h14, 2):
			damaged = cm.Name
			cm.BinaryData[store.KeyPacked] = []byte("not gzip")
		case cm.Labels[store.LabelHour] == "2026112614":
			h, _, _ := store.Decode(t.Context(), h14, []storeio.Shard{configmapstore.Shard(cm)})
			for ref := range h.Pods {
				if ref.Namespace == "apps" {
					apps++
				}
			}
		}
	}
	if apps == 0 || apps == 40 {
		t.Fatalf("the test needs the 40 app pods spread over the shards; %d outside the damaged one", apps)
	}
	client := fake.NewClientset(objs...)
	w := Window{h12, hm("14:59")}
	hours, warnings, err := newReader(client).Read(t.Context(), w)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, warn := range warnings {
		got[warn.Object+" "+warn.Key] = true
	}
	for _, want := range []string{"pod-ashiato-2026112613 shop_db-0", "pod-ashiato-2026112613 ashiato.seen", damaged + " placements.gz"} {
		if !got[want] {
			t.Errorf("no warning for %s; got %v", want, warnings)
		}
	}
	if rows := Node(hours, "n1", At(hm("14:01"))); len(rows) != apps {
		t.Errorf("%d app pods answered, want the %d outside the damaged shard", len(rows), apps)
	}
	// web-0 of 13:00 is still read, db-0 of 13:00 lost its node.
	if got := render(Pod(hours, web, At(hm("13:40")))); got != "shop/web-0 n2 13h 13:25:00 13:59:00\n" {
		t.Errorf("web-0 at 13:40: %q", got)
	}
	if got := render(Pod(hours, db, At(hm("13:40")))); got != "" {
		t.Errorf("db-0 at 13:40 from a damaged key: %q", got)
	}
}

func TestReadErrors(t *testing.T) {
	client := fake.NewClientset(seeded()...)
	client.PrependReactor("list", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "", fmt.Errorf("RBAC"))
	})
	_, _, err := newReader(client).Read(t.Context(), At(h13))
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "namespace history") {
		t.Fatalf("Read = %v, want a Forbidden naming the namespace", err)
	}
}

func TestWindowMatches(t *testing.T) {
	t.Parallel()
	known := store.Seen{Node: "n", First: hm("13:10"), Last: hm("13:20")}
	unknown := store.Seen{Node: "n"}
	tests := []struct {
		name      string
		w         Window
		s         store.Seen
		want      bool
		continued bool
	}{
		{"at first seen", At(hm("13:10")), known, true, false},
		{"before first seen", At(hm("13:09:59")), known, false, false},
		{"at last seen", At(hm("13:20")), known, true, false},
		{"within the step after last seen", At(hm("13:24:59")), known, true, false},
		{"at the end of that step", At(hm("13:25")), known, true, false},
		{"after it", At(hm("13:25:01")), known, false, false},
		{"window ending at first seen", Window{hm("12:00"), hm("13:10")}, known, true, false},
		{"window ending before it", Window{hm("12:00"), hm("13:09:59")}, known, false, false},
		{"window starting after the step", Window{hm("13:25:01"), hm("15:00")}, known, false, false},
		{"window around it", Window{hm("13:11"), hm("13:12")}, known, true, false},
		{"unknown times: any instant of the hour", At(hm("13:59:59")), unknown, true, false},
		{"unknown times: the next hour", At(hm("14:00")), unknown, false, false},
		{"unknown times: the hour before", At(hm("12:59:59")), unknown, false, false},
		{"unknown times: window overlapping the hour", Window{hm("12:00"), hm("13:00")}, unknown, true, false},
		{"continued: from the hour's first second", At(hm("13:00")), known, true, true},
		{"continued: not the hour before", At(hm("12:59:59")), known, false, true},
		{"continued: after the step", At(hm("13:25:01")), known, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.w.matches(h13, tt.s, tt.continued); got != tt.want {
				t.Errorf("matches = %v, want %v", got, tt.want)
			}
		})
	}
}
