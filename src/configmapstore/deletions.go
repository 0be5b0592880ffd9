package configmapstore

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/pod-ashiato/ashiato/src/store"
)

// Resource is the ConfigMaps' group, version and resource.
var Resource = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// WatchDeletions runs a metadata-only informer over the store's objects until
// ctx ends: one LIST of their metadata at start, then one WATCH. No object's
// data crosses the wire, and in steady state nothing is read. deleted is
// called with the name of each object deleted. Without c.Metadata it
// watches nothing.
func (c *Store) WatchDeletions(ctx context.Context, deleted func(name string)) error {
	if c.Metadata == nil {
		return nil
	}
	inf := metadatainformer.NewFilteredMetadataInformer(c.Metadata, Resource, c.Namespace, 0, cache.Indexers{},
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
				deleted(m.Name)
			}
		},
	}); err != nil {
		return err
	}
	go inf.RunWithContext(ctx)
	return nil
}
