package history

import (
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/store"
)

// selector is s as the fake client reports it (in key order).
func selector(s string) string {
	sel, err := labels.Parse(s)
	if err != nil {
		panic(err)
	}
	return sel.String()
}

// requests is what the reader asked for: "get NAME" or "list SELECTOR".
func requests(client *fake.Clientset) []string {
	var out []string
	for _, a := range client.Actions() {
		switch a := a.(type) {
		case k8stesting.GetAction:
			out = append(out, "get "+a.GetName())
		case k8stesting.ListAction:
			out = append(out, "list "+a.GetListRestrictions().Labels.String())
		}
	}
	return out
}

// TestPodRowsReadsOnlyItsShard: `history pod` reads, in each hour, shard 0
// and the shard the pod hashes to, never the others; a growth under way
// (more shards than shard 0 says) is read whole.
func TestPodRowsReadsOnlyItsShard(t *testing.T) {
	ref := store.PodRef{Namespace: "apps", Name: "app-7"}
	k := store.ShardOf(ref, 4)
	if k == 0 {
		t.Fatal("pick a pod whose shard is not shard 0")
	}
	client := fake.NewClientset(seeded()...)
	rows, warnings, err := newReader(client).PodRows(t.Context(), ref, At(hm("14:02")))
	if err != nil || len(warnings) > 0 || len(rows) != 1 {
		t.Fatalf("rows %v, warnings %v, err %v; want one row", rows, warnings, err)
	}
	got := requests(client)
	want := []string{
		// which hours are stored: names only (a metadata listing where the
		// store has one), and the original tool's objects
		"list " + selector(store.HoursSelector(h13, h14)), "list " + selector(store.UnlabelledSelector()),
		"get " + store.NameFor(h13), "get " + store.ShardName(h13, 1), // hour before: plain, one object
		"get " + store.NameFor(h14), "get " + store.ShardName(h14, 4), "get " + store.ShardName(h14, k)}
	if !slices.Equal(got, want) {
		t.Fatalf("requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Shard 4 of hour 14 appears: a growth to 8 under way.
	grown := store.NewHour(h14)
	grown.Add(store.PodRef{Namespace: "apps", Name: "late"}, "n1", hm("14:03"))
	cms, err := store.Encode(grown, 8)
	if err != nil {
		t.Fatal(err)
	}
	client = fake.NewClientset(append(seeded(), runtime.Object(configmapstore.New(nil, ns).ConfigMap(cms[4])))...)
	if _, _, err := newReader(client).PodRows(t.Context(), ref, At(hm("14:02"))); err != nil {
		t.Fatal(err)
	}
	if got := requests(client); !slices.ContainsFunc(got, func(r string) bool { return r == "list "+selector(store.HourSelector(h14)) }) {
		t.Fatalf("a growth under way was not read whole: %v", got)
	}
}

// TestPodRowsWarnsOfItsMissingShard: the pod's shard is gone; the answer
// says so instead of "no placements" alone.
func TestPodRowsWarnsOfItsMissingShard(t *testing.T) {
	ref := store.PodRef{Namespace: "apps", Name: "app-7"}
	client := fake.NewClientset(seeded()...)
	if err := client.CoreV1().ConfigMaps(ns).Delete(t.Context(), store.ShardName(h14, store.ShardOf(ref, 4)), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	_, warnings, err := newReader(client).PodRows(t.Context(), ref, At(hm("14:02")))
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0].Reason, "missing") {
		t.Fatalf("warnings %v, err %v; want the missing shard", warnings, err)
	}
}

// TestPodRowsRequestsFollowStoredHours: `history pod --since 1000h` over 25
// stored hours asks the store in proportion to the 25 hours (learning which
// are stored first), not to the 1,001 of the window.
func TestPodRowsRequestsFollowStoredHours(t *testing.T) {
	ref := store.PodRef{Namespace: "shop", Name: "web-0"}
	now := hm("14:30")
	var objs []runtime.Object
	for i := range 25 {
		h := store.NewHour(now.Add(-time.Duration(i) * time.Hour))
		h.Add(ref, "n1", h.Start.Add(time.Minute))
		h.Add(store.PodRef{Namespace: "shop", Name: "other"}, "n2", h.Start.Add(time.Minute))
		objs = append(objs, encode(h, []int{1, 4}[i%2])...)
	}
	client := fake.NewClientset(objs...)
	rows, _, err := newReader(client).PodRows(t.Context(), ref, Window{Since: now.Add(-1000 * time.Hour), Until: now})
	if err != nil || len(rows) != 25 {
		t.Fatalf("%d rows, %v; want 25", len(rows), err)
	}
	t.Logf("%d requests for 25 stored hours in a window of 1,001", len(client.Actions()))
	if n, most := len(client.Actions()), 3*25+2; n > most {
		t.Errorf("%d requests for 25 stored hours in a window of 1,001, want at most %d", n, most)
	}
}
