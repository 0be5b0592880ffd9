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
	"k8s.io/client-go/kubernetes"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// Retention deletes the hours of the store that ended more than Keep ago.
//
// It deletes only objects that are the store's by both signs: the labels
// app=pod-ashiato,type=pod-node-mapping (in the ConfigMap store) and a name
// that store.ParseName reads as an hour (shard 0 or a later shard, or the
// original tool's object). Each delete carries the version it was listed
// with where the backend can check it (a ConfigMap's UID and
// resourceVersion), so an object replaced or written in between is left for
// the next round.
type Retention struct {
	Client    kubernetes.Interface
	Namespace string
	// Store, when set, is the store to expire instead of Namespace's
	// ConfigMaps (the S3 backend).
	Store storeio.Objects
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
	ref   storeio.Ref
	hour  time.Time
	shard int
}

// Once deletes every object of an hour h with h+1h <= now-Keep and returns
// the names it deleted, oldest hour first. Objects that are gone or changed
// since the listing are skipped, not errors. It stops at the first other
// error.
//
// It lists the shards of the hours before the cut (the ConfigMap store lets
// the API server compare the hour label as a number) and, in the ConfigMap
// store, the objects without an hour label (the original tool's). An object
// whose hour label was edited to disagree with its name is therefore never
// deleted, which errs on the side of keeping.
func (r *Retention) Once(ctx context.Context) (deleted []string, err error) {
	if r.Keep <= 0 {
		return nil, nil
	}
	// The newest hour to delete: it ended at or before now-Keep.
	last := store.HourOf(r.now().Add(-r.Keep)).Add(-time.Hour)
	objs := r.objects()
	expired := map[string]expiredObject{}
	keep := func(ref storeio.Ref) {
		if o, ok := expiredOne(ref, last); ok {
			expired[o.ref.Name] = o
		}
	}
	err = objs.ListRefs(ctx, time.Time{}, last, r.Retry, "listing the store", keep)
	if u, ok := objs.(storeio.Unlabelled); ok && err == nil {
		err = u.ListUnlabelled(ctx, 0, r.Retry, "listing the store", func(cm *corev1.ConfigMap) {
			if cm.Labels[store.LabelApp] == store.LabelAppValue && cm.Labels[store.LabelType] == store.LabelTypeValue {
				keep(storeio.Ref{Name: cm.Name, UID: cm.UID, ResourceVersion: cm.ResourceVersion})
			}
		})
	}
	if apierrors.IsForbidden(err) {
		return nil, r.forbidden(err)
	}
	if err != nil {
		return nil, fmt.Errorf("listing the store in %s: %w", r.where(), err)
	}

	// Oldest hour first; within an hour shard 0 last, so that an hour cut
	// short by an error still has the shard count on shard 0.
	list := slices.SortedFunc(maps.Values(expired), func(a, b expiredObject) int {
		return cmp.Or(a.hour.Compare(b.hour), cmp.Compare(b.shard, a.shard))
	})
	for _, o := range list {
		err := retry.Do(ctx, r.Retry, "deleting "+o.ref.Name, func(ctx context.Context) error {
			return objs.Delete(ctx, o.ref)
		})
		switch {
		case err == nil:
			deleted = append(deleted, o.ref.Name)
		case apierrors.IsNotFound(err):
			r.log().WithField("object", o.ref.Name).Debug("retention: already gone")
		case apierrors.IsConflict(err):
			// The precondition failed: the object was written or replaced since
			// it was listed. The next round looks at it again.
			r.log().WithField("object", o.ref.Name).Info("retention: changed since listed; left for the next round")
		case apierrors.IsForbidden(err):
			return deleted, r.forbidden(err)
		default:
			return deleted, fmt.Errorf("deleting %s/%s: %w", r.where(), o.ref.Name, err)
		}
	}
	return deleted, nil
}

// expiredOne reports whether ref names an object of the store whose hour is
// at or before last.
func expiredOne(ref storeio.Ref, last time.Time) (expiredObject, bool) {
	hour, shard, ok := store.ParseName(ref.Name)
	if !ok || hour.After(last) {
		return expiredObject{}, false
	}
	return expiredObject{ref: ref, hour: hour, shard: shard}, true
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
// first hour expires, days later (the ConfigMap store; see
// storeio.ConfigMaps.CheckDelete). Any other error is left for the rounds to
// meet.
func (r *Retention) checkAccess(ctx context.Context) error {
	cms, ok := r.objects().(*storeio.ConfigMaps)
	if !ok {
		return nil
	}
	if err := cms.CheckDelete(ctx, retentionProbe); apierrors.IsForbidden(err) {
		return fmt.Errorf("retention: %w", r.forbidden(err))
	}
	return nil
}

func (r *Retention) forbidden(err error) error {
	if cms, ok := r.objects().(*storeio.ConfigMaps); ok {
		return fmt.Errorf("not allowed to list or delete ConfigMaps in %s (grant list and delete on configmaps there, or set --cm-retention 0 to keep every hour): %w", cms.Namespace, err)
	}
	return fmt.Errorf("not allowed to list or delete the objects of %s (grant listing and deleting them, or set --retention 0 to keep every hour and expire them with a lifecycle rule): %w", r.where(), err)
}

// objects is the store retention deletes from.
func (r *Retention) objects() storeio.Objects {
	if r.Store != nil {
		return r.Store
	}
	return &storeio.ConfigMaps{Client: r.Client.CoreV1(), Namespace: r.Namespace}
}

// where names the store in errors: the namespace, as before, for ConfigMaps.
func (r *Retention) where() string {
	if cms, ok := r.objects().(*storeio.ConfigMaps); ok {
		return cms.Namespace
	}
	return r.objects().String()
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
