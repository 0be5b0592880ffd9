package main

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pod-ashiato/ashiato/e2e/fixture"
	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// newCMNamespace creates a namespace for one run's history ConfigMaps.
func (b *bench) newCMNamespace(ctx context.Context, kind string, n int) (string, error) {
	b.runCounter++
	name := fmt.Sprintf("%s-%s-%d-%d-%d", benchNamespace, kind, n, time.Now().Unix()%100000, b.runCounter)
	return name, fixture.CreateNamespaces(ctx, b.client, name)
}

// measureStore times --oneshot --store-in-cm into a new hour (a fresh
// namespace each run) and into an existing hour (one namespace, written once
// before the timed runs), and checks what the first run stored.
func (b *bench) measureStore(ctx context.Context, s *sizeResult) error {
	argv := func(ns string) []string {
		return []string{b.ashiato, "--kubeconfig", b.admin, "--oneshot", "--store-in-cm", "--cm-namespace", ns}
	}
	var fresh, existing []sample
	for r := range b.cfg.runs {
		ns, err := b.newCMNamespace(ctx, "cm", s.Pods)
		if err != nil {
			return err
		}
		x, err := b.timed(ctx, argv(ns))
		if err != nil {
			return err
		}
		fresh = append(fresh, x)
		b.log("  run %d ashiato --oneshot --store-in-cm (new hour): %.2fs, %.1f MiB", r+1, x.Wall.Seconds(), float64(x.MaxRSS)/mib)
		if r == 0 {
			if err := b.checkStored(ctx, ns, s); err != nil {
				return err
			}
		}
	}
	ns, err := b.newCMNamespace(ctx, "cm", s.Pods)
	if err != nil {
		return err
	}
	if _, err := b.timed(ctx, argv(ns)); err != nil {
		return err
	}
	for r := range b.cfg.runs {
		x, err := b.timed(ctx, argv(ns))
		if err != nil {
			return err
		}
		existing = append(existing, x)
		b.log("  run %d ashiato --oneshot --store-in-cm (existing hour): %.2fs, %.1f MiB", r+1, x.Wall.Seconds(), float64(x.MaxRSS)/mib)
	}
	s.StoreNew = summarize("ashiato --oneshot --store-in-cm > /dev/null (new hour)", fresh)
	s.StoreExisting = summarize("ashiato --oneshot --store-in-cm > /dev/null (hour already stored)", existing)
	return nil
}

// checkStored decodes the history ConfigMaps of ns with the product's own
// codec and checks that they hold every pod.
func (b *bench) checkStored(ctx context.Context, ns string, s *sizeResult) error {
	list, err := b.client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: store.AllSelector()})
	if err != nil {
		return err
	}
	byHour := map[time.Time][]storeio.Shard{}
	s.StoredObjects, s.StoredBytes = len(list.Items), 0
	for _, cm := range list.Items {
		hour, _, ok := store.ParseName(cm.Name)
		if !ok {
			continue
		}
		byHour[hour] = append(byHour[hour], configmapstore.Shard(&cm))
		for _, v := range cm.Data {
			s.StoredBytes += len(v)
		}
		for _, v := range cm.BinaryData {
			s.StoredBytes += len(v)
		}
	}
	pods := map[store.PodRef]bool{}
	for hour, cms := range byHour {
		h, _, warnings := store.Decode(ctx, hour, cms)
		if len(warnings) > 0 {
			return fmt.Errorf("the stored history of %s does not decode: %v", ns, warnings[0])
		}
		for _, ref := range h.Refs() {
			pods[ref] = true
		}
	}
	s.StoredPods = len(pods)
	if s.StoredPods != s.Pods {
		return fmt.Errorf("--store-in-cm stored %d pods in %s, want %d", s.StoredPods, ns, s.Pods)
	}
	b.log("  stored: %d pods in %d ConfigMaps, %.2f MiB", s.StoredPods, s.StoredObjects, float64(s.StoredBytes)/mib)
	return nil
}
