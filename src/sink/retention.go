package sink

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// Retention deletes the hours of the store that ended more than Keep ago.
//
// It deletes only objects that are the store's by both signs: the labels
// app=pod-ashiato,type=pod-node-mapping and a name that store.ParseName reads
// as an hour (shard 0 or a later shard, or the original tool's object). Each
// delete carries the UID and resourceVersion it was listed with, so an object
// replaced or written in between is left for the next round.
type Retention struct {
	Client    kubernetes.Interface
	Namespace string
	// Keep is how long an hour is kept after it ended; zero or less keeps
	// everything.
	Keep  time.Duration
	Retry retry.Policy
	Log   logrus.FieldLogger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// expiredObject is what a delete needs of a listed object.
type expiredObject struct {
	name            string
	uid             types.UID
	resourceVersion string
	hour            time.Time
	shard           int
}

// Once deletes every object of an hour h with h+1h <= now-Keep and returns
// the names it deleted, oldest hour first. Objects that are gone or changed
// since the listing are skipped, not errors. It stops at the first other
// error.
//
// It lists with two selectors rather than every object of the store: the
// shards labelled with an hour before the cut (the API server compares the
// label as a number) and the objects without an hour label (the original
// tool's). An object whose hour label was edited to disagree with its name is
// therefore never deleted, which errs on the side of keeping.
func (r *Retention) Once(ctx context.Context) (deleted []string, err error) {
	if r.Keep <= 0 {
		return nil, nil
	}
	// The newest hour to delete: it ended at or before now-Keep.
	last := store.HourOf(r.now().Add(-r.Keep)).Add(-time.Hour)
	expired := map[string]expiredObject{}
	for _, selector := range []string{store.HoursSelector(time.Time{}, last), store.UnlabelledSelector()} {
		err := storeio.List(ctx, r.Client.CoreV1().ConfigMaps(r.Namespace), selector, 0, r.Retry, "listing the store", func(cm *corev1.ConfigMap) {
			if o, ok := expiredOne(cm, last); ok {
				expired[o.name] = o
			}
		})
		if apierrors.IsForbidden(err) {
			return nil, forbidden(r.Namespace, err)
		}
		if err != nil {
			return nil, fmt.Errorf("listing the store in %s: %w", r.Namespace, err)
		}
	}

	// Oldest hour first; within an hour shard 0 last, so that an hour cut
	// short by an error still has the shard count on shard 0.
	objs := slices.SortedFunc(maps.Values(expired), func(a, b expiredObject) int {
		return cmp.Or(a.hour.Compare(b.hour), cmp.Compare(b.shard, a.shard))
	})
	cms := r.Client.CoreV1().ConfigMaps(r.Namespace)
	for _, o := range objs {
		opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &o.uid, ResourceVersion: &o.resourceVersion}}
		err := retry.Do(ctx, r.Retry, "deleting "+o.name, func(ctx context.Context) error {
			return cms.Delete(ctx, o.name, opts)
		})
		switch {
		case err == nil:
			deleted = append(deleted, o.name)
		case apierrors.IsNotFound(err):
			r.log().WithField("object", o.name).Debug("retention: already gone")
		case apierrors.IsConflict(err):
			// The precondition failed: the object was written or replaced since
			// it was listed. The next round looks at it again.
			r.log().WithField("object", o.name).Info("retention: changed since listed; left for the next round")
		case apierrors.IsForbidden(err):
			return deleted, forbidden(r.Namespace, err)
		default:
			return deleted, fmt.Errorf("deleting %s/%s: %w", r.Namespace, o.name, err)
		}
	}
	return deleted, nil
}

// expiredOne reports whether cm is an object of the store whose hour is at or
// before last.
func expiredOne(cm *corev1.ConfigMap, last time.Time) (expiredObject, bool) {
	if cm.Labels[store.LabelApp] != store.LabelAppValue || cm.Labels[store.LabelType] != store.LabelTypeValue {
		return expiredObject{}, false
	}
	hour, shard, ok := store.ParseName(cm.Name)
	if !ok || hour.After(last) {
		return expiredObject{}, false
	}
	return expiredObject{name: cm.Name, uid: cm.UID, resourceVersion: cm.ResourceVersion, hour: hour, shard: shard}, true
}

// Run checks that it may delete, then calls Once at once and every every
// until ctx ends. A round that fails is logged and the next round tries
// again; a Forbidden ends Run with the error, since no later round can do
// better. Run returns nil when ctx ends or when Keep keeps everything.
func (r *Retention) Run(ctx context.Context, every time.Duration) error {
	if r.Keep <= 0 {
		return nil
	}
	if err := r.checkAccess(ctx); err != nil {
		return err
	}
	round := *r
	if half := every / 2; round.Retry.MaxElapsed == 0 || round.Retry.MaxElapsed > half {
		round.Retry.MaxElapsed = half // a long outage does not stall the rounds
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		deleted, err := round.Once(ctx)
		if len(deleted) > 0 {
			r.log().WithFields(logrus.Fields{"deleted": deleted, "keep": r.Keep.String()}).Info("retention: deleted hours older than --cm-retention")
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case apierrors.IsForbidden(err):
			return fmt.Errorf("retention: %w", err)
		case err != nil:
			r.log().WithError(err).Warn("retention failed; trying again at the next round")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// retentionProbe is a name no hour has (ParseName rejects it), deleted with
// dryRun to learn whether deleting is allowed.
const retentionProbe = "pod-ashiato-retention-probe"

// checkAccess finds a missing RBAC grant at start-up rather than when the
// first hour expires, days later. The API server authorizes a delete before
// it looks the object up: a dry-run delete of a name that does not exist is
// NotFound when deleting is allowed and Forbidden when it is not. Any other
// error is left for the rounds to meet.
func (r *Retention) checkAccess(ctx context.Context) error {
	err := r.Client.CoreV1().ConfigMaps(r.Namespace).Delete(ctx, retentionProbe, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("retention: %w", forbidden(r.Namespace, err))
	}
	return nil
}

func forbidden(namespace string, err error) error {
	return fmt.Errorf("not allowed to list or delete ConfigMaps in %s (grant list and delete on configmaps there, or set --cm-retention 0 to keep every hour): %w", namespace, err)
}

func (r *Retention) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Retention) log() logrus.FieldLogger {
	if r.Log != nil {
		return r.Log
	}
	return discard
}
