package history

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/store"
)

// incidentHours: node-a is lost at 14:58, near the end of an hour, so that
// the replacements land in the next one.
func incidentHours() (hours []*store.Hour, at time.Time) {
	h14 := store.NewHour(time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC))
	h15 := store.NewHour(h14.Start.Add(time.Hour))
	t := func(hhmmss string) time.Time {
		v, err := time.Parse("2006-01-02 15:04:05", "2026-11-26 "+hhmmss)
		if err != nil {
			panic(err)
		}
		return v
	}
	hourOf := func(at time.Time) *store.Hour {
		if at.Before(h15.Start) {
			return h14
		}
		return h15
	}
	place := func(pod, node, first, last string, o store.Owner) {
		ref := store.PodRef{Namespace: "shop", Name: pod}
		for _, at := range []time.Time{t(first), t(last)} {
			h := hourOf(at)
			h.Add(ref, node, at)
			h.SetOwner(ref, o)
		}
		if hourOf(t(first)) != hourOf(t(last)) { // seen on both sides of the edge
			h14.Add(ref, node, h15.Start.Add(-time.Second))
			h15.Add(ref, node, h15.Start)
		}
	}
	rs := store.Owner{Kind: "ReplicaSet", Name: "web-7d9f"}
	sts := store.Owner{Kind: "StatefulSet", Name: "db"}
	place("web-7d9f-aaaaa", "node-a", "14:00:05", "14:59:00", rs)
	place("web-7d9f-bbbbb", "node-a", "14:00:05", "14:59:00", rs)
	place("web-7d9f-ccccc", "node-b", "14:00:05", "15:20:00", rs) // a sibling that stays across the edge: not new
	place("web-7d9f-ddddd", "node-b", "14:59:30", "15:20:00", rs)
	place("web-7d9f-eeeee", "node-c", "15:00:10", "15:20:00", rs)
	place("web-7d9f-fffff", "node-c", "15:10:00", "15:20:00", rs) // a scale-up: more new pods than lost
	place("db-0", "node-c", "13:50:00", "13:59:59", sts)          // where db-0 was before node-a
	place("db-0", "node-a", "14:00:05", "14:59:00", sts)
	place("db-0", "node-c", "15:00:30", "15:20:00", sts)
	place("db-1", "node-b", "14:00:05", "15:20:00", sts)
	place("solo", "node-a", "14:00:05", "14:59:00", store.Owner{})
	place("migrate-x1", "node-a", "14:30:00", "14:59:00", store.Owner{Kind: "Job", Name: "migrate"})
	place("migrate-x2", "node-b", "15:29:00", "15:35:00", store.Owner{Kind: "Job", Name: "migrate"}) // after the window
	place("later", "node-a", "15:05:00", "15:10:00", store.Owner{})                                  // on the node after T: not lost
	for _, e := range []store.NodeEvent{
		{Node: "node-a", At: t("14:20:00"), Event: "node_cordoned"}, // outside the window
		{Node: "node-a", At: t("14:57:59"), Event: "node_unknown", Reason: "NodeStatusUnknown"},
		{Node: "node-a", At: t("14:58:00"), Event: "node_tainted", Reason: "node.kubernetes.io/unreachable:NoExecute"},
		{Node: "node-b", At: t("14:58:00"), Event: "node_unknown"}, // another node
		{Node: "node-a", At: t("15:03:00"), Event: "node_ready", Reason: "KubeletReady"},
	} {
		hourOf(e.At).AddNodeEvent(e)
	}
	return []*store.Hour{h14, h15}, t("14:58:00")
}

func TestInvestigate(t *testing.T) {
	hours, at := incidentHours()
	inc := Investigate(hours, "node-a", at, 30*time.Minute)
	var b strings.Builder
	for _, e := range inc.Timeline {
		fmt.Fprintf(&b, "%s %s %s\n", e.At.Format("15:04:05"), e.Event, e.Reason)
	}
	for _, p := range inc.Pods {
		fmt.Fprintf(&b, "%s %s/%s %s-%s ->", p.Pod, p.Owner.Kind, p.Owner.Name, p.First.Format("15:04:05"), p.Last.Format("15:04:05"))
		if p.Next == nil {
			b.WriteString(" never\n")
			continue
		}
		fmt.Fprintf(&b, " %s on %s at %s after %s\n", p.Next.Pod, p.Next.Node, p.Next.First.Format("15:04:05"), p.Next.After)
	}
	s := inc.Summary
	fmt.Fprintf(&b, "pods %d rescheduled %d not %d median %s slowest %s\n", s.Pods, s.Rescheduled, s.NotRescheduled, s.Median, s.Slowest)
	want := `14:57:59 node_unknown NodeStatusUnknown
14:58:00 node_tainted node.kubernetes.io/unreachable:NoExecute
15:03:00 node_ready KubeletReady
shop/db-0 StatefulSet/db 14:00:05-14:59:00 -> shop/db-0 on node-c at 15:00:30 after 2m30s
shop/migrate-x1 Job/migrate 14:30:00-14:59:00 -> never
shop/solo / 14:00:05-14:59:00 -> never
shop/web-7d9f-aaaaa ReplicaSet/web-7d9f 14:00:05-14:59:00 -> shop/web-7d9f-ddddd on node-b at 14:59:30 after 1m30s
shop/web-7d9f-bbbbb ReplicaSet/web-7d9f 14:00:05-14:59:00 -> shop/web-7d9f-eeeee on node-c at 15:00:10 after 2m10s
pods 5 rescheduled 3 not 2 median 2m10s slowest 2m30s
`
	if got := b.String(); got != want {
		t.Errorf("incident:\n%s\nwant\n%s", got, want)
	}
}

func TestInvestigateNothing(t *testing.T) {
	hours, at := incidentHours()
	inc := Investigate(hours, "node-z", at, 30*time.Minute)
	if len(inc.Pods) != 0 || len(inc.Timeline) != 0 || inc.Summary != (IncidentSummary{}) {
		t.Errorf("node-z: %+v, want an empty incident", inc)
	}
	// Two rescheduled pods: the median is halfway between them.
	inc = Investigate(hours, "node-a", at, 140*time.Second)
	if s := inc.Summary; s.Rescheduled != 2 || s.Median != 110*time.Second || s.Slowest != 130*time.Second {
		t.Errorf("with a window of 2m20s: %+v, want 2 rescheduled, median 1m50s, slowest 2m10s", s)
	}
}
