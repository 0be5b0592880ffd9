package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// measureOneshot times the one-shot readers at s.Pods pods: the floor,
// ashiato --oneshot and kubectl, taking turns.
func (b *bench) measureOneshot(ctx context.Context, s *sizeResult) error {
	cfg, n := b.cfg, s.Pods

	floorArgv := []string{b.self, floorCommand, "--kubeconfig", b.admin, "--page-size", b.pageSize, "--qps", b.qps, "--burst", b.burst}
	oneshotArgv := []string{b.ashiato, "--kubeconfig", b.admin, "--oneshot"}
	kubectlArgv := []string{b.kubectl, "--kubeconfig", b.admin, "get", "pods", "-A", "-o", "json"}

	// Floor, ashiato and kubectl take turns, so a drift of the API server over
	// the runs touches all three alike. An untimed floor run first warms the
	// API server's caches.
	var floor, oneshot, kubectl []sample
	if cfg.parts["floor"] {
		if _, err := b.floor(ctx, floorArgv, n); err != nil {
			return err
		}
	}
	for r := range cfg.runs {
		if cfg.parts["floor"] {
			x, err := b.floor(ctx, floorArgv, n)
			if err != nil {
				return err
			}
			floor = append(floor, x)
			b.log("  run %d floor: %.2fs, %.2fs CPU, %.1f MiB", r+1, x.Wall.Seconds(), x.CPU.Seconds(), float64(x.MaxRSS)/mib)
		}
		if cfg.parts["oneshot"] {
			x, err := b.timed(ctx, oneshotArgv)
			if err != nil {
				return err
			}
			oneshot = append(oneshot, x)
			b.log("  run %d ashiato --oneshot: %.2fs, %.2fs CPU, %.1f MiB", r+1, x.Wall.Seconds(), x.CPU.Seconds(), float64(x.MaxRSS)/mib)
		}
		if cfg.parts["kubectl"] && b.kubectl != "" {
			x, err := b.timed(ctx, kubectlArgv)
			if err != nil {
				return err
			}
			kubectl = append(kubectl, x)
			b.log("  run %d kubectl: %.2fs, %.2fs CPU, %.1f MiB", r+1, x.Wall.Seconds(), x.CPU.Seconds(), float64(x.MaxRSS)/mib)
		}
	}
	s.Floor = summarize("bench floor (paginated protobuf LIST, limit "+b.pageSize+" as ashiato's --page-size, discarded)", floor)
	s.Oneshot = summarize("ashiato --oneshot > /dev/null", oneshot)
	s.Kubectl = summarize("kubectl get pods -A -o json > /dev/null", kubectl)
	if cfg.parts["kubectl"] && b.kubectl == "" {
		s.Skipped = append(s.Skipped, "kubectl: not found")
	}

	if cfg.parts["oneshot"] {
		// One more run, untimed, checks what --oneshot prints.
		lines := &lineCounter{}
		if _, err := timed(ctx, oneshotArgv, lines, false, ""); err != nil {
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
