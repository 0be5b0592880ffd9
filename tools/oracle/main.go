// Command oracle runs the history oracle (e2e/oracle) with random seeds for a
// while, against a control plane of its own, and prints the figures of each
// run and their total: scenarios run, queries checked, mismatches, placements
// lost. CI runs one fixed seed (e2e TestOracle); this is the longer run.
//
//	export ASHIATO_CONTROLPLANE_BIN=$(bash tools/controlplane/build.sh --print-dir)
//	cd tools && go run ./oracle -duration 10m
//
// It exits 1 when any run has a mismatch, a lost placement or a warning.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"time"

	"github.com/pod-ashiato/ashiato/e2e/controlplane"
	"github.com/pod-ashiato/ashiato/e2e/oracle"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "oracle:", err)
		os.Exit(1)
	}
}

func run() error {
	duration := flag.Duration("duration", 10*time.Minute, "keep starting runs until this much time has passed")
	seed := flag.Uint64("seed", 0, "seed of the first run (0: random); later runs add 1")
	burst := flag.Int("burst", 7000, "pods in the burst that grows an hour to four shards")
	verbose := flag.Bool("v", false, "print each run's progress")
	flag.Parse()
	if *seed == 0 {
		*seed = rand.Uint64N(1 << 32)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	cp, err := controlplane.Start(ctx, controlplane.Options{})
	if err != nil {
		return fmt.Errorf("control plane (is %s set?): %w", controlplane.EnvBinDir, err)
	}
	defer cp.Stop()

	var total oracle.Figures
	total.Scenarios = map[string]int{}
	started := time.Now()
	runs := 0
	for s := *seed; time.Since(started) < *duration && ctx.Err() == nil; s++ {
		cfg := oracle.Config{Rest: cp.RESTConfig(), Seed: s, BurstPods: *burst,
			RestartAPIServer: func(ctx context.Context, down func() error) error {
				if err := cp.StopAPIServer(); err != nil {
					return err
				}
				downErr := down()
				if err := cp.StartAPIServer(ctx); err != nil {
					return err
				}
				return downErr
			}}
		if *verbose {
			cfg.Logf = func(format string, args ...any) { fmt.Printf(format+"\n", args...) }
		}
		figs, err := oracle.Run(ctx, cfg)
		fmt.Println(figs)
		for _, e := range figs.Examples {
			fmt.Println("  ", e)
		}
		if err != nil {
			return fmt.Errorf("seed %d: %w", s, err)
		}
		runs++
		for k, n := range figs.Scenarios {
			total.Scenarios[k] += n
		}
		total.PodQueries += figs.PodQueries
		total.NodeQueries += figs.NodeQueries
		total.APIQueries += figs.APIQueries
		total.Mismatches += figs.Mismatches
		total.Lost += figs.Lost
		total.Warnings += figs.Warnings
		total.Hours += figs.Hours
		total.Pods += figs.Pods
		total.MaxShards = max(total.MaxShards, figs.MaxShards)
	}
	total.Elapsed = time.Since(started)
	fmt.Printf("TOTAL runs=%d first_seed=%d %s\n", runs, *seed, total)
	if total.Mismatches > 0 || total.Lost > 0 || total.Warnings > 0 {
		return fmt.Errorf("%d mismatches, %d placements lost, %d warnings", total.Mismatches, total.Lost, total.Warnings)
	}
	return nil
}
