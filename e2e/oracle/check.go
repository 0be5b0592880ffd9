package oracle

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// check reads the store as `ashiato history` does and compares every answer
// with the truth.
func (r *runner) check(ctx context.Context) error {
	t := r.truth
	first := store.HourOf(t.marks[0])
	reader := &history.Reader{Store: configmapstore.New(r.client.CoreV1(), r.storeNS), Retry: retry.Policy{MaxElapsed: time.Minute}}
	if r.objects != nil {
		reader.Store = r.objects.Store
	}
	all := history.Window{Since: first.Add(-time.Hour), Until: t.end.Add(time.Hour)}
	hours, warnings, err := reader.Read(ctx, all)
	if err != nil {
		return fmt.Errorf("reading the history: %w", err)
	}
	r.figs.Warnings = len(warnings)
	names, err := r.storedNames(ctx)
	if err != nil {
		return err
	}
	perHour := map[time.Time]int{}
	for _, name := range names {
		if h, _, ok := store.ParseName(name); ok {
			perHour[h]++
			r.figs.MaxShards = max(r.figs.MaxShards, perHour[h])
		}
	}
	for _, w := range warnings {
		r.example("warning: %s", w)
	}
	ref := func(pod string) store.PodRef { return store.PodRef{Namespace: r.podNS, Name: pod} }

	// history pod, for every pod: the (node, hour) rows, from the hours read
	// once (Reader.Read, Pod); and for the pods not of the burst and one in
	// twenty of the burst's, as ashiato history runs it (Reader.PodRows,
	// which reads each hour's shard 0 and the pod's shard).
	pods := make([]string, 0, len(t.stays))
	for pod := range t.stays {
		pods = append(pods, pod)
	}
	sortStrings(pods)
	r.figs.Pods = len(pods)
	for i, pod := range append(pods, r.skipped...) {
		r.checkPod(pod, history.Pod(hours, ref(pod), all))
		if t.stays[pod] == nil || t.stays[pod][0].node != "node-long" || i%20 == 0 {
			rows, warns, err := reader.PodRows(ctx, ref(pod), all)
			if err != nil {
				return fmt.Errorf("history pod %s: %w", pod, err)
			}
			r.figs.APIQueries++
			r.figs.Warnings += len(warns)
			r.checkPod(pod, rows)
		}
	}

	// history node N --at T, for the samples, from the hours read once
	// (Node); and for the first and last 5 seconds of every hour and every
	// 50th other sample, as ashiato history runs it (Reader.NodeRows, which
	// streams the hour and the one before).
	nodes := append([]string{"node-long"}, r.nodes...)
	onNode := map[string][]string{} // node → pods that were ever on it
	for _, pod := range pods {
		seen := map[string]bool{}
		for _, s := range t.stays[pod] {
			if !seen[s.node] {
				seen[s.node] = true
				onNode[s.node] = append(onNode[s.node], pod)
			}
		}
	}
	for i, T := range r.samples(first) {
		viaAPI := i%50 == 0 || T.Minute()*60+T.Second() < 5 || T.Minute()*60+T.Second() >= 3595
		for _, node := range nodes {
			if node == "node-long" && !r.burstNear(T) {
				continue
			}
			r.checkNode(node, T, history.Node(hours, node, history.At(T)), onNode[node])
			if viaAPI {
				rows, warns, err := reader.NodeRows(ctx, node, history.At(T))
				if err != nil {
					return fmt.Errorf("history node %s --at %s: %w", node, T, err)
				}
				r.figs.APIQueries++
				r.figs.Warnings += len(warns)
				r.checkNode(node, T, rows, onNode[node])
			}
		}
	}
	return nil
}

// checkPod compares the rows of `history pod` with the truth.
func (r *runner) checkPod(pod string, rows []history.Row) {
	t := r.truth
	r.figs.PodQueries++
	got := map[[2]string]history.Row{}
	bad := false
	for _, row := range rows {
		got[[2]string{row.Node, row.Hour.Format(time.RFC3339)}] = row
		if !t.rowMay(pod, row.Node, row.Hour) {
			bad = true
			r.example("history pod %s: row on %s in hour %s, where it never was", pod, row.Node, row.Hour.Format(time.RFC3339))
			continue
		}
		// Last seen is a second the pod was there, or the hour's last
		// second for a pod stored as still running by a process that
		// died before it saw the pod leave (docs/storage.md, "Gaps").
		lastOK := t.within(pod, row.Node, span{row.Last, row.Last}) || t.storedRunning(pod, row.Node, row.Last)
		if row.First.IsZero() || !t.within(pod, row.Node, span{row.First, row.First}) || !lastOK {
			bad = true
			r.example("history pod %s: row on %s in hour %s has first %s last %s, outside its stays", pod, row.Node, row.Hour.Format(time.RFC3339), row.First, row.Last)
		}
	}
	for _, s := range t.stays[pod] {
		sec := t.seconds(s)
		for h := store.HourOf(sec.from); !h.After(sec.to); h = h.Add(time.Hour) {
			if _, ok := got[[2]string{s.node, h.Format(time.RFC3339)}]; !ok && t.rowMust(pod, s.node, h) {
				bad = true
				r.figs.Lost++
				r.example("lost: %s on %s in hour %s (stay %s–%s)", pod, s.node, h.Format(time.RFC3339), s.b.Format(time.RFC3339Nano), s.d.Format(time.RFC3339Nano))
				got[[2]string{s.node, h.Format(time.RFC3339)}] = history.Row{} // once per hour
			}
		}
	}
	if bad {
		r.figs.Mismatches++
	}
}

// checkNode compares the answer of `history node N --at T` with the truth;
// candidates are the pods that were ever on the node.
func (r *runner) checkNode(node string, T time.Time, rows []history.Row, candidates []string) {
	t := r.truth
	r.figs.NodeQueries++
	answer := map[string]bool{}
	for _, row := range rows {
		answer[row.Pod.Name] = true
	}
	bad := false
	for pod := range answer {
		if !t.may(pod, node, T) {
			bad = true
			r.example("history node %s --at %s lists %s, which was not there", node, T.Format(time.RFC3339), pod)
		}
	}
	for _, pod := range candidates {
		if !answer[pod] && t.must(pod, node, T) {
			bad = true
			r.example("history node %s --at %s misses %s", node, T.Format(time.RFC3339), pod)
		}
	}
	if bad {
		r.figs.Mismatches++
	}
}

// samples are the instants node queries are asked at: every second of the
// first and last minute of each hour, the seconds around every bind,
// deletion and move (and around the end of the 5-minute tolerance after
// it), and 300 random ones.
func (r *runner) samples(first time.Time) []time.Time {
	t := r.truth
	set := map[time.Time]bool{}
	for h := first; !h.After(t.end); h = h.Add(time.Hour) {
		for s := range 60 {
			set[h.Add(time.Duration(s)*time.Second)] = true
			set[h.Add(time.Hour-time.Duration(s+1)*time.Second)] = true
		}
	}
	for _, m := range t.marks {
		m = m.Truncate(time.Second)
		for _, d := range []time.Duration{-time.Second, 0, time.Second, store.LastSeenStep - time.Second, store.LastSeenStep, store.LastSeenStep + time.Second} {
			set[m.Add(d)] = true
		}
	}
	span := t.end.Sub(t.marks[0])
	for range 300 {
		set[t.marks[0].Add(time.Duration(r.rng.Int64N(int64(span))).Truncate(time.Second))] = true
	}
	out := make([]time.Time, 0, len(set))
	for T := range set {
		if !T.Before(t.marks[0]) && !T.After(t.end) {
			out = append(out, T)
		}
	}
	sortTimes(out)
	return out
}

// burstNear reports whether T is within the hour of the burst, where
// node-long is worth asking about (elsewhere it is empty, and asked anyway
// at the hour's edges).
func (r *runner) burstNear(T time.Time) bool {
	return !r.burstHour.IsZero() && (store.HourOf(T).Equal(r.burstHour) || T.Minute() == 0 || T.Minute() == 59)
}

func (r *runner) example(format string, args ...any) {
	if len(r.figs.Examples) < 20 {
		r.figs.Examples = append(r.figs.Examples, fmt.Sprintf(format, args...))
	}
}

// storedNames is the name of every object of the store.
func (r *runner) storedNames(ctx context.Context) ([]string, error) {
	var names []string
	if r.objects != nil {
		err := r.objects.ListRefs(ctx, time.Time{}, time.Time{}, retry.Policy{MaxElapsed: time.Minute}, "listing the store", func(ref storeio.Ref) {
			names = append(names, ref.Name)
		})
		return names, err
	}
	cms, err := r.client.CoreV1().ConfigMaps(r.storeNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, cm := range cms.Items {
		names = append(names, cm.Name)
	}
	return names, nil
}
