package main

import (
	"fmt"
	"strings"
)

// The targets for the deployed defaults with no pod changing (judged
// per hour: the steady window's rates plus one rollover).
const (
	targetSoakBytesPerPod = 1024 // steady RSS ≤ 1 KiB a pod
	targetSoakPeakPerPod  = 1536 // VmHWM ≤ 1.5 KiB a pod
	targetSoakShardWrites = 2    // writes an hour ≤ 2 × shards
	targetSoakStoredBytes = 2    // bytes written an hour ≤ 2 × the hour's stored size
)

// perHour is a steady-window figure per hour with the hour turns it saw taken
// out, plus one rollover: what an hour of the soak costs, whether or not the
// window held the turn of an hour.
func (r *soakResult) perHour(steady, rollover float64, turnCost float64) float64 {
	hours := (r.lastT() - r.SteadyFrom) / 3600
	if hours <= 0 {
		return steady + rollover
	}
	between := steady - float64(r.HourTurns)*turnCost/hours
	return max(between, 0) + rollover
}

func (r *soakResult) lastT() float64 {
	if len(r.Samples) == 0 {
		return 0
	}
	return r.Samples[len(r.Samples)-1].T
}

// soakTargets judges the soak against the targets.
func soakTargets(r *soakResult) []target {
	yes := func(b bool) *bool { return &b }
	pods := float64(r.Pods)
	at := fmt.Sprintf(" (%s pods, soak of %.0f min, %d hour turn(s) inside)", groupThousands(int64(r.Pods)), r.DurationSeconds/60, r.HourTurns)
	var ts []target

	lines := r.perHour(r.LinesPerHour, float64(r.Rollover.Lines), float64(r.Rollover.Lines))
	ts = append(ts, target{
		Goal:     "stdout with nothing changing: at most one full snapshot an hour" + at,
		Measured: fmt.Sprintf("%s lines an hour (%s between snapshots, %s in the hour's snapshot); %.1f MiB an hour", groupThousands(int64(lines)), groupThousands(int64(lines-float64(r.Rollover.Lines))), groupThousands(int64(r.Rollover.Lines)), r.perHour(r.BytesPerHour, float64(r.Rollover.Bytes), float64(r.Rollover.Bytes))/mib),
		Met:      yes(lines <= pods*1.001),
	})

	reads := r.CMReadsPerHour * (r.lastT() - r.SteadyFrom) / 3600
	ts = append(ts, target{
		Goal:     "ConfigMaps: no read in steady state" + at,
		Measured: fmt.Sprintf("%.0f reads in the steady window (%.0f an hour)", reads, r.CMReadsPerHour),
		Met:      yes(reads <= float64(r.HourTurns*(r.Shards+1))),
	})

	writes := r.perHour(r.CMWritesPerHour, r.Rollover.CMWrites, r.Rollover.CMWrites)
	ts = append(ts, target{
		Goal:     fmt.Sprintf("ConfigMap writes an hour ≤ %d × shards", targetSoakShardWrites),
		Measured: fmt.Sprintf("%.0f writes an hour (%.0f in the first flush), %d shards", writes, r.Rollover.CMWrites, r.Shards),
		Met:      yes(r.Shards > 0 && writes <= float64(targetSoakShardWrites*r.Shards)),
	})

	written := r.perHour(r.CMBytesPerHour, r.Rollover.CMBytes, r.Rollover.CMBytes)
	ts = append(ts, target{
		Goal:     fmt.Sprintf("ConfigMap bytes written an hour ≤ %d × the hour's stored size", targetSoakStoredBytes),
		Measured: fmt.Sprintf("%.2f MiB an hour, the hour stores %.2f MiB", written/mib, float64(r.StoredBytes)/mib),
		Met:      yes(r.StoredBytes > 0 && written <= float64(targetSoakStoredBytes*r.StoredBytes)),
	})

	steady := r.SteadyRSSMedianMiB * mib / pods
	ts = append(ts, target{
		Goal: fmt.Sprintf("RSS ≤ %d bytes a pod steady", targetSoakBytesPerPod),
		Measured: fmt.Sprintf("median %.1f MiB over the steady window: %.0f bytes a pod (max %.1f MiB, %.0f bytes; %.1f MiB at the end)",
			r.SteadyRSSMedianMiB, steady, r.SteadyRSSMaxMiB, r.SteadyRSSMaxMiB*mib/pods, r.SteadyRSSMiB),
		Met: yes(steady <= targetSoakBytesPerPod),
	})
	peak := r.PeakRSSMiB * mib / pods
	ts = append(ts, target{
		Goal:     fmt.Sprintf("VmHWM ≤ %d bytes a pod", targetSoakPeakPerPod),
		Measured: fmt.Sprintf("%.1f MiB: %.0f bytes a pod", r.PeakRSSMiB, peak),
		Met:      yes(peak <= targetSoakPeakPerPod),
	})
	ts = append(ts, target{Goal: "stdout never waits for a ConfigMap flush", Measured: "not measured by the soak"})
	return ts
}

// soakTable is the Markdown of one soak.
func soakTable(r *soakResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n`%s`, %.0f min from %s, no pod changing, sampled every %.0f s:\n\n", r.Command, r.DurationSeconds/60, r.Started, r.SampleSeconds)
	fmt.Fprintln(&b, "| figure | value |")
	fmt.Fprintln(&b, "|---|---|")
	fmt.Fprintf(&b, "| time to sync (s) | %.1f |\n", r.SyncSeconds)
	fmt.Fprintf(&b, "| first flush done at (s) | %.0f |\n", r.SteadyFrom)
	fmt.Fprintf(&b, "| the sync (a rollover's cost): stdout lines, MiB | %s, %.1f |\n", groupThousands(int64(r.Rollover.Lines)), float64(r.Rollover.Bytes)/mib)
	fmt.Fprintf(&b, "| the sync: ConfigMap writes, MiB written | %.0f, %.2f |\n", r.Rollover.CMWrites, r.Rollover.CMBytes/mib)
	fmt.Fprintf(&b, "| steady window (min), hour turns inside | %.1f, %d |\n", (r.lastT()-r.SteadyFrom)/60, r.HourTurns)
	fmt.Fprintf(&b, "| steady: stdout lines an hour, MiB an hour | %s, %.2f |\n", groupThousands(int64(r.LinesPerHour)), r.BytesPerHour/mib)
	fmt.Fprintf(&b, "| steady: API requests an hour (ashiato's own) | %.0f |\n", r.RequestsPerHour)
	fmt.Fprintf(&b, "| steady: ConfigMap reads an hour (LIST and GET) | %.0f |\n", r.CMReadsPerHour)
	fmt.Fprintf(&b, "| steady: ConfigMap writes an hour, MiB written an hour | %.0f, %.2f |\n", r.CMWritesPerHour, r.CMBytesPerHour/mib)
	fmt.Fprintf(&b, "| steady RSS: median, max (MiB); bytes a pod | %.1f, %.1f; %.0f, %.0f |\n", r.SteadyRSSMedianMiB, r.SteadyRSSMaxMiB, r.SteadyRSSMedianMiB*mib/float64(r.Pods), r.SteadyRSSMaxMiB*mib/float64(r.Pods))
	fmt.Fprintf(&b, "| steady Go heap in use: median (MiB), bytes a pod | %.1f, %.0f |\n", r.HeapInuseMedianMiB, r.HeapInuseMedianMiB*mib/float64(r.Pods))
	fmt.Fprintf(&b, "| RSS at the end (MiB), bytes a pod | %.1f, %.0f |\n", r.SteadyRSSMiB, r.SteadyRSSMiB*mib/float64(r.Pods))
	fmt.Fprintf(&b, "| machine load average (1 min): median, max | %.1f, %.1f |\n", r.Load1Median, r.Load1Max)
	fmt.Fprintf(&b, "| VmHWM (MiB), bytes a pod | %.1f, %.0f |\n", r.PeakRSSMiB, r.PeakRSSMiB*mib/float64(r.Pods))
	if r.HWMResetSeconds > 0 {
		fmt.Fprintf(&b, "| VmHWM after the start-up (reset at %.0f s; turns, compactions): MiB, bytes a pod | %.1f, %.0f |\n", r.HWMResetSeconds, r.PeakAfterResetMiB, r.PeakAfterResetMiB*mib/float64(r.Pods))
	}
	fmt.Fprintf(&b, "| stored hour: shards, MiB of values | %d, %.2f |\n", r.Shards, float64(r.StoredBytes)/mib)
	if r.Store == "s3" && len(r.Samples) > 0 {
		fmt.Fprintf(&b, "| Parquet table files written by compaction (closed hours seeded before the start: %d) | %.0f |\n", r.SeededHours, r.Samples[len(r.Samples)-1].Tables)
	}
	b.WriteString(targetsTable(soakTargets(r)))
	return b.String()
}
