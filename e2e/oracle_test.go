package e2e

import (
	"context"
	"testing"

	"github.com/pod-ashiato/ashiato/e2e/oracle"
	"github.com/pod-ashiato/ashiato/e2e/s3server"
	"github.com/pod-ashiato/ashiato/src/s3store"
)

// TestOracle plays a fixed seed of the oracle (package oracle): about four
// hours of a cluster's life in fake time, with every fault, recorded by the
// real stages against this suite's API server, then every `history pod` and
// sampled `history node --at` answer compared with the truth. Mismatches and
// lost placements must be 0. tools/oracle runs random seeds for longer.
func TestOracle(t *testing.T) {
	requireCluster(t)
	runOracle(t, oracleConfig())
}

// TestOracleS3 is the same seed with the history kept in S3 (a real
// SeaweedFS): the new store must pass the same oracle.
func TestOracleS3(t *testing.T) {
	requireCluster(t)
	srv := s3server.StartT(t, s3server.Options{})
	s3Env(t, srv)
	st, err := s3store.New(t.Context(), s3store.Options{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Prefix: "oracle", Cluster: "seed-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Check(t.Context(), s3CheckTimeout); err != nil {
		t.Fatal(err)
	}
	cfg := oracleConfig()
	cfg.Store = st
	runOracle(t, cfg)
}

func oracleConfig() oracle.Config {
	cfg := oracle.Config{Rest: restConfig, Seed: 1}
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
	return cfg
}

func runOracle(t *testing.T, cfg oracle.Config) {
	t.Helper()
	cfg.Logf = t.Logf
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
