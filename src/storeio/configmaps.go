// Package storeio is the store's I/O: the Objects interface the sink,
// retention and the history query read and write the hour shards through
// (package store lays them out; it stays a pure codec), the ConfigMap backend
// behind it, and the reads built on it (an hour, a pod's shards).
package storeio

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
)

// PageSize is how many store objects one LIST request returns: an object may
// hold up to ~1 MiB, so a page stays near 100 MiB at worst.
const PageSize = 100

// FieldManager names Pod Ashiato's writes in managedFields.
const FieldManager = "pod-ashiato"

// ConfigMaps is the default backend: the hours as ConfigMaps in Namespace,
// the original tool's layout.
type ConfigMaps struct {
	Client    corev1client.ConfigMapsGetter
	Namespace string
}

var (
	_ Objects    = (*ConfigMaps)(nil)
	_ Unlabelled = (*ConfigMaps)(nil)
)

func (c *ConfigMaps) cms() corev1client.ConfigMapInterface { return c.Client.ConfigMaps(c.Namespace) }

func (c *ConfigMaps) String() string { return "namespace " + c.Namespace }

// Get reads one object of the store; nil when it does not exist, or when an
// object of that name lacks the store's labels (it is someone else's).
func (c *ConfigMaps) Get(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	got, err := c.cms().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if got.Labels[store.LabelApp] != store.LabelAppValue || got.Labels[store.LabelType] != store.LabelTypeValue {
		return nil, nil
	}
	return got, nil
}

// ListHour lists the shards labelled with the hour.
func (c *ConfigMaps) ListHour(ctx context.Context, hour time.Time) ([]corev1.ConfigMap, error) {
	list, err := c.cms().List(ctx, metav1.ListOptions{LabelSelector: store.HourSelector(hour)})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// ListHours lets the API server pick the hours: it compares the hour label
// as a number (store.HoursSelector).
func (c *ConfigMaps) ListHours(ctx context.Context, first, last time.Time, limit int64, policy retry.Policy, what string, each func(*corev1.ConfigMap)) error {
	return c.list(ctx, store.HoursSelector(first, last), limit, policy, what, each)
}

// ListRefs lists the hours' shards and keeps what a delete needs.
func (c *ConfigMaps) ListRefs(ctx context.Context, first, last time.Time, policy retry.Policy, what string, each func(Ref)) error {
	return c.list(ctx, store.HoursSelector(first, last), 0, policy, what, func(cm *corev1.ConfigMap) {
		each(Ref{Name: cm.Name, UID: cm.UID, ResourceVersion: cm.ResourceVersion})
	})
}

// ListUnlabelled lists the original tool's objects, which have no hour label.
func (c *ConfigMaps) ListUnlabelled(ctx context.Context, limit int64, policy retry.Policy, what string, each func(*corev1.ConfigMap)) error {
	return c.list(ctx, store.UnlabelledSelector(), limit, policy, what, each)
}

func (c *ConfigMaps) Create(ctx context.Context, cm *corev1.ConfigMap) (*corev1.ConfigMap, error) {
	return c.cms().Create(ctx, cm, metav1.CreateOptions{FieldManager: FieldManager})
}

func (c *ConfigMaps) Update(ctx context.Context, cm *corev1.ConfigMap) (*corev1.ConfigMap, error) {
	return c.cms().Update(ctx, cm, metav1.UpdateOptions{FieldManager: FieldManager})
}

// Delete carries the UID and resourceVersion ref was listed with, so an
// object replaced or written since is left alone (a Conflict).
func (c *ConfigMaps) Delete(ctx context.Context, ref Ref) error {
	opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &ref.UID, ResourceVersion: &ref.ResourceVersion}}
	return c.cms().Delete(ctx, ref.Name, opts)
}

// CheckDelete finds a missing RBAC grant at start-up rather than when the
// first hour expires, days later. The API server authorizes a delete before
// it looks the object up: a dry-run delete of name, which must not exist, is
// NotFound when deleting is allowed and Forbidden when it is not.
func (c *ConfigMaps) CheckDelete(ctx context.Context, name string) error {
	return c.cms().Delete(ctx, name, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
}

// list calls each for every ConfigMap that selector matches, page by page
// (limit objects a page; PageSize when zero), each request retried by policy
// (what names it in errors and logs). A continue token that expired starts
// the listing over, so each may see an object twice. The objects come in name
// order, which is hour order, shard 0 of an hour first.
func (c *ConfigMaps) list(ctx context.Context, selector string, limit int64, policy retry.Policy, what string, each func(*corev1.ConfigMap)) error {
	if limit <= 0 {
		limit = PageSize
	}
	cms := c.cms()
	opts := metav1.ListOptions{LabelSelector: selector, Limit: limit}
	for {
		var list *corev1.ConfigMapList
		err := retry.Do(ctx, policy, what, func(ctx context.Context) error {
			var err error
			list, err = cms.List(ctx, opts)
			return err
		})
		if apierrors.IsResourceExpired(err) && opts.Continue != "" {
			opts.Continue = ""
			continue
		}
		if err != nil {
			return err
		}
		for i := range list.Items {
			each(&list.Items[i])
		}
		if list.Continue == "" {
			return nil
		}
		opts.Continue = list.Continue
	}
}
