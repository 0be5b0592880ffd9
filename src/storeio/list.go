// Package storeio is the store's API I/O: listing and reading the hourly
// ConfigMaps that package store lays out. Package store stays a pure codec;
// the sink, retention and the history query read through here.
package storeio

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/pod-ashiato/ashiato/src/retry"
)

// PageSize is how many store objects one LIST request returns: an object may
// hold up to ~1 MiB, so a page stays near 100 MiB at worst.
const PageSize = 100

// List calls each for every ConfigMap of cms that selector matches, page by
// page (limit objects a page; PageSize when zero), each request retried by
// policy (what names it in errors and logs). A continue token that expired
// starts the listing over, so each may see an object twice. The objects come
// in name order, which is hour order, shard 0 of an hour first.
func List(ctx context.Context, cms corev1client.ConfigMapInterface, selector string, limit int64, policy retry.Policy, what string, each func(*corev1.ConfigMap)) error {
	if limit <= 0 {
		limit = PageSize
	}
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
