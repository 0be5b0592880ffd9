package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// historyHours is how many stored hours the history part reads: `history
// pod`'s default window.
const historyHours = 24

// Targets of issue 13 for `history` at 150,000 pods with 24 stored hours.
const (
	targetHistoryPodMiB  = 64
	targetHistoryPodS    = 2
	targetHistoryNodeMiB = 128
)

// historyResult is `ashiato history` against historyHours stored hours of
// every pod, written directly with the product's codec.
type historyResult struct {
	Hours         int      `json:"hours"`
	StoredObjects int      `json:"stored_objects"`
	StoredBytes   int      `json:"stored_bytes"`
	Pod           *program `json:"pod"`
	Node          *program `json:"node"`
}

// measureHistory seeds historyHours hours (storedHour) into ConfigMaps, then
// times `history pod` (default window) and `history node N --since 24h`.
func (b *bench) measureHistory(ctx context.Context, s *sizeResult) error {
	ns, err := b.newCMNamespace(ctx, "history", s.Pods)
	if err != nil {
		return err
	}
	res := &historyResult{Hours: historyHours}
	start := time.Now()
	if res.StoredObjects, res.StoredBytes, err = b.seedConfigMaps(ctx, ns, s, historyHours); err != nil {
		return err
	}
	b.log("  history: seeded %d hours of %d pods, %d ConfigMaps, %.1f MiB, in %s", historyHours, s.Pods, res.StoredObjects, float64(res.StoredBytes)/mib, time.Since(start).Round(time.Second))

	pod := namespaceName(s.Pods/2, s.Namespaces) + "/" + podName(s.Pods/2)
	node := nodeName(1 % s.Nodes)
	queries := []struct {
		name string
		argv []string
		into **program
	}{
		{"ashiato history pod NS/POD (24h)", []string{"history", "pod", pod}, &res.Pod},
		{"ashiato history node NODE --since 24h", []string{"history", "node", node, "--since", "24h"}, &res.Node},
	}
	for _, q := range queries {
		argv := append([]string{b.ashiato}, q.argv...)
		argv = append(argv, "--kubeconfig", b.admin, "--cm-namespace", ns, "-o", "json")
		var runs []sample
		for r := range b.cfg.runs {
			x, err := b.timed(ctx, argv)
			if err != nil {
				return err
			}
			runs = append(runs, x)
			b.log("  run %d %s: %.2fs, %.1f MiB", r+1, q.name, x.Wall.Seconds(), float64(x.MaxRSS)/mib)
		}
		*q.into = summarize(q.name+" > /dev/null", runs)
	}
	s.History = res
	return nil
}

// storedHour is what the history, s3 and serve parts store for one hour:
// every pod of the size on its node for the whole hour (first seen within the
// hour's first minute, last seen at its end), with its owner.
func storedHour(hour time.Time, s *sizeResult) *store.Hour {
	h := store.NewHour(hour)
	for i := range s.Pods {
		ref := store.PodRef{Namespace: namespaceName(i, s.Namespaces), Name: podName(i)}
		node := nodeName(i % s.Nodes)
		h.Add(ref, node, hour.Add(time.Duration(i%60)*time.Second))
		h.Add(ref, node, hour.Add(time.Hour-time.Second))
		h.SetOwner(ref, store.Owner{Kind: "ReplicaSet", Name: ownerOf(ref.Name)})
	}
	return h
}

// storedShards encodes the n hours up to the one now is in, oldest first,
// with the product's codec, and hands each hour's shards to write.
func storedShards(s *sizeResult, n int, write func(shards []*storeio.Shard) error) error {
	return storedShardsUntil(s, store.HourOf(time.Now()), n, write)
}

// storedShardsUntil is storedShards of the n hours up to last.
func storedShardsUntil(s *sizeResult, last time.Time, n int, write func(shards []*storeio.Shard) error) error {
	for k := n - 1; k >= 0; k-- {
		shards, err := store.Encode(storedHour(last.Add(-time.Duration(k)*time.Hour), s), 0)
		if err != nil {
			return err
		}
		if err := write(shards); err != nil {
			return err
		}
	}
	return nil
}

// seedConfigMaps stores n hours of every pod of the size (storedHour) in the
// ConfigMaps of namespace ns, each hour's highest shard first and shard 0
// last, as the sink writes them, and counts the objects and value bytes.
func (b *bench) seedConfigMaps(ctx context.Context, ns string, s *sizeResult, n int) (objects, bytes int, err error) {
	cmStore := configmapstore.New(nil, ns)
	err = storedShards(s, n, func(shards []*storeio.Shard) error {
		for i := len(shards) - 1; i >= 0; i-- {
			cm := cmStore.ConfigMap(shards[i])
			if _, err := b.client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("seeding %s: %w", cm.Name, err)
			}
			objects++
			bytes += valueBytes(cm)
		}
		return nil
	})
	return objects, bytes, err
}

// ownerOf is the ReplicaSet of a seeded pod: its name without the last part.
func ownerOf(pod string) string { return pod[:strings.LastIndexByte(pod, '-')] }

// historyTable is the history part's figures and targets.
func historyTable(h *historyResult, pods int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n`ashiato history` against %d stored hours of %s pods (%d ConfigMaps, %.1f MiB of values):\n\n",
		h.Hours, groupThousands(int64(pods)), h.StoredObjects, float64(h.StoredBytes)/mib)
	fmt.Fprintln(&b, "| query | wall time (s) | CPU time (s) | peak RSS (MiB) |")
	fmt.Fprintln(&b, "|---|---|---|---|")
	for _, p := range []*program{h.Pod, h.Node} {
		if p != nil {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", p.Command, fmtStat(p.WallS, 2), fmtStat(p.CPUS, 2), fmtStat(p.RSSMiB, 1))
		}
	}
	yes := func(b bool) *bool { return &b }
	var ts []target
	if h.Pod != nil {
		ts = append(ts,
			target{Goal: fmt.Sprintf("history pod ≤ %d MiB peak", targetHistoryPodMiB), Measured: fmt.Sprintf("%.1f MiB", h.Pod.RSSMiB.Median), Met: yes(h.Pod.RSSMiB.Median <= targetHistoryPodMiB)},
			target{Goal: fmt.Sprintf("history pod ≤ %d s", targetHistoryPodS), Measured: fmt.Sprintf("%.2f s", h.Pod.WallS.Median), Met: yes(h.Pod.WallS.Median <= targetHistoryPodS)})
	}
	if h.Node != nil {
		ts = append(ts, target{Goal: fmt.Sprintf("history node --since 24h ≤ %d MiB peak", targetHistoryNodeMiB), Measured: fmt.Sprintf("%.1f MiB", h.Node.RSSMiB.Median), Met: yes(h.Node.RSSMiB.Median <= targetHistoryNodeMiB)})
	}
	b.WriteString("\n" + targetsTable(ts))
	return b.String()
}
