package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// measureOneshot times the one-shot readers at s.Pods pods, taking turns so
// that a drift of the API server over the runs touches all alike:
//
//   - the floor: one LIST without a limit, decoded into a PodList as the
//     original tool does (client-go's List, JSON, its default), discarded;
//   - a paginated protobuf LIST (ashiato's --page-size), discarded: what
//     ashiato --oneshot did before it streamed, and what kubectl does;
//   - ashiato --oneshot, every record printed to /dev/null;
//   - kubectl get pods -A -o json > /dev/null.
func (b *bench) measureOneshot(ctx context.Context, s *sizeResult) error {
	cfg, n := b.cfg, s.Pods
	floor := func(pageSize, content string) []string {
		return []string{b.self, floorCommand, "--kubeconfig", b.admin, "--page-size", pageSize, "--content", content, "--qps", b.qps, "--burst", b.burst}
	}
	type reader struct {
		part, name string
		argv       []string
		check      bool // prints the count of pods it listed
		into       **program
		command    string
		xs         []sample
	}
	readers := []*reader{
		{part: "floor", name: "floor", argv: floor("0", "json"), check: true, into: &s.Floor,
			command: "bench floor (one LIST without a limit, JSON, decoded into a PodList as the original tool does; discarded)"},
		{part: "floor", name: "paginated", argv: floor(b.pageSize, "protobuf"), check: true, into: &s.Paginated,
			command: "bench floor (paginated protobuf LIST, limit " + b.pageSize + " as ashiato's --page-size; discarded)"},
		{part: "oneshot", name: "ashiato --oneshot", argv: []string{b.ashiato, "--kubeconfig", b.admin, "--oneshot"}, into: &s.Oneshot,
			command: "ashiato --oneshot > /dev/null"},
		{part: "kubectl", name: "kubectl", argv: []string{b.kubectl, "--kubeconfig", b.admin, "get", "pods", "-A", "-o", "json"}, into: &s.Kubectl,
			command: "kubectl get pods -A -o json > /dev/null"},
	}
	readers = slices.DeleteFunc(readers, func(r *reader) bool { return !cfg.parts[r.part] || (r.part == "kubectl" && b.kubectl == "") })
	if cfg.parts["kubectl"] && b.kubectl == "" {
		s.Skipped = append(s.Skipped, "kubectl: not found")
	}
	if len(readers) == 0 {
		return nil
	}
	// An untimed run first warms the API server's caches.
	if _, err := timed(ctx, readers[0].argv, nil, false, ""); err != nil {
		return err
	}
	for r := range cfg.runs {
		for _, rd := range readers {
			var x sample
			var err error
			if rd.check {
				x, err = b.floor(ctx, rd.argv, n)
			} else {
				x, err = b.timed(ctx, rd.argv)
			}
			if err != nil {
				return err
			}
			rd.xs = append(rd.xs, x)
			b.log("  run %d %s: %.2fs, %.2fs CPU, %.1f MiB", r+1, rd.name, x.Wall.Seconds(), x.CPU.Seconds(), float64(x.MaxRSS)/mib)
		}
	}
	for _, rd := range readers {
		*rd.into = summarize(rd.command, rd.xs)
	}

	if cfg.parts["oneshot"] {
		// One more run, untimed, checks what --oneshot prints.
		lines := &lineCounter{}
		if _, err := timed(ctx, []string{b.ashiato, "--kubeconfig", b.admin, "--oneshot"}, lines, false, ""); err != nil {
			return err
		}
		s.OneshotRecords = lines.Lines()
		if s.OneshotRecords != n {
			return fmt.Errorf("ashiato --oneshot printed %d lines, want %d", s.OneshotRecords, n)
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines.First()), &rec); err != nil || rec["event"] != "snapshot" || rec["node_name"] == "" {
			return fmt.Errorf("ashiato --oneshot printed %q, want a snapshot record", lines.First())
		}
	}
	return nil
}

func (b *bench) timed(ctx context.Context, argv []string) (sample, error) {
	if err := b.waitQuiet(ctx); err != nil {
		return sample{}, err
	}
	return timed(ctx, argv, nil, b.viaTime, b.tmp)
}

// quietBusy is the CPU use (of both cores, by every process) under which the
// machine counts as quiet enough to time a run.
const quietBusy = 0.15

// waitQuiet waits until the machine is quiet (the previous run's load on the
// control plane has settled, and nothing else competes for the two cores), at
// most --quiet-wait, and records how busy it was when the run started.
func (b *bench) waitQuiet(ctx context.Context) error {
	if b.cfg.quietWait == 0 {
		return nil // --smoke: no time to wait, and nothing is judged
	}
	deadline := time.Now().Add(b.cfg.quietWait)
	for {
		busy, err := cpuBusy(ctx, time.Second)
		if err != nil {
			return err
		}
		if busy <= quietBusy || time.Now().After(deadline) {
			if busy > quietBusy {
				b.log("  the machine is still %.0f%% busy after %s: timing anyway", busy*100, b.cfg.quietWait)
			}
			b.busy = append(b.busy, busy*100)
			return nil
		}
	}
}

// floor runs the floor process and checks that it saw every pod.
func (b *bench) floor(ctx context.Context, argv []string, n int) (sample, error) {
	out := &tailBuffer{max: 1 << 10}
	if err := b.waitQuiet(ctx); err != nil {
		return sample{}, err
	}
	x, err := timed(ctx, argv, out, b.viaTime, b.tmp)
	if err != nil {
		return x, err
	}
	if got, _ := strconv.Atoi(out.String()); got != n {
		return x, fmt.Errorf("the floor listed %s pods, want %d", out.String(), n)
	}
	return x, nil
}

func summarize(command string, xs []sample) *program {
	if len(xs) == 0 {
		return nil
	}
	var wall, cpu, rss []float64
	for _, x := range xs {
		wall = append(wall, x.Wall.Seconds())
		cpu = append(cpu, x.CPU.Seconds())
		rss = append(rss, float64(x.MaxRSS)/mib)
	}
	return &program{Command: command, WallS: newStat(wall), CPUS: newStat(cpu), RSSMiB: newStat(rss)}
}
