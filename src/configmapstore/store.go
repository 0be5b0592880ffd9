// Package configmapstore is the default backend of the history store: the
// hours as ConfigMaps in one namespace, the original tool's layout
// (store/doc.go, "Objects"). It implements storeio.Store, turning a
// storeio.Shard into a ConfigMap with the store's labels and back, and the
// API server's errors into storeio's sentinels (the API server's status stays
// in the chain, so retry.Retryable still knows it). It is the only backend
// that holds the original tool's unlabelled objects (storeio.Unlabelled),
// can check a delete without deleting (storeio.DeleteChecker) and can watch
// for objects deleted by others (storeio.DeletionWatcher).
package configmapstore

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// FieldManager names Pod Ashiato's writes in managedFields.
const FieldManager = "pod-ashiato"

// Store is the hours as ConfigMaps in Namespace.
type Store struct {
	Client    corev1client.ConfigMapsGetter
	Namespace string
	// Metadata, when set, lets WatchDeletions watch the objects' metadata;
	// without it WatchDeletions watches nothing.
	Metadata metadata.Interface
}

var (
	_ storeio.Store           = (*Store)(nil)
	_ storeio.Unlabelled      = (*Store)(nil)
	_ storeio.DeleteChecker   = (*Store)(nil)
	_ storeio.DeletionWatcher = (*Store)(nil)
)

// New is the ConfigMap store of namespace.
func New(client corev1client.ConfigMapsGetter, namespace string) *Store {
	return &Store{Client: client, Namespace: namespace}
}

func (c *Store) cms() corev1client.ConfigMapInterface { return c.Client.ConfigMaps(c.Namespace) }

func (c *Store) String() string { return "namespace " + c.Namespace }

// Location is "ConfigMap <namespace>/<name>".
func (c *Store) Location(name string) string { return "ConfigMap " + c.Namespace + "/" + name }

// Get reads one object of the store; nil when it does not exist, or when an
// object of that name lacks the store's labels (it is someone else's).
func (c *Store) Get(ctx context.Context, name string) (*storeio.Shard, error) {
	got, err := c.cms().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, Error(err)
	}
	if !ours(got) {
		return nil, nil
	}
	s := Shard(got)
	return &s, nil
}

func ours(cm *corev1.ConfigMap) bool {
	return cm.Labels[store.LabelApp] == store.LabelAppValue && cm.Labels[store.LabelType] == store.LabelTypeValue
}

// ListHour lists the shards labelled with the hour.
func (c *Store) ListHour(ctx context.Context, hour time.Time) ([]storeio.Shard, error) {
	list, err := c.cms().List(ctx, metav1.ListOptions{LabelSelector: store.HourSelector(hour)})
	if err != nil {
		return nil, Error(err)
	}
	out := make([]storeio.Shard, len(list.Items))
	for i := range list.Items {
		out[i] = Shard(&list.Items[i])
	}
	return out, nil
}

// ListHours lets the API server pick the hours: it compares the hour label
// as a number (store.HoursSelector).
func (c *Store) ListHours(ctx context.Context, first, last time.Time, limit int64, policy retry.Policy, what string, each func(*storeio.Shard)) error {
	return c.list(ctx, store.HoursSelector(first, last), limit, policy, what, func(cm *corev1.ConfigMap) {
		s := Shard(cm)
		each(&s)
	})
}

// ListRefs lists the hours' shards and keeps what a delete needs. With
// Metadata it lists their metadata only (PartialObjectMetadata), so no
// object's data crosses the wire: learning which hours are stored costs a
// few KiB, not the hours; without, it lists the ConfigMaps whole.
func (c *Store) ListRefs(ctx context.Context, first, last time.Time, policy retry.Policy, what string, each func(storeio.Ref)) error {
	selector := store.HoursSelector(first, last)
	if c.Metadata != nil {
		return c.listMetadata(ctx, selector, policy, what, func(m *metav1.PartialObjectMetadata) {
			each(storeio.Ref{Name: m.Name, Version: m.ResourceVersion})
		})
	}
	return c.list(ctx, selector, 0, policy, what, func(cm *corev1.ConfigMap) {
		each(storeio.Ref{Name: cm.Name, Version: cm.ResourceVersion})
	})
}

// metadataPage is the objects per metadata LIST request: a few hundred
// bytes each.
const metadataPage = 1000

// listMetadata is list for the objects' metadata only.
func (c *Store) listMetadata(ctx context.Context, selector string, policy retry.Policy, what string, each func(*metav1.PartialObjectMetadata)) error {
	res := c.Metadata.Resource(Resource).Namespace(c.Namespace)
	return pages(ctx, metav1.ListOptions{LabelSelector: selector, Limit: metadataPage}, policy, what,
		func(ctx context.Context, opts metav1.ListOptions) ([]metav1.PartialObjectMetadata, string, error) {
			list, err := res.List(ctx, opts)
			if err != nil {
				return nil, "", err
			}
			return list.Items, list.Continue, nil
		},
		func(m *metav1.PartialObjectMetadata) {
			if m.Labels[store.LabelApp] == store.LabelAppValue && m.Labels[store.LabelType] == store.LabelTypeValue {
				each(m)
			}
		})
}

// ListUnlabelled lists the original tool's objects, which have no hour label.
func (c *Store) ListUnlabelled(ctx context.Context, limit int64, policy retry.Policy, what string, each func(*storeio.Shard)) error {
	return c.list(ctx, store.UnlabelledSelector(), limit, policy, what, func(cm *corev1.ConfigMap) {
		s := Shard(cm)
		each(&s)
	})
}

// Create creates the shard's ConfigMap.
func (c *Store) Create(ctx context.Context, s *storeio.Shard) (*storeio.Shard, error) {
	got, err := c.cms().Create(ctx, c.ConfigMap(s), metav1.CreateOptions{FieldManager: FieldManager})
	if err != nil {
		return nil, Error(err)
	}
	out := Shard(got)
	return &out, nil
}

// Update replaces the shard's ConfigMap at s.Version (its resourceVersion).
func (c *Store) Update(ctx context.Context, s *storeio.Shard) (*storeio.Shard, error) {
	got, err := c.cms().Update(ctx, c.ConfigMap(s), metav1.UpdateOptions{FieldManager: FieldManager})
	if err != nil {
		return nil, Error(err)
	}
	out := Shard(got)
	return &out, nil
}

// Delete carries the resourceVersion ref was listed with, so an object
// written since is left alone (ErrConflict). A resourceVersion names one
// version of one object in etcd: a replaced object has another.
func (c *Store) Delete(ctx context.Context, ref storeio.Ref) error {
	var opts metav1.DeleteOptions
	if ref.Version != "" {
		opts.Preconditions = &metav1.Preconditions{ResourceVersion: &ref.Version}
	}
	return Error(c.cms().Delete(ctx, ref.Name, opts))
}

// ProbeName is a name no hour has (store.ParseName rejects it), deleted with
// dryRun to learn whether deleting is allowed.
const ProbeName = "pod-ashiato-retention-probe"

// CheckDelete finds a missing RBAC grant at start-up rather than when the
// first hour expires, days later. The API server authorizes a delete before
// it looks the object up: a dry-run delete of a name that must not exist is
// NotFound when deleting is allowed and Forbidden (storeio.ErrForbidden)
// when it is not.
func (c *Store) CheckDelete(ctx context.Context) error {
	err := c.cms().Delete(ctx, ProbeName, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
	if err == nil || apierrors.IsNotFound(err) {
		return nil
	}
	return Error(err)
}

// list calls each for every ConfigMap that selector matches, page by page
// (limit objects a page; storeio.PageSize when zero), each request retried by
// policy (what names it in errors and logs). A continue token that expired
// starts the listing over, so each may see an object twice. The objects come
// in name order, which is hour order, shard 0 of an hour first.
func (c *Store) list(ctx context.Context, selector string, limit int64, policy retry.Policy, what string, each func(*corev1.ConfigMap)) error {
	if limit <= 0 {
		limit = storeio.PageSize
	}
	cms := c.cms()
	return pages(ctx, metav1.ListOptions{LabelSelector: selector, Limit: limit}, policy, what,
		func(ctx context.Context, opts metav1.ListOptions) ([]corev1.ConfigMap, string, error) {
			list, err := cms.List(ctx, opts)
			if err != nil {
				return nil, "", err
			}
			return list.Items, list.Continue, nil
		}, each)
}

// pages calls each for every item of a paginated listing, one page a
// request (fetch), each request retried by policy. A continue token that
// expired starts the listing over, so each may see an item twice.
func pages[T any](ctx context.Context, opts metav1.ListOptions, policy retry.Policy, what string,
	fetch func(context.Context, metav1.ListOptions) ([]T, string, error), each func(*T)) error {
	for {
		var (
			items []T
			next  string
		)
		err := retry.Do(ctx, policy, what, func(ctx context.Context) error {
			var err error
			items, next, err = fetch(ctx, opts)
			return err
		})
		if apierrors.IsResourceExpired(err) && opts.Continue != "" {
			opts.Continue = ""
			continue
		}
		if err != nil {
			return Error(err)
		}
		for i := range items {
			each(&items[i])
		}
		if next == "" {
			return nil
		}
		opts.Continue = next
	}
}

// Shard is cm as a shard of the store: its hour and index from its labels
// (store.FromLabels), Legacy when it has no hour label, its resourceVersion
// as the Version. The maps are cm's, not copies.
func Shard(cm *corev1.ConfigMap) storeio.Shard {
	hour, index, legacy := store.FromLabels(cm.Name, cm.Labels)
	return storeio.Shard{
		Name: cm.Name, Hour: hour, Index: index, Legacy: legacy, Labels: store.OtherLabels(cm.Labels),
		Annotations: cm.Annotations, Data: cm.Data, BinaryData: cm.BinaryData,
		Version: cm.ResourceVersion,
	}
}

// ConfigMap is s as a ConfigMap of the store's namespace, with the store's
// labels (store.Labels) and s.Version as its resourceVersion.
func (c *Store) ConfigMap(s *storeio.Shard) *corev1.ConfigMap {
	cm := ConfigMap(s)
	cm.Namespace = c.Namespace
	return cm
}

// ConfigMap is s as a ConfigMap without a namespace: the store's labels
// (store.Labels), s.Version as its resourceVersion. The maps are s's.
func ConfigMap(s *storeio.Shard) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: s.Name, Labels: store.Labels(s), Annotations: s.Annotations, ResourceVersion: s.Version,
		},
		Data: s.Data, BinaryData: s.BinaryData,
	}
}

// apiError is an API server error with the storeio sentinel it means: both
// are in the chain, so errors.Is finds the sentinel and apierrors and
// retry.Retryable the server's status.
type apiError struct {
	sentinel error
	err      error
}

func (e *apiError) Error() string   { return e.err.Error() }
func (e *apiError) Unwrap() []error { return []error{e.sentinel, e.err} }

// Error adds to an API server error the storeio sentinel it means, if any:
// Conflict is storeio.ErrConflict, AlreadyExists storeio.ErrAlreadyExists,
// NotFound storeio.ErrNotFound, Forbidden and Unauthorized
// storeio.ErrForbidden, RequestEntityTooLarge storeio.ErrTooLarge. Any other
// error is returned as it is; nil stays nil.
func Error(err error) error {
	if err == nil {
		return nil
	}
	var sentinel error
	switch {
	case apierrors.IsConflict(err):
		sentinel = storeio.ErrConflict
	case apierrors.IsAlreadyExists(err):
		sentinel = storeio.ErrAlreadyExists
	case apierrors.IsNotFound(err):
		sentinel = storeio.ErrNotFound
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		sentinel = storeio.ErrForbidden
	case apierrors.IsRequestEntityTooLargeError(err):
		sentinel = storeio.ErrTooLarge
	default:
		return err
	}
	var done *apiError
	if errors.As(err, &done) {
		return err
	}
	return &apiError{sentinel: sentinel, err: err}
}
