package storeio

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pod-ashiato/ashiato/src/retry"
)

// Objects is where the store's objects live: the hour shards that package
// store encodes, each an in-memory *corev1.ConfigMap (name, labels,
// annotations, data, binaryData, resourceVersion) whatever the backend, so
// the codec and the format are one. Two backends implement it: ConfigMaps
// (this package) and S3 (package s3store).
//
// Errors are apimachinery's kinds whatever the backend, so that the sink's
// conflict handling and retry's classification stay in one place: a lost
// race is a Conflict (Update) or an AlreadyExists (Create), an object gone
// is a NotFound, a refusal a Forbidden, and an outage is an error
// retry.Retryable accepts.
//
// Single calls are single tries; the callers retry them. Listings page and
// retry each page with the policy they are given.
type Objects interface {
	// Get returns the store object name (a store.ShardName), or nil and no
	// error when there is none.
	Get(ctx context.Context, name string) (*corev1.ConfigMap, error)
	// ListHour returns every shard of the hour.
	ListHour(ctx context.Context, hour time.Time) ([]corev1.ConfigMap, error)
	// ListHours calls each for every shard of the hours first..last (both
	// included; a zero first is the oldest), limit objects a request (0 is
	// PageSize), hours in order. A listing that starts over may show an object
	// twice.
	ListHours(ctx context.Context, first, last time.Time, limit int64, policy retry.Policy, what string, each func(*corev1.ConfigMap)) error
	// ListRefs is ListHours without the content: what a delete needs.
	ListRefs(ctx context.Context, first, last time.Time, policy retry.Policy, what string, each func(Ref)) error
	// Create writes a new object: AlreadyExists when one of that name is there.
	Create(ctx context.Context, cm *corev1.ConfigMap) (*corev1.ConfigMap, error)
	// Update replaces the object whose resourceVersion is cm.ResourceVersion:
	// Conflict when it changed since, NotFound when it is gone.
	Update(ctx context.Context, cm *corev1.ConfigMap) (*corev1.ConfigMap, error)
	// Delete removes the object ref names, if it is still the one listed
	// (where the backend can tell): NotFound when gone, Conflict when changed.
	Delete(ctx context.Context, ref Ref) error
	// String names the store for messages: "namespace default",
	// "s3://bucket/prefix/cluster".
	String() string
}

// Ref is a listed object: its name and what identifies its version.
type Ref struct {
	Name            string
	UID             types.UID
	ResourceVersion string
}

// Unlabelled is what a backend holding the original tool's objects offers
// besides Objects: those have no hour label, so ListHours does not find them.
// Only the ConfigMap backend has them.
type Unlabelled interface {
	// ListUnlabelled calls each for every store object without an hour label.
	ListUnlabelled(ctx context.Context, limit int64, policy retry.Policy, what string, each func(*corev1.ConfigMap)) error
}
