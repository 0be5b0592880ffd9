package sink

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// Retention deletes the hours of the store that ended more than Keep ago.
//
// It deletes only objects that are the store's by both signs: the store
// lists them as its own (in the ConfigMap store, the labels
// app=pod-ashiato,type=pod-node-mapping) and store.ParseName reads the name
// as an hour (shard 0 or a later shard, or the original tool's object). Each
// delete carries the version it was listed with where the backend can check
// it (a ConfigMap's resourceVersion), so an object replaced or written in
// between is left for the next round.
type Retention struct {
	// Store is the store to expire.
	Store storeio.Store
	// Keep is how long an hour is kept after it ended; zero or less keeps
	// everything.
	Keep  time.Duration
	Retry retry.Policy
	Log   logrus.FieldLogger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Flag names Keep's setting in messages, as the user gave it
	// ("--cm-retention"); empty is "--retention".
	Flag string
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
	objs := r.Store
	expired := map[string]expiredObject{}
	keep := func(ref storeio.Ref) {
		if o, ok := expiredOne(ref, last); ok {
			expired[o.ref.Name] = o
		}
	}
	err = objs.ListRefs(ctx, time.Time{}, last, r.Retry, "listing the store", keep)
	if u, ok := objs.(storeio.Unlabelled); ok && err == nil {
		err = u.ListUnlabelled(ctx, 0, r.Retry, "listing the store", func(s *storeio.Shard) {
			keep(storeio.Ref{Name: s.Name, Version: s.Version})
		})
	}
	if errors.Is(err, storeio.ErrForbidden) {
		return nil, r.forbidden(err)
	}
	if err != nil {
		return nil, fmt.Errorf("listing the store in %s: %w", r.Store, err)
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
		case errors.Is(err, storeio.ErrNotFound):
			r.log().WithField("object", o.ref.Name).Debug("retention: already gone")
		case errors.Is(err, storeio.ErrConflict):
			// The precondition failed: the object was written or replaced since
			// it was listed. The next round looks at it again.
			r.log().WithField("object", o.ref.Name).Info("retention: changed since listed; left for the next round")
		case errors.Is(err, storeio.ErrForbidden):
			return deleted, r.forbidden(err)
		default:
			return deleted, fmt.Errorf("deleting %s: %w", r.Store.Location(o.ref.Name), err)
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
			r.log().WithFields(logrus.Fields{"deleted": deleted, "keep": r.Keep.String()}).Info("retention: deleted hours older than " + r.flag())
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, storeio.ErrForbidden):
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

// checkAccess finds a missing permission at start-up rather than when the
// first hour expires, days later, in a store that can tell without deleting
// (storeio.DeleteChecker: the ConfigMap store's dry-run delete). Any other
// error is left for the rounds to meet.
func (r *Retention) checkAccess(ctx context.Context) error {
	c, ok := r.Store.(storeio.DeleteChecker)
	if !ok {
		return nil
	}
	if err := c.CheckDelete(ctx); errors.Is(err, storeio.ErrForbidden) {
		return fmt.Errorf("retention: %w", r.forbidden(err))
	}
	return nil
}

func (r *Retention) forbidden(err error) error {
	return fmt.Errorf("not allowed to list or delete the store's objects in %s (grant listing and deleting them, or set %s 0 to keep every hour): %w", r.Store, r.flag(), err)
}

func (r *Retention) flag() string {
	if r.Flag != "" {
		return r.Flag
	}
	return "--retention"
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
