package configmapstore

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// TestListRefsReadsMetadataOnly: with a metadata client, learning the
// stored hours lists names and versions, never a ConfigMap's data.
func TestListRefsReadsMetadataOnly(t *testing.T) {
	meta := func(name, hour string) runtime.Object {
		return &metav1.PartialObjectMetadata{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: "5", Labels: map[string]string{store.LabelApp: store.LabelAppValue, store.LabelType: store.LabelTypeValue, store.LabelHour: hour}},
		}
	}
	scheme := metadatafake.NewTestScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	md := metadatafake.NewSimpleMetadataClient(scheme,
		meta(store.NameFor(hour14), "2026112614"), meta(store.ShardName(hour14, 1), "2026112614"), meta(store.NameFor(hour14.Add(-48*3600e9)), "2026112414"))
	typed := fake.NewClientset()
	c := &Store{Client: typed.CoreV1(), Namespace: ns, Metadata: md}
	var got []storeio.Ref
	if err := c.ListRefs(t.Context(), hour14.Add(-3600e9), hour14, retry.Policy{}, "listing", func(r storeio.Ref) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b storeio.Ref) int {
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
	want := []storeio.Ref{{Name: store.NameFor(hour14), Version: "5"}, {Name: store.ShardName(hour14, 1), Version: "5"}}
	if !slices.Equal(got, want) {
		t.Errorf("refs %v, want %v", got, want)
	}
	if n := len(typed.Actions()); n != 0 {
		t.Errorf("%d requests for ConfigMaps whole, want none", n)
	}
}
