package main

import (
	"fmt"
	"math"
	"strings"
)

// The targets, at 150,000 pods (judged at the largest size measured).
const (
	targetFloorRatio   = 1.0  // --oneshot wall time ≤ 1.0× the floor's (one LIST without a limit, as the original)
	targetRSSMiB       = 64.0 // --oneshot peak RSS ≤ 64 MiB ...
	targetRSSGrowth    = 1.25 // ... and flat in N: at most +25% from the smallest size to the largest
	targetKubectlRatio = 0.1  // --oneshot wall time ≤ 0.1× kubectl's
	targetStoreSeconds = 10.0 // --oneshot --store-in-cm ≤ 10 s
	targetBytesPerPod  = 1024 // continuous mode ≤ 1 KiB of RSS per tracked pod
)

// fmtStat prints "median [min–max]" (just the median for one run).
func fmtStat(s stat, decimals int) string {
	if !s.valid() {
		return "–"
	}
	f := func(v float64) string { return fmtNum(v, decimals) }
	if len(s.Runs) == 1 || s.Min == s.Max {
		return f(s.Median)
	}
	return fmt.Sprintf("%s [%s–%s]", f(s.Median), f(s.Min), f(s.Max))
}

func fmtNum(v float64, decimals int) string {
	if math.Abs(v) >= 10_000 {
		return groupThousands(int64(math.Round(v)))
	}
	return fmt.Sprintf("%.*f", decimals, v)
}

func groupThousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func ratio(a, b *program) string {
	if a == nil || b == nil || b.WallS.Median == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f×", a.WallS.Median/b.WallS.Median)
}

// sizeTables is the Markdown for one size: the one-shot programs, then
// continuous mode.
func sizeTables(s sizeResult, cfg *config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n### %s pods on %s nodes (%d namespaces)\n\n", groupThousands(int64(s.Pods)), groupThousands(int64(s.Nodes)), s.Namespaces)
	fmt.Fprintf(&b, "Each figure: median [min–max] of %d runs.\n\n", cfg.runs)
	fmt.Fprintln(&b, "| program | wall time (s) | CPU time (s) | peak RSS (MiB) | time vs floor | time vs kubectl |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|")
	row := func(p *program) {
		if p == nil {
			return
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", p.Command, fmtStat(p.WallS, 2), fmtStat(p.CPUS, 2), fmtStat(p.RSSMiB, 1), ratio(p, s.Floor), ratio(p, s.Kubectl))
	}
	row(s.Floor)
	row(s.Paginated)
	row(s.Oneshot)
	row(s.Kubectl)
	row(s.StoreNew)
	row(s.StoreExisting)
	if s.Oneshot != nil && s.Floor != nil {
		over := s.Oneshot.RSSMiB.Median - s.Floor.RSSMiB.Median
		fmt.Fprintf(&b, "\nashiato --oneshot over the floor: %+.2f s of wall time (%.2f×), %+.2f s of CPU, %+.1f MiB of peak RSS.",
			s.Oneshot.WallS.Median-s.Floor.WallS.Median, s.Oneshot.WallS.Median/s.Floor.WallS.Median, s.Oneshot.CPUS.Median-s.Floor.CPUS.Median, over)
		fmt.Fprintf(&b, " It printed %s records (want %s).\n", groupThousands(int64(s.OneshotRecords)), groupThousands(int64(s.Pods)))
	}
	if s.StoredObjects > 0 {
		fmt.Fprintf(&b, "One --store-in-cm run stored %s pods in %d ConfigMaps, %.2f MiB of values.\n",
			groupThousands(int64(s.StoredPods)), s.StoredObjects, float64(s.StoredBytes)/mib)
	}
	for _, w := range []*watchResult{s.Watch, s.WatchStore} {
		if w == nil {
			continue
		}
		fmt.Fprintf(&b, "\n`%s` (steady window %.0f s, no pod changes; mode: %s):\n\n", w.Command, w.WindowSeconds, w.Mode)
		fmt.Fprintln(&b, "| figure | value |")
		fmt.Fprintln(&b, "|---|---|")
		fmt.Fprintf(&b, "| RSS at start (MiB) | %s |\n", fmtStat(w.StartRSSMiB, 1))
		fmt.Fprintf(&b, "| time to sync (s) | %s |\n", fmtStat(w.SyncSeconds, 2))
		fmt.Fprintf(&b, "| RSS at sync (MiB) | %s |\n", fmtStat(w.SyncRSSMiB, 1))
		fmt.Fprintf(&b, "| RSS after the window (MiB) | %s |\n", fmtStat(w.SteadyRSSMiB, 1))
		fmt.Fprintf(&b, "| peak RSS, VmHWM (MiB) | %s |\n", fmtStat(w.PeakRSSMiB, 1))
		fmt.Fprintf(&b, "| Go heap in use after the window (MiB) | %s |\n", fmtStat(w.HeapMiB, 1))
		fmt.Fprintf(&b, "| RSS per tracked pod, (after window − start) / pods (bytes) | %s |\n", fmtStat(w.BytesPerPod, 0))
		fmt.Fprintf(&b, "| API requests per hour, ashiato's own (flow schema %s) | %s |\n", ashiatoFlowSchema, fmtStat(w.RequestsPerHour, 0))
		fmt.Fprintf(&b, "| API requests per hour, all minus baseline (%s/h) | %s |\n", fmtNum(w.BaselinePerHour, 0), fmtStat(w.RequestsPerHourTotal, 0))
		fmt.Fprintf(&b, "| pod watches ashiato holds open at the end (API server's gauge less its own) | %s |\n", fmtStat(w.OpenWatches, 0))
		if w.SyncWrites.valid() {
			fmt.Fprintf(&b, "| ConfigMap writes after sync (the whole hour) | %s |\n", fmtStat(w.SyncWrites, 0))
			fmt.Fprintf(&b, "| ConfigMap bytes after sync (MiB) | %s |\n", fmtStat(scale(w.SyncBytes, 1.0/mib), 2))
			fmt.Fprintf(&b, "| ConfigMap writes per hour, steady window | %s |\n", fmtStat(w.SteadyWritesPerHour, 0))
			fmt.Fprintf(&b, "| ConfigMap bytes per hour, steady window (MiB) | %s |\n", fmtStat(scale(w.SteadyBytesPerHour, 1.0/mib), 2))
			if w.SnapshotsPerHour > 0 {
				writes := w.SyncWrites.Median*w.SnapshotsPerHour + w.SteadyWritesPerHour.Median
				bytes := w.SyncBytes.Median*w.SnapshotsPerHour + w.SteadyBytesPerHour.Median
				fmt.Fprintf(&b, "| per hour with the %.0f full snapshot(s) the window did not see (each ≈ the sync's writes) | %.0f writes, %.2f MiB |\n",
					w.SnapshotsPerHour, writes, bytes/mib)
			}
		}
		fmt.Fprintf(&b, "\nIt printed %s records at sync (want %s).\n", groupThousands(int64(w.Records)), groupThousands(int64(s.Pods)))
	}
	if s.S3 != nil {
		b.WriteString(s3Table(s.S3, s.Pods))
	}
	if s.History != nil {
		b.WriteString(historyTable(s.History, s.Pods))
	}
	for _, r := range []*serveResult{s.Serve, s.ServeS3} {
		if r != nil {
			b.WriteString(serveTable(r, s.Pods))
		}
	}
	if s.SQL != nil {
		b.WriteString(sqlTable(s.SQL))
	}
	if s.Soak != nil {
		b.WriteString(soakTable(s.Soak))
	}
	if len(s.ControlPlaneMiB) > 0 {
		fmt.Fprintf(&b, "\nControl plane at the start of these measurements: kube-apiserver %.0f MiB, etcd %.0f MiB of RSS.\n",
			s.ControlPlaneMiB["kube-apiserver"], s.ControlPlaneMiB["etcd"])
	}
	if s.BusyPercent.valid() {
		fmt.Fprintf(&b, "\nCPU use of the whole machine in the second before each timed run: %s%% (runs wait for < %.0f%%).\n", fmtStat(s.BusyPercent, 0), quietBusy*100)
	}
	for _, why := range s.Skipped {
		fmt.Fprintf(&b, "\nSkipped: %s.\n", why)
	}
	return b.String()
}

func scale(s stat, f float64) stat {
	out := stat{Median: s.Median * f, Min: s.Min * f, Max: s.Max * f}
	for _, r := range s.Runs {
		out.Runs = append(out.Runs, r*f)
	}
	return out
}

// judge evaluates the targets at the largest size (and, for the RSS
// being flat in N, against the smallest).
func judge(sizes []sizeResult) []target {
	if len(sizes) == 0 {
		return nil
	}
	last, first := sizes[len(sizes)-1], sizes[0]
	at := fmt.Sprintf(" at %s pods", groupThousands(int64(last.Pods)))
	yes := func(b bool) *bool { return &b }
	var ts []target

	t := target{Goal: fmt.Sprintf("`--oneshot` wall time ≤ %.1f× the floor's (one LIST without a limit, decoded as the original tool does)%s", targetFloorRatio, at)}
	if last.Oneshot != nil && last.Floor != nil {
		r := last.Oneshot.WallS.Median / last.Floor.WallS.Median
		t.Measured = fmt.Sprintf("%.2f s vs %.2f s: %.2f×", last.Oneshot.WallS.Median, last.Floor.WallS.Median, r)
		t.Met = yes(r <= targetFloorRatio)
	}
	ts = append(ts, t)

	t = target{Goal: fmt.Sprintf("`--oneshot` peak RSS flat in N (≤ %.0f MiB, at most +%.0f%% from the smallest size)", targetRSSMiB, (targetRSSGrowth-1)*100)}
	if last.Oneshot != nil && first.Oneshot != nil {
		var parts []string
		worst := 0.0
		for _, s := range sizes {
			if s.Oneshot != nil {
				parts = append(parts, fmt.Sprintf("%.1f MiB at %s", s.Oneshot.RSSMiB.Median, groupThousands(int64(s.Pods))))
				worst = max(worst, s.Oneshot.RSSMiB.Max)
			}
		}
		growth := last.Oneshot.RSSMiB.Median / first.Oneshot.RSSMiB.Median
		t.Measured = strings.Join(parts, ", ") + fmt.Sprintf(" (worst run %.1f MiB)", worst)
		t.Met = yes(worst <= targetRSSMiB && growth <= targetRSSGrowth)
	}
	ts = append(ts, t)

	t = target{Goal: fmt.Sprintf("`--oneshot` wall time ≤ %.1f× kubectl's%s", targetKubectlRatio, at)}
	if last.Oneshot != nil && last.Kubectl != nil {
		r := last.Oneshot.WallS.Median / last.Kubectl.WallS.Median
		t.Measured = fmt.Sprintf("%.2f s vs %.2f s: %.3f×", last.Oneshot.WallS.Median, last.Kubectl.WallS.Median, r)
		t.Met = yes(r <= targetKubectlRatio)
	}
	ts = append(ts, t)

	t = target{Goal: fmt.Sprintf("`--oneshot --store-in-cm` ≤ %.0f s%s", targetStoreSeconds, at)}
	if last.StoreNew != nil && last.StoreExisting != nil {
		t.Measured = fmt.Sprintf("%.2f s into a new hour, %.2f s into a stored hour (slowest run %.2f s)",
			last.StoreNew.WallS.Median, last.StoreExisting.WallS.Median, max(last.StoreNew.WallS.Max, last.StoreExisting.WallS.Max))
		t.Met = yes(last.StoreNew.WallS.Median <= targetStoreSeconds && last.StoreExisting.WallS.Median <= targetStoreSeconds)
	}
	ts = append(ts, t)

	t = target{Goal: fmt.Sprintf("continuous mode ≤ 1 KiB of RSS per tracked pod%s", at)}
	if w := last.Watch; w != nil && w.BytesPerPod.valid() {
		t.Measured = fmt.Sprintf("%.0f bytes per pod (%.1f MiB at start, %.1f MiB after sync and the window)", w.BytesPerPod.Median, w.StartRSSMiB.Median, w.SteadyRSSMiB.Median)
		if w.Mode == "watch" {
			t.Met = yes(w.BytesPerPod.Median <= targetBytesPerPod)
		} else {
			t.Measured += "; but " + w.Mode
		}
	}
	ts = append(ts, t)
	return ts
}

func targetsTable(ts []target) string {
	var b strings.Builder
	fmt.Fprintln(&b, "\n### Targets")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "| target | measured | met |")
	fmt.Fprintln(&b, "|---|---|---|")
	for _, t := range ts {
		met := "not measured"
		switch {
		case t.Met == nil:
		case *t.Met:
			met = "**yes**"
		default:
			met = "**no**"
		}
		measured := t.Measured
		if measured == "" {
			measured = "–"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", t.Goal, measured, met)
	}
	return b.String()
}
