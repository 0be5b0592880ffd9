package main

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// measureSize grows the cluster to n pods and measures every part.
func (b *bench) measureSize(ctx context.Context, n int) (s sizeResult, err error) {
	cfg := b.cfg
	s = sizeResult{Pods: n, Nodes: cfg.nodes, Namespaces: cfg.namespaces}
	have, err := countPods(ctx, b.client)
	if err != nil {
		return s, err
	}
	if onlyHistory(cfg) {
		have = n // these parts store their hours themselves; the pods are not read
	}
	if have > n {
		return s, fmt.Errorf("the cluster already holds %d pods (a kept control plane?): start with a fresh --dir", have)
	}
	if have < n {
		b.log("growing the cluster from %d to %d pods on %d nodes", have, n, cfg.nodes)
		start := time.Now()
		if err := b.seeder().grow(ctx, have, n); err != nil {
			return s, err
		}
		s.SeedSeconds = time.Since(start).Seconds()
		if got, err := countPods(ctx, b.client); err != nil {
			return s, err
		} else if got != n {
			return s, fmt.Errorf("after seeding the cluster holds %d pods, want %d (an interrupted seed? start with a fresh --dir)", got, n)
		}
		// Let the API server and etcd finish what the seeding left behind.
		settle := time.Second
		if n >= 10_000 {
			settle = 10 * time.Second
		}
		if err := sleep(ctx, settle); err != nil {
			return s, err
		}
	}
	b.log("measuring at %d pods", n)
	s.ControlPlaneMiB = controlPlaneRSS(b.cp.Dir())
	b.busy = nil
	defer func() { s.BusyPercent = newStat(b.busy) }()

	if cfg.parts["floor"] || cfg.parts["oneshot"] || cfg.parts["kubectl"] {
		if err := b.measureOneshot(ctx, &s); err != nil {
			return s, err
		}
	}
	if cfg.parts["store"] {
		if err := b.measureStore(ctx, &s); err != nil {
			return s, err
		}
	}
	if cfg.parts["watch"] {
		if !b.hasWatch {
			s.Skipped = append(s.Skipped, "continuous mode: this ashiato has no --source flag")
		} else if err := b.measureWatch(ctx, &s); err != nil {
			return s, err
		}
	}
	if cfg.parts["soak"] {
		if err := b.measureSoak(ctx, &s); err != nil {
			return s, err
		}
	}
	if cfg.parts["history"] {
		if err := b.measureHistory(ctx, &s); err != nil {
			return s, err
		}
	}
	if cfg.parts["s3"] {
		if err := b.measureS3(ctx, &s); err != nil {
			return s, err
		}
	}
	if cfg.parts["serve"] {
		if err := b.measureServe(ctx, &s, false); err != nil {
			return s, err
		}
	}
	if cfg.parts["serve-s3"] {
		if err := b.measureServe(ctx, &s, true); err != nil {
			return s, err
		}
	}
	if cfg.parts["sql"] {
		if err := b.measureSQL(ctx, &s); err != nil {
			return s, err
		}
	}
	return s, nil
}

// onlyHistory reports whether the parts that store their own hours (history,
// s3, serve, serve-s3, sql), which need no pods, are all that is measured.
func onlyHistory(cfg *config) bool {
	for p := range cfg.parts {
		if !slices.Contains([]string{"history", "s3", "serve", "serve-s3", "sql"}, p) {
			return false
		}
	}
	return true
}
