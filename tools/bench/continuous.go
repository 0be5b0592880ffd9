package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// measureWatch runs continuous mode --runs times without and with
// --store-in-cm, after measuring the API server's baseline request rate.
func (b *bench) measureWatch(ctx context.Context, s *sizeResult) error {
	cfg := b.cfg
	apiMetrics := func(ctx context.Context) ([]series, error) {
		raw, err := b.client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
		if err != nil {
			return nil, fmt.Errorf("API server metrics: %w", err)
		}
		return parseMetrics(strings.NewReader(string(raw)))
	}
	b.log("  baseline: the API server's own requests over %s, no ashiato", cfg.watchWindow)
	base, baseWatches, err := baseline(ctx, apiMetrics, cfg.watchWindow)
	if err != nil {
		return err
	}
	interval := cfg.watchInterval.String()
	for _, withStore := range []bool{false, true} {
		args := []string{"--source=watch", "--interval", interval}
		if withStore {
			args = append(args, "--store-in-cm", "--cm-namespace", "NS", "--cm-flush-interval", cfg.watchFlush.String())
		}
		res := &watchResult{
			Command:         "ashiato " + strings.Join(args, " ") + " --metrics-addr 127.0.0.1:PORT",
			WindowSeconds:   cfg.watchWindow.Seconds(),
			BaselinePerHour: base,
		}
		var samples []watchSample
		for r := range cfg.runs {
			w := &watchRun{ashiato: b.ashiato, kubeconfig: b.sa, pods: s.Pods, window: cfg.watchWindow,
				storeInCM: withStore, flush: cfg.watchFlush, apiMetrics: apiMetrics, log: b.log,
				args: slices.Clone(args)}
			if withStore {
				ns, err := b.newCMNamespace(ctx, "watch", s.Pods)
				if err != nil {
					return err
				}
				w.args[slices.Index(w.args, "NS")] = ns
			}
			if err := b.waitQuiet(ctx); err != nil {
				return err
			}
			x, err := w.run(ctx)
			if err != nil {
				return fmt.Errorf("continuous mode: %w", err)
			}
			b.log("  run %d %s: start %.1f MiB, sync %.1fs %.1f MiB, steady %.1f MiB, %v requests and %v CM writes in %s",
				r+1, res.Command, float64(x.startRSS)/mib, x.sync.Seconds(), float64(x.syncRSS)/mib, float64(x.steadyRSS)/mib,
				x.requests, x.steadyWrites, x.window.Round(time.Second))
			samples = append(samples, x)
		}
		fillWatch(res, samples, s.Pods, cfg.watchInterval, baseWatches)
		if withStore {
			s.WatchStore = res
		} else {
			s.Watch = res
		}
	}
	return nil
}

func fillWatch(res *watchResult, xs []watchSample, pods int, interval time.Duration, baseWatches float64) {
	col := func(f func(watchSample) float64) stat {
		var v []float64
		for _, x := range xs {
			v = append(v, f(x))
		}
		return newStat(v)
	}
	res.Mode = xs[0].mode
	res.Records = xs[len(xs)-1].records
	res.StartRSSMiB = col(func(x watchSample) float64 { return float64(x.startRSS) / mib })
	res.SyncSeconds = col(func(x watchSample) float64 { return x.sync.Seconds() })
	res.SyncRSSMiB = col(func(x watchSample) float64 { return float64(x.syncRSS) / mib })
	res.SteadyRSSMiB = col(func(x watchSample) float64 { return float64(x.steadyRSS) / mib })
	res.PeakRSSMiB = col(func(x watchSample) float64 { return float64(x.peakRSS) / mib })
	res.HeapMiB = col(func(x watchSample) float64 { return float64(x.heap) / mib })
	res.BytesPerPod = col(func(x watchSample) float64 { return float64(x.steadyRSS-x.startRSS) / float64(pods) })
	res.RequestsPerHour = col(func(x watchSample) float64 { return x.requests / x.window.Hours() })
	res.RequestsPerHourTotal = col(func(x watchSample) float64 {
		return x.requestsTotal/x.window.Hours() - res.BaselinePerHour
	})
	res.OpenWatches = col(func(x watchSample) float64 { return x.openWatches - baseWatches })
	if xs[0].syncWrites > 0 {
		res.SyncWrites = col(func(x watchSample) float64 { return x.syncWrites })
		res.SyncBytes = col(func(x watchSample) float64 { return x.syncBytes })
		res.SteadyWritesPerHour = col(func(x watchSample) float64 { return x.steadyWrites / x.window.Hours() })
		res.SteadyBytesPerHour = col(func(x watchSample) float64 { return x.steadyBytes / x.window.Hours() })
		if interval > time.Duration(res.WindowSeconds*float64(time.Second)) {
			res.SnapshotsPerHour = time.Hour.Seconds() / interval.Seconds()
		}
	}
}
