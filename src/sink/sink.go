// Package sink is the last stage of the pipeline: it keeps the history in the
// cluster itself, in hourly ConfigMaps laid out by package store.
//
// Placements are batched per hour and written on a ticker and when the input
// closes: one read and at most one write per ConfigMap per flush, never one
// request per pod. Each flush merges into what is stored (read, merge, write
// with the read resourceVersion, again on Conflict), so neither a restart in the
// middle of the hour nor a concurrent writer loses a placement.
package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
)

// FieldManager names Pod Ashiato's writes in managedFields.
const FieldManager = "pod-ashiato"

// Defaults for ConfigMaps' zero fields.
const (
	DefaultFlushInterval = 30 * time.Second
	DefaultFinalTimeout  = 30 * time.Second
	// maxConflicts bounds the read-merge-write rounds of one flush; a writer
	// that loses this many races in a row tries again at the next flush.
	maxConflicts = 10
)

// ConfigMaps stores placements in the hour ConfigMaps of Namespace.
type ConfigMaps struct {
	Client    kubernetes.Interface
	Namespace string
	// FlushInterval is how often pending placements are written.
	FlushInterval time.Duration
	// FinalTimeout bounds the last flush after the input closes. It gets its own
	// context, so a shutdown signal does not cut the draining short.
	FinalTimeout time.Duration
	// Retry is used for each API call; its MaxElapsed is capped per flush so a
	// long outage does not stall the stage (pending placements wait for the next).
	Retry retry.Policy
	Log   logrus.FieldLogger
	// Observe, when set, is told about each write (metrics).
	Observe func(w Write)
	// Clock drives the flush ticker and the backoff between failed flushes;
	// nil is the real clock. Tests move a fake one instead of sleeping.
	Clock clock.WithTicker

	pending, shards atomic.Int64 // after the last flush, for Pending and Shards
}

// Pending is the number of pods whose placements were received and not yet
// stored, as the last flush left them (the store-health metrics).
func (s *ConfigMaps) Pending() int { return int(s.pending.Load()) }

// Shards is the number of ConfigMaps of the newest hour the last flush wrote.
func (s *ConfigMaps) Shards() int { return int(s.shards.Load()) }

// Write describes one ConfigMap write, for metrics.
type Write struct {
	Object string
	Bytes  int
	Err    error
}

// errConflict is a lost race: read again and merge.
var errConflict = errors.New("conflict")

// Run batches placements from in and writes them until in closes, then flushes
// what is pending under its own deadline.
func (s *ConfigMaps) Run(ctx context.Context, in <-chan record.Placement) error {
	b := &batches{pending: map[time.Time]*store.Hour{}, written: map[time.Time]*store.Hour{}}
	clk := s.clock()
	ticker := clk.NewTicker(s.flushInterval())
	defer ticker.Stop()
	// One backoff for the whole stage: through a long outage the flushes space
	// out and each failed one is one log line, instead of every tick starting
	// over at the shortest delay (measured: 60 lines in 30 s at a 2 s flush).
	var (
		backoff = s.backoff()
		retryAt time.Time // no periodic flush before this, after a failure
		failed  int       // periodic flushes failed in a row
	)
	for {
		select {
		case r, ok := <-in:
			if !ok {
				final, cancel := context.WithTimeout(context.Background(), s.finalTimeout())
				defer cancel()
				policy := s.Retry
				policy.MaxElapsed = 0 // bounded by the final deadline instead
				return s.flush(final, b, policy)
			}
			b.add(r)
		case <-ticker.C():
			if ctx.Err() != nil || clk.Now().Before(retryAt) {
				continue // stopping (the final flush follows when in closes), or backing off
			}
			policy := s.Retry
			policy.Log = nil // one line per failed flush, below
			if half := s.flushInterval() / 2; policy.MaxElapsed == 0 || policy.MaxElapsed > half {
				policy.MaxElapsed = half
			}
			err := s.flush(ctx, b, policy)
			switch {
			case err == nil:
				if failed > 0 {
					s.log().WithField("failed_flushes", failed).Info("storing placements again")
				}
				failed, backoff, retryAt = 0, s.backoff(), time.Time{}
			case !retry.Retryable(err) && !errors.Is(err, errConflict) && ctx.Err() == nil:
				return err
			default:
				failed++
				delay := backoff.Step()
				retryAt = clk.Now().Add(delay)
				s.log().WithError(err).WithFields(logrus.Fields{"failed_flushes": failed, "retry_in": delay.Round(time.Millisecond).String()}).
					Warn("storing placements failed; they stay pending")
			}
		}
	}
}

// backoff is a fresh copy of the retry policy's backoff.
func (s *ConfigMaps) backoff() wait.Backoff {
	if s.Retry.Backoff.Steps > 0 {
		return s.Retry.Backoff
	}
	return retry.DefaultBackoff()
}

// batches is the sink's memory. pending holds what was received and not yet
// stored. written holds, for the recent hours, everything this sink has stored:
// every flush writes it again (merged into what is there), so an hour whose
// ConfigMap was deleted by hand is recreated whole at the next flush, not only
// with what arrived since the last one.
type batches struct {
	pending map[time.Time]*store.Hour
	written map[time.Time]*store.Hour
}

// keepWritten is how many hours back written is kept: the current hour and the
// one before, which late records and the first flush after the turn of the hour
// still touch.
const keepWritten = 2 * time.Hour

// add files the placement under its hour. Pods not yet bound to a node have no
// placement to keep.
func (b *batches) add(r record.Placement) {
	if r.Node == "" {
		return
	}
	hour := store.HourOf(r.Timestamp)
	h := b.pending[hour]
	if h == nil {
		h = store.NewHour(hour)
		b.pending[hour] = h
	}
	if r.Event.IsNode() {
		h.AddNodeEvent(store.NodeEvent{Node: r.Node, At: r.Timestamp, Event: string(r.Event), Reason: r.Reason})
		return
	}
	ref := store.PodRef{Namespace: r.Namespace, Name: r.Pod}
	h.Add(ref, r.Node, r.Timestamp)
	h.SetOwner(ref, store.Owner{Kind: r.OwnerKind, Name: r.OwnerName})
}

// flush writes every pending hour, oldest first, merged with what this sink
// wrote of that hour before. An hour that fails stays pending; the first error
// is returned.
func (s *ConfigMaps) flush(ctx context.Context, b *batches, policy retry.Policy) error {
	hours := make([]time.Time, 0, len(b.pending))
	for h := range b.pending {
		hours = append(hours, h)
	}
	sort.Slice(hours, func(i, j int) bool { return hours[i].Before(hours[j]) })
	var firstErr error
	for _, hour := range hours {
		all := store.NewHour(hour)
		if w := b.written[hour]; w != nil {
			all.Merge(w)
		}
		all.Merge(b.pending[hour])
		if err := s.flushHour(ctx, all, policy); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("storing %d pods of %s: %w", all.Len(), store.NameFor(hour), err)
			}
			continue
		}
		b.written[hour] = all
		delete(b.pending, hour)
	}
	pending := 0
	for _, h := range b.pending {
		pending += h.Len()
	}
	s.pending.Store(int64(pending))
	if len(hours) > 0 {
		newest := hours[len(hours)-1]
		for hour := range b.written {
			if hour.Before(newest.Add(-keepWritten + time.Hour)) {
				delete(b.written, hour)
			}
		}
	}
	return firstErr
}

// flushHour merges add into the stored hour: read every shard, merge, encode,
// write the shards whose content changed, each with the resourceVersion it was
// read at. A Conflict means another writer got there first: read again.
func (s *ConfigMaps) flushHour(ctx context.Context, add *store.Hour, policy retry.Policy) error {
	for range maxConflicts {
		stored, err := s.read(ctx, add.Start, policy)
		if err != nil {
			return err
		}
		merged, shards, warnings := store.Decode(add.Start, stored)
		for _, w := range warnings {
			s.log().WithFields(logrus.Fields{"object": w.Object, "key": w.Key}).Warnf("damaged value in the store, left out: %s", w.Reason)
		}
		merged.Merge(add)
		want, err := store.Encode(merged, s.Namespace, shards)
		if err != nil {
			return fmt.Errorf("encoding: %w", err)
		}
		s.shards.Store(int64(len(want)))
		err = s.write(ctx, stored, want, policy)
		if errors.Is(err, errConflict) {
			continue
		}
		return err
	}
	return fmt.Errorf("%w: lost %d races with another writer", errConflict, maxConflicts)
}

// read returns every stored object of the hour: its shards by label, and shard
// 0 by name when the label finds none (the original tool labelled only app and
// type).
func (s *ConfigMaps) read(ctx context.Context, hour time.Time, policy retry.Policy) ([]corev1.ConfigMap, error) {
	cms := s.Client.CoreV1().ConfigMaps(s.Namespace)
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
	err = retry.Do(ctx, policy, "reading "+name, func(ctx context.Context) error {
		cm, err := cms.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		objs = append(objs, *cm)
		return nil
	})
	return objs, err
}

// write creates or updates each wanted object whose content differs from the
// stored one, highest shard first and shard 0 last, so that every state in
// between two writes holds every placement already stored (store/doc.go,
// "Writing"): when an hour grows from n to m shards, a pod either stays in its
// shard or moves to a new one (index n or more, since m is a multiple of n),
// and the new shards are all written before any stored one is rewritten
// without the pods that left it. Shard 0, which carries the count, goes last.
// A failure at any point (a refused create, a kill) leaves a complete hour,
// which the next flush, by this or any writer, completes.
func (s *ConfigMaps) write(ctx context.Context, stored []corev1.ConfigMap, want []*corev1.ConfigMap, policy retry.Policy) error {
	byName := make(map[string]*corev1.ConfigMap, len(stored))
	for i := range stored {
		byName[stored[i].Name] = &stored[i]
	}
	cms := s.Client.CoreV1().ConfigMaps(s.Namespace)
	for i := len(want) - 1; i >= 0; i-- {
		cm := want[i]
		old := byName[cm.Name]
		if old != nil && store.SameContent(old, cm) {
			continue
		}
		err := retry.Do(ctx, policy, "writing "+cm.Name, func(ctx context.Context) error {
			var err error
			if old == nil {
				_, err = cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: FieldManager})
			} else {
				update := cm.DeepCopy()
				update.ResourceVersion = old.ResourceVersion
				// Keep what others put on the object (labels, annotations of their own).
				update.Labels = union(old.Labels, cm.Labels)
				update.Annotations = union(old.Annotations, cm.Annotations)
				_, err = cms.Update(ctx, update, metav1.UpdateOptions{FieldManager: FieldManager})
			}
			return err
		})
		if s.Observe != nil {
			s.Observe(Write{Object: cm.Name, Bytes: size(cm), Err: err})
		}
		switch {
		case apierrors.IsConflict(err), apierrors.IsAlreadyExists(err), old != nil && apierrors.IsNotFound(err):
			return errConflict
		case err != nil:
			return err
		}
	}
	return nil
}

// union is a copy of a with b's entries set on top.
func union(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// size is the bytes the API server counts against its 1 MiB limit.
func size(cm *corev1.ConfigMap) int {
	n := 0
	for _, v := range cm.Data {
		n += len(v)
	}
	for _, v := range cm.BinaryData {
		n += len(v)
	}
	return n
}

func (s *ConfigMaps) flushInterval() time.Duration {
	if s.FlushInterval > 0 {
		return s.FlushInterval
	}
	return DefaultFlushInterval
}

func (s *ConfigMaps) finalTimeout() time.Duration {
	if s.FinalTimeout > 0 {
		return s.FinalTimeout
	}
	return DefaultFinalTimeout
}

func (s *ConfigMaps) clock() clock.WithTicker {
	if s.Clock != nil {
		return s.Clock
	}
	return clock.RealClock{}
}

func (s *ConfigMaps) log() logrus.FieldLogger {
	if s.Log != nil {
		return s.Log
	}
	return discard
}

var discard = &logrus.Logger{Out: io.Discard, Formatter: new(logrus.TextFormatter), Hooks: make(logrus.LevelHooks), Level: logrus.PanicLevel}
