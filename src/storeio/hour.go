package storeio

import (
	"context"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
)

// ReadHour returns every stored object of the hour: its shards by label, and
// shard 0 by name when the label finds none (the original tool labelled only
// app and type).
func ReadHour(ctx context.Context, cms corev1client.ConfigMapInterface, hour time.Time, policy retry.Policy) ([]corev1.ConfigMap, error) {
	var objs []corev1.ConfigMap
	err := retry.Do(ctx, policy, "reading the hour's ConfigMaps", func(ctx context.Context) error {
		list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: store.HourSelector(hour)})
		if err != nil {
			return err
		}
		objs = list.Items
		return nil
	})
	if err != nil {
		return nil, err
	}
	name := store.NameFor(hour)
	for _, o := range objs {
		if o.Name == name {
			return objs, nil
		}
	}
	cm, err := get(ctx, cms, name, policy)
	if cm != nil {
		objs = append(objs, *cm)
	}
	return objs, err
}

// ReadPodShards returns the objects of the hour that can hold ref: shard 0,
// which says how many shards there are, and the shard ref hashes to. When the
// hour has more shards than shard 0 promises (a growth under way, see
// store/doc.go "Writing"), or shards without shard 0, a pod may be in either
// of two shards: then it returns the whole hour, and whole is true. An hour
// with nothing stored returns no objects.
func ReadPodShards(ctx context.Context, cms corev1client.ConfigMapInterface, hour time.Time, ref store.PodRef, policy retry.Policy) (objs []corev1.ConfigMap, whole bool, err error) {
	zero, err := get(ctx, cms, store.NameFor(hour), policy)
	if err != nil {
		return nil, false, err
	}
	if zero == nil {
		all, err := ReadHour(ctx, cms, hour, policy)
		return all, true, err
	}
	n, err := strconv.Atoi(zero.Annotations[store.AnnotationShards])
	if err != nil || n < 1 || n > store.MaxShards {
		n = 1 // the original tool's object, or a damaged count: Decode warns
	}
	beyond, err := get(ctx, cms, store.ShardName(hour, n), policy)
	if err != nil {
		return nil, false, err
	}
	if beyond != nil {
		all, err := ReadHour(ctx, cms, hour, policy)
		return all, true, err
	}
	objs = []corev1.ConfigMap{*zero}
	if k := store.ShardOf(ref, n); k != 0 {
		cm, err := get(ctx, cms, store.ShardName(hour, k), policy)
		if err != nil {
			return nil, false, err
		}
		if cm != nil {
			objs = append(objs, *cm)
		}
	}
	return objs, false, nil
}

// Get reads one object of the store; nil when it does not exist.
func Get(ctx context.Context, cms corev1client.ConfigMapInterface, name string, policy retry.Policy) (*corev1.ConfigMap, error) {
	return get(ctx, cms, name, policy)
}

func get(ctx context.Context, cms corev1client.ConfigMapInterface, name string, policy retry.Policy) (*corev1.ConfigMap, error) {
	var cm *corev1.ConfigMap
	err := retry.Do(ctx, policy, "reading "+name, func(ctx context.Context) error {
		got, err := cms.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if got.Labels[store.LabelApp] == store.LabelAppValue && got.Labels[store.LabelType] == store.LabelTypeValue {
			cm = got // only the store's: an object of that name without its labels is someone else's
		}
		return nil
	})
	return cm, err
}
