package e2e

import (
	"context"
	"testing"

	"github.com/pod-ashiato/ashiato/e2e/oracle"
)

// TestOracle plays a fixed seed of the oracle (package oracle): about four
// hours of a cluster's life in fake time, with every fault, recorded by the
// real stages against this suite's API server, then every `history pod` and
// sampled `history node --at` answer compared with the truth. Mismatches and
// lost placements must be 0. tools/oracle runs random seeds for longer.
func TestOracle(t *testing.T) {
	requireCluster(t)
	cfg := oracle.Config{Rest: restConfig, Seed: 1, Logf: t.Logf}
	if cp != nil {
		cfg.RestartAPIServer = func(ctx context.Context, down func() error) error {
			if err := cp.StopAPIServer(); err != nil {
				return err
			}
			downErr := down()
			if err := cp.StartAPIServer(ctx); err != nil {
				return err
			}
			return downErr
		}
	}
	figs, err := oracle.Run(t.Context(), cfg)
	t.Log(figs)
	for _, e := range figs.Examples {
		t.Log(e)
	}
	if err != nil {
		t.Fatal(err)
	}
	if figs.Mismatches > 0 || figs.Lost > 0 || figs.Warnings > 0 {
		t.Fatalf("mismatches=%d placements_lost=%d warnings=%d, want 0", figs.Mismatches, figs.Lost, figs.Warnings)
	}
	if figs.MaxShards < 4 {
		t.Fatalf("the burst hour had %d objects at most, want the growth to 4 shards", figs.MaxShards)
	}
	if figs.Hours < 3 || figs.ScenariosRun() == 0 {
		t.Fatalf("the run crossed %d hour boundaries with %d scenarios; want at least 3 and some", figs.Hours, figs.ScenariosRun())
	}
}
