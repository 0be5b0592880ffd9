package view

import (
	"time"

	"github.com/pod-ashiato/ashiato/src/history"
)

// IncidentJSON is `history incident -o json` and the incident page's JSON
// twin, the schema README documents. Times are RFC 3339 UTC; durations are
// whole seconds.
type IncidentJSON struct {
	Node          string              `json:"node_name"`
	At            string              `json:"at"`
	WindowSeconds int64               `json:"window_seconds"`
	Timeline      []NodeEventJSON     `json:"timeline"`
	Pods          []IncidentPodJSON   `json:"pods"`
	Summary       IncidentSummaryJSON `json:"summary"`
}

// NodeEventJSON is one node lifecycle change.
type NodeEventJSON struct {
	Timestamp string `json:"timestamp"`
	Event     string `json:"event"`
	Reason    string `json:"reason"`
}

// IncidentPodJSON is a pod on the node at the incident; Next is null when it
// never came back.
type IncidentPodJSON struct {
	Namespace string           `json:"namespace"`
	Pod       string           `json:"pod_name"`
	OwnerKind string           `json:"owner_kind"`
	OwnerName string           `json:"owner_name"`
	FirstSeen *string          `json:"first_seen"`
	LastSeen  *string          `json:"last_seen"`
	Next      *ReplacementJSON `json:"next"`
}

// ReplacementJSON is the pod that took a lost pod's place.
type ReplacementJSON struct {
	Namespace    string `json:"namespace"`
	Pod          string `json:"pod_name"`
	Node         string `json:"node_name"`
	FirstSeen    string `json:"first_seen"`
	AfterSeconds int64  `json:"after_seconds"`
}

// IncidentSummaryJSON counts; the times are null when nothing was rescheduled.
type IncidentSummaryJSON struct {
	Pods           int    `json:"pods"`
	Rescheduled    int    `json:"rescheduled"`
	NotRescheduled int    `json:"not_rescheduled"`
	MedianSeconds  *int64 `json:"median_seconds"`
	SlowestSeconds *int64 `json:"slowest_seconds"`
}

// IncidentDoc is inc in the JSON schema.
func IncidentDoc(inc history.Incident) IncidentJSON {
	out := IncidentJSON{
		Node: inc.Node, At: stamp(inc.At), WindowSeconds: seconds(inc.Window),
		Timeline: []NodeEventJSON{}, Pods: []IncidentPodJSON{},
		Summary: IncidentSummaryJSON{Pods: inc.Summary.Pods, Rescheduled: inc.Summary.Rescheduled, NotRescheduled: inc.Summary.NotRescheduled},
	}
	for _, e := range inc.Timeline {
		out.Timeline = append(out.Timeline, NodeEventJSON{Timestamp: stamp(e.At), Event: e.Event, Reason: e.Reason})
	}
	for _, p := range inc.Pods {
		jp := IncidentPodJSON{Namespace: p.Pod.Namespace, Pod: p.Pod.Name, OwnerKind: p.Owner.Kind, OwnerName: p.Owner.Name,
			FirstSeen: optionalStamp(p.First), LastSeen: optionalStamp(p.Last)}
		if r := p.Next; r != nil {
			jp.Next = &ReplacementJSON{Namespace: r.Pod.Namespace, Pod: r.Pod.Name, Node: r.Node, FirstSeen: stamp(r.First), AfterSeconds: seconds(r.After)}
		}
		out.Pods = append(out.Pods, jp)
	}
	if inc.Summary.Rescheduled > 0 {
		median, slowest := seconds(inc.Summary.Median), seconds(inc.Summary.Slowest)
		out.Summary.MedianSeconds, out.Summary.SlowestSeconds = &median, &slowest
	}
	return out
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func optionalStamp(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := stamp(t)
	return &s
}
