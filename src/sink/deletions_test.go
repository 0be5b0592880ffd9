package sink

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"

	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/store"
)

// TestHandDeletedHourIsWrittenAgainWithNothingNew: the sink never reads the
// store in steady state, so an hour deleted by hand while no pod changes is
// noticed through the metadata watch and written again whole at the next
// flush, not when some pod of it next changes.
func TestHandDeletedHourIsWrittenAgainWithNothingNew(t *testing.T) {
	client := fake.NewClientset()
	name := store.NameFor(hour14)
	scheme := metadatafake.NewTestScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	meta := metadatafake.NewSimpleMetadataClient(scheme, &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{store.LabelApp: store.LabelAppValue, store.LabelType: store.LabelTypeValue}},
	})
	s := newSink(client)
	s.Store = &configmapstore.Store{Client: client.CoreV1(), Namespace: ns, Metadata: meta}
	s.WatchDeletions = true
	now := hour14.Add(5 * time.Minute)
	r := start(t, s, now)
	for i := range 3 {
		r.send(placement(fmt.Sprintf("p%d", i), "n1", now))
	}
	r.tick(s.flushInterval())
	if got := hourOf(t, client, hour14); len(got) != 3 {
		t.Fatalf("after the first flush the store holds %v, want 3 pods", got)
	}

	// Deleted on the server: the typed view and the metadata watch both see it.
	if err := client.CoreV1().ConfigMaps(ns).Delete(t.Context(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	gvr := configmapstore.Resource
	if err := meta.Resource(gvr).Namespace(ns).Delete(t.Context(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The informer hands the deletion over asynchronously.
	if err := wait.PollUntilContextTimeout(t.Context(), 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return s.gone.len() > 0, nil
	}); err != nil {
		t.Fatalf("the deletion never reached the sink: %v", err)
	}
	r.tick(s.flushInterval()) // nothing new arrived
	if got := hourOf(t, client, hour14); len(got) != 3 {
		t.Fatalf("after the hand delete and a flush with nothing new, the store holds %v, want the 3 pods again", got)
	}
	r.stop()
}
