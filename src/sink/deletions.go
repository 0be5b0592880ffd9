package sink

import (
	"context"
	"sync"

	"github.com/sirupsen/logrus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/pod-ashiato/ashiato/src/store"
)

var configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// deletions collects the names of store objects deleted by someone else. The
// sink never reads the store in steady state, so without this a hand-deleted
// hour would stay gone until one of its pods changed; with it the next flush
// writes the deleted objects again, whole, from the sink's index.
type deletions struct {
	mu    sync.Mutex
	names map[string]bool
}

func (d *deletions) add(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.names == nil {
		d.names = map[string]bool{}
	}
	d.names[name] = true
}

func (d *deletions) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.names)
}

func (d *deletions) take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.names))
	for n := range d.names {
		out = append(out, n)
	}
	d.names = nil
	return out
}

// watchDeletions runs a metadata-only informer over the store's objects: one
// LIST of their metadata at start, then one WATCH. No object's data crosses
// the wire, and in steady state nothing is read.
func watchDeletions(ctx context.Context, client metadata.Interface, namespace string, log logrus.FieldLogger, d *deletions) error {
	inf := metadatainformer.NewFilteredMetadataInformer(client, configMaps, namespace, 0, cache.Indexers{},
		func(o *metav1.ListOptions) { o.LabelSelector = store.AllSelector() }).Informer()
	if err := inf.SetTransform(func(obj any) (any, error) {
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			m.ManagedFields = nil // the informer keeps only what names the object
		}
		return obj, nil
	}); err != nil {
		return err
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
				log.WithField("object", m.Name).Warn("a history object was deleted; it is written again at the next flush")
				d.add(m.Name)
			}
		},
	}); err != nil {
		return err
	}
	go inf.RunWithContext(ctx)
	return nil
}

// forgetDeleted makes the hours of the deleted objects write them again: the
// sink no longer believes they are stored. Called only while no flush runs,
// since the flush goroutine owns each index's objects.
func (st *state) forgetDeleted(names []string) {
	for _, name := range names {
		hour, _, ok := store.ParseName(name)
		if !ok {
			continue
		}
		st.mu.Lock()
		x := st.hours[hour]
		st.mu.Unlock()
		if x == nil {
			continue // an hour the sink no longer holds (retention, or long past)
		}
		if _, known := x.objects[name]; !known {
			continue
		}
		delete(x.objects, name)
		x.mu.Lock()
		x.gen++
		x.mu.Unlock()
	}
}
