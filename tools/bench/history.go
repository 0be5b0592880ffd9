package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/store"
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

// measureHistory seeds historyHours hours, the last ending now, each holding
// every pod of the size on its node for the whole hour (and its owner), then
// times `history pod` (default window) and `history node N --since 24h`.
func (b *bench) measureHistory(ctx context.Context, s *sizeResult) error {
	ns, err := b.newCMNamespace(ctx, "history", s.Pods)
	if err != nil {
		return err
	}
	res := &historyResult{Hours: historyHours}
	last := store.HourOf(time.Now())
	start := time.Now()
	for k := historyHours - 1; k >= 0; k-- {
		hour := last.Add(-time.Duration(k) * time.Hour)
		h := store.NewHour(hour)
		for i := range s.Pods {
			ref := store.PodRef{Namespace: namespaceName(i, s.Namespaces), Name: podName(i)}
			node := nodeName(i % s.Nodes)
			h.Add(ref, node, hour.Add(time.Duration(i%60)*time.Second))
			h.Add(ref, node, hour.Add(time.Hour-time.Second))
			h.SetOwner(ref, store.Owner{Kind: "ReplicaSet", Name: ownerOf(ref.Name)})
		}
		shards, err := store.Encode(h, 0)
		if err != nil {
			return err
		}
		cms := make([]*corev1.ConfigMap, len(shards))
		for i, s := range shards {
			cms[i] = configmapstore.New(nil, ns).ConfigMap(s)
		}
		for i := len(cms) - 1; i >= 0; i-- {
			if _, err := b.client.CoreV1().ConfigMaps(ns).Create(ctx, cms[i], metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("seeding %s: %w", cms[i].Name, err)
			}
			res.StoredObjects++
			res.StoredBytes += valueBytes(cms[i])
		}
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
