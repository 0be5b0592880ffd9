package e2e

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"
)

// The -o json answer of history incident, as docs/history.md documents it
// (package report: the incident page's twin too).
type incidentJSON struct {
	Cluster       string              `json:"cluster,omitempty"` // read from S3
	Node          string              `json:"node_name"`
	Selector      string              `json:"node_selector,omitempty"`
	Nodes         []string            `json:"nodes"`
	At            string              `json:"at"`
	WindowSeconds int64               `json:"window_seconds"`
	Timeline      []incidentEventJSON `json:"timeline"`
	Pods          []incidentPodJSON   `json:"pods"`
	Workloads     []workloadJSON      `json:"workloads"`
	Summary       struct {
		Pods             int    `json:"pods"`
		Rescheduled      int    `json:"rescheduled"`
		NotRescheduled   int    `json:"not_rescheduled"`
		Stayed           int    `json:"stayed"`
		NodeBound        int    `json:"node_bound"`
		NodeBoundStayed  int    `json:"node_bound_stayed"`
		NodeBoundBack    int    `json:"node_bound_back"`
		NodeBoundNotBack int    `json:"node_bound_not_back"`
		MedianSeconds    *int64 `json:"median_seconds"`
		SlowestSeconds   *int64 `json:"slowest_seconds"`
	} `json:"summary"`
	Hidden struct {
		Pods       int `json:"pods"`
		Namespaces int `json:"namespaces"`
		NodeEvents int `json:"node_events"`
	} `json:"hidden"` // the web view's access check; none in the CLI
}

type incidentEventJSON struct {
	Node      string `json:"node_name,omitempty"`
	Timestamp string `json:"timestamp"`
	Event     string `json:"event"`
	Reason    string `json:"reason"`
}

type replacementJSON struct {
	Namespace    string `json:"namespace"`
	Pod          string `json:"pod_name"`
	Node         string `json:"node_name"`
	FirstSeen    string `json:"first_seen"`
	AfterSeconds int64  `json:"after_seconds"`
}

type incidentPodJSON struct {
	Namespace string           `json:"namespace"`
	Pod       string           `json:"pod_name"`
	Node      string           `json:"node_name"`
	OwnerKind string           `json:"owner_kind"`
	OwnerName string           `json:"owner_name"`
	FirstSeen *string          `json:"first_seen"`
	LastSeen  *string          `json:"last_seen"`
	Next      *replacementJSON `json:"next"`
	Outcome   string           `json:"outcome"`
	NodeBack  *string          `json:"node_back"`
}

type workloadJSON struct {
	Namespace      string  `json:"namespace"`
	OwnerKind      string  `json:"owner_kind"`
	OwnerName      string  `json:"owner_name"`
	Pod            string  `json:"pod_name,omitempty"`
	Lost           int     `json:"lost"`
	Total          int     `json:"total"`
	Back           int     `json:"back"`
	AllBackSeconds *int64  `json:"all_back_seconds"`
	Outage         bool    `json:"outage"`
	NoneFrom       *string `json:"none_from"`
	NoneUntil      *string `json:"none_until"`
}

// incidentQuery is what history incident is asked: one node, or the nodes
// of a selector (then nodes are those the records say matched and failed).
type incidentQuery struct {
	node     string
	selector string
	nodes    []string
	at       string
}

// expectIncident builds, from what the recorder printed alone, the answer
// history incident must give, by the rule docs/history.md documents:
//   - the nodes' records within 30 minutes of T, in time order (a second's
//     in the order printed; an exact repeat within a second once);
//   - every pod whose records put it on one of the nodes at T: from its first
//     record there until it was deleted or seen elsewhere;
//   - each one's replacement: for a StatefulSet's or a bare pod, its first
//     arrival on another node in [T, T+30m]; for a DaemonSet's or a mirror
//     pod (node-bound), a new pod of the owner first seen on its node; for
//     any other owner, a new pod of the owner first seen in [T, T+30m], the
//     lost pods in name order matched with the new ones in order first seen;
//   - a pod without one that was still on its node when the node was Ready
//     again stayed; the rest were not rescheduled (node-bound: not back);
//   - the workloads: each owner's lost pods against its pods anywhere at T.
func expectIncident(t *testing.T, q incidentQuery, ns string, recs []rec, nodeRecs []nodeRec) incidentJSON {
	t.Helper()
	stamp := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	format := func(v time.Time) string { return v.UTC().Format(time.RFC3339) }
	T := stamp(q.at)
	window := 30 * time.Minute
	nodes := q.nodes
	if q.node != "" {
		nodes = []string{q.node}
	}
	nodes = slices.Sorted(slices.Values(nodes))
	want := incidentJSON{Node: q.node, Selector: q.selector, Nodes: nodes, At: q.at, WindowSeconds: int64(window / time.Second),
		Timeline: []incidentEventJSON{}, Pods: []incidentPodJSON{}, Workloads: []workloadJSON{}}

	// The timeline, and when each node was lost and back.
	type event struct {
		node, event, reason string
		at                  time.Time
	}
	var timeline []event
	seen := map[string]bool{}
	for _, r := range nodeRecs {
		at := stamp(r.Timestamp)
		k := r.Node + " " + r.Timestamp + " " + r.Event + " " + r.Reason
		if !slices.Contains(nodes, r.Node) || at.Before(T.Add(-window)) || at.After(T.Add(window)) || seen[k] {
			continue
		}
		seen[k] = true
		timeline = append(timeline, event{r.Node, r.Event, r.Reason, at})
	}
	slices.SortStableFunc(timeline, func(a, b event) int { return a.at.Compare(b.at) })
	isLoss := func(e string) bool { return e == "node_not_ready" || e == "node_unknown" || e == "node_deleted" }
	back, wasLost, lossAfter := map[string]time.Time{}, map[string]bool{}, map[string]time.Time{}
	for _, n := range nodes {
		loss := -1
		for i, e := range timeline {
			if e.node != n || !isLoss(e.event) {
				continue
			}
			if e.at.After(T) && loss >= 0 {
				break
			}
			loss = i
			if e.at.After(T) {
				lossAfter[n] = e.at
				break
			}
		}
		if loss < 0 {
			continue
		}
		wasLost[n] = true
		for _, e := range timeline[loss+1:] {
			if e.node == n && (e.event == "node_ready" || e.event == "node_added") {
				back[n] = e.at
				break
			}
		}
	}
	for _, e := range timeline {
		ev := incidentEventJSON{Timestamp: format(e.at), Event: e.event, Reason: e.reason}
		if q.node == "" {
			ev.Node = e.node
		}
		want.Timeline = append(want.Timeline, ev)
	}

	// Every pod's stays, from the records.
	type stay struct {
		pod, node   string
		first, end  time.Time // end: zero while open
		kind, owner string
	}
	var stays []stay
	open := map[string]int{} // pod -> index of its open stay
	owner := map[string][2]string{}
	for _, r := range recs {
		if r.Namespace != ns || r.Node == "" {
			continue
		}
		at := stamp(r.Timestamp)
		owner[r.Pod] = [2]string{r.OwnerKind, r.OwnerName}
		i, isOpen := open[r.Pod]
		if isOpen && stays[i].node != r.Node {
			stays[i].end = at
			isOpen = false
		}
		if !isOpen && r.Event != "deleted" {
			stays = append(stays, stay{pod: r.Pod, node: r.Node, first: at, kind: r.OwnerKind, owner: r.OwnerName})
			i, isOpen = len(stays)-1, true
			open[r.Pod] = i
		}
		if r.Event == "deleted" && isOpen {
			stays[i].end = at
			delete(open, r.Pod)
		}
	}
	at := func(s stay, v time.Time) bool { return !s.first.After(v) && (s.end.IsZero() || !s.end.Before(v)) }
	byName := func(kind string) bool { return kind == "" || kind == "StatefulSet" }
	nodeBound := func(kind string) bool { return kind == "DaemonSet" || kind == "Node" }

	lostOn := map[string]stay{}
	for _, s := range stays {
		if _, dup := lostOn[s.pod]; !dup && slices.Contains(nodes, s.node) && at(s, T) {
			lostOn[s.pod] = s
		}
	}
	lost := slices.Sorted(func(yield func(string) bool) {
		for p := range lostOn {
			if !yield(p) {
				return
			}
		}
	})
	// First placement of every pod, and arrivals of the lost ones elsewhere.
	earliest := map[string]stay{}
	for _, s := range stays {
		if e, ok := earliest[s.pod]; !ok || s.first.Before(e.first) {
			earliest[s.pod] = s
		}
	}
	within := func(v time.Time) bool { return !v.Before(T) && !v.After(T.Add(window)) }
	candidates := map[string][]stay{}
	key := func(pod, kind, name string) string {
		if byName(kind) {
			return "pod/" + pod
		}
		return "owner/" + kind + "/" + name
	}
	for pod, s := range earliest {
		if _, isLost := lostOn[pod]; !isLost && !byName(s.kind) && !nodeBound(s.kind) && s.kind != "" && within(s.first) {
			k := key(pod, s.kind, s.owner)
			candidates[k] = append(candidates[k], s)
		}
	}
	for _, pod := range lost {
		l := lostOn[pod]
		if !byName(l.kind) {
			continue
		}
		var first *stay
		for _, s := range stays {
			if s.pod == pod && s.node != l.node && within(s.first) && (first == nil || s.first.Before(first.first)) {
				first = &s
			}
		}
		if first != nil {
			candidates["pod/"+pod] = []stay{*first}
		}
	}
	for _, c := range candidates {
		slices.SortFunc(c, func(a, b stay) int {
			return cmp.Or(a.first.Compare(b.first), strings.Compare(a.pod, b.pod), strings.Compare(a.node, b.node))
		})
	}
	taken := map[string]bool{}
	var delays []int64
	for _, pod := range lost {
		l := lostOn[pod]
		p := incidentPodJSON{Namespace: ns, Pod: pod, Node: l.node, OwnerKind: l.kind, OwnerName: l.owner,
			FirstSeen: ptr.To(format(l.first))}
		if wasLost[l.node] && !back[l.node].IsZero() {
			p.NodeBack = ptr.To(format(back[l.node]))
		}
		var next *stay
		if nodeBound(l.kind) {
			for q, s := range earliest {
				if _, isLost := lostOn[q]; !isLost && !taken[q] && s.node == l.node && s.kind == l.kind && s.owner == l.owner && within(s.first) &&
					(next == nil || s.first.Before(next.first) || s.first.Equal(next.first) && s.pod < next.pod) {
					next = &s
				}
			}
			if next != nil {
				taken[next.pod] = true
			}
		} else if c := candidates[key(pod, l.kind, l.owner)]; len(c) > 0 {
			next, candidates[key(pod, l.kind, l.owner)] = &c[0], c[1:]
		}
		if next != nil {
			p.Next = &replacementJSON{ns, next.pod, next.node, format(next.first), int64(next.first.Sub(T) / time.Second)}
		}
		stayed := !back[l.node].IsZero() && (l.end.IsZero() || !l.end.Before(back[l.node]))
		if !wasLost[l.node] {
			stayed = l.end.IsZero() || !l.end.Before(T)
		}
		switch {
		case nodeBound(l.kind) && next != nil:
			p.Outcome = "node_bound_back"
		case nodeBound(l.kind) && stayed:
			p.Outcome = "node_bound_stayed"
		case nodeBound(l.kind):
			p.Outcome = "node_bound_not_back"
		case next != nil:
			p.Outcome = "rescheduled"
			delays = append(delays, p.Next.AfterSeconds)
		case stayed:
			p.Outcome = "stayed"
		default:
			p.Outcome = "not_rescheduled"
		}
		want.Pods = append(want.Pods, p)
	}
	s := &want.Summary
	s.Pods = len(want.Pods)
	for _, p := range want.Pods {
		switch p.Outcome {
		case "rescheduled":
			s.Rescheduled++
		case "not_rescheduled":
			s.NotRescheduled++
		case "stayed":
			s.Stayed++
		case "node_bound_stayed":
			s.NodeBound++
			s.NodeBoundStayed++
		case "node_bound_back":
			s.NodeBound++
			s.NodeBoundBack++
		case "node_bound_not_back":
			s.NodeBound++
			s.NodeBoundNotBack++
		}
	}
	slices.Sort(delays)
	if n := len(delays); n > 0 {
		s.MedianSeconds, s.SlowestSeconds = ptr.To((delays[(n-1)/2]+delays[n/2])/2), ptr.To(delays[n-1])
	}

	// The workloads.
	type wid struct{ kind, name, pod string }
	idOf := func(pod, kind, name string) wid {
		if kind == "" {
			return wid{pod: pod}
		}
		return wid{kind: kind, name: name}
	}
	type work struct {
		w                   workloadJSON
		allBack             int64
		noneFrom, noneUntil time.Time
		stayedAll           bool
	}
	works := map[wid]*work{}
	for _, p := range want.Pods {
		id := idOf(p.Pod, p.OwnerKind, p.OwnerName)
		w, ok := works[id]
		if !ok {
			w = &work{w: workloadJSON{Namespace: ns, OwnerKind: id.kind, OwnerName: id.name, Pod: id.pod}, noneFrom: T, stayedAll: true}
			works[id] = w
		}
		w.w.Lost++
		if la := lossAfter[p.Node]; la.After(w.noneFrom) {
			w.noneFrom = la
		}
		var b time.Time
		switch p.Outcome {
		case "rescheduled", "node_bound_back":
			b = stamp(p.Next.FirstSeen)
		case "stayed", "node_bound_stayed":
			b = T
			if p.NodeBack != nil && stamp(*p.NodeBack).After(T) {
				b = stamp(*p.NodeBack)
			}
		}
		if p.Outcome != "stayed" && p.Outcome != "node_bound_stayed" {
			w.stayedAll = false
		}
		if b.IsZero() {
			continue
		}
		w.w.Back++
		w.allBack = max(w.allBack, int64(b.Sub(T)/time.Second))
		if w.noneUntil.IsZero() || b.Before(w.noneUntil) {
			w.noneUntil = b
		}
	}
	counted := map[string]bool{}
	for _, st := range stays {
		if counted[st.pod] || !(!st.first.After(T) && (st.end.IsZero() || !st.end.Add(5*time.Minute).Before(T))) {
			continue
		}
		if w, ok := works[idOf(st.pod, owner[st.pod][0], owner[st.pod][1])]; ok {
			counted[st.pod] = true
			w.w.Total++
		}
	}
	for _, w := range works {
		w.w.Total = max(w.w.Total, w.w.Lost)
		if w.w.Back == w.w.Lost {
			w.w.AllBackSeconds = ptr.To(w.allBack)
		}
		if w.w.Lost == w.w.Total && !w.stayedAll {
			w.w.Outage = true
			if !w.noneUntil.IsZero() && w.noneUntil.Before(w.noneFrom) {
				w.noneFrom = w.noneUntil
			}
			w.w.NoneFrom = ptr.To(format(w.noneFrom))
			if !w.noneUntil.IsZero() {
				w.w.NoneUntil = ptr.To(format(w.noneUntil))
			}
		}
		want.Workloads = append(want.Workloads, w.w)
	}
	slices.SortFunc(want.Workloads, func(a, b workloadJSON) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.OwnerKind, b.OwnerKind),
			strings.Compare(a.OwnerName, b.OwnerName), strings.Compare(a.Pod, b.Pod))
	})
	return want
}

// checkIncident compares the answer with the expected one, field by field;
// last_seen is only bounded (the store keeps it to 5 minutes).
func checkIncident(t *testing.T, stdout string, want incidentJSON) incidentJSON {
	t.Helper()
	var got incidentJSON
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("answer is not the documented JSON (%v):\n%s", err, stdout)
	}
	for i := range got.Pods {
		if i < len(want.Pods) && got.Pods[i].LastSeen != nil && got.Pods[i].FirstSeen != nil && *got.Pods[i].LastSeen >= *got.Pods[i].FirstSeen {
			want.Pods[i].LastSeen = got.Pods[i].LastSeen
		}
	}
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	if string(g) != string(w) {
		t.Errorf("history incident answered\n%s\nwant\n%s", g, w)
	}
	return got
}
