package report

import "github.com/pod-ashiato/ashiato/src/history"

// Incident is `history incident -o json` and the incident page's JSON
// twin, the schema docs/history.md documents. Times are RFC 3339 UTC; durations are
// whole seconds.
type Incident struct {
	Node          string          `json:"node_name"`               // "" for a node selector's incident
	Selector      string          `json:"node_selector,omitempty"` // the selector asked about
	Nodes         []string        `json:"nodes"`                   // the nodes investigated
	At            string          `json:"at"`
	WindowSeconds int64           `json:"window_seconds"`
	Timeline      []IncidentEvent `json:"timeline"`
	Pods          []IncidentPod   `json:"pods"`
	Workloads     []Workload      `json:"workloads"`
	Summary       IncidentSummary `json:"summary"`
}

// IncidentEvent is one node lifecycle change.
type IncidentEvent struct {
	Node      string `json:"node_name,omitempty"` // with a node selector only
	Timestamp string `json:"timestamp"`
	Event     string `json:"event"`
	Reason    string `json:"reason"`
}

// IncidentPod is a pod on the node at the incident; Next is null when
// nothing took its place (or came back on its node, for a node-bound pod).
// Outcome is one of history's outcomes: rescheduled, not_rescheduled,
// stayed, node_bound_stayed, node_bound_back, node_bound_not_back.
type IncidentPod struct {
	Namespace string       `json:"namespace"`
	Pod       string       `json:"pod_name"`
	Node      string       `json:"node_name"`
	OwnerKind string       `json:"owner_kind"`
	OwnerName string       `json:"owner_name"`
	FirstSeen *string      `json:"first_seen"`
	LastSeen  *string      `json:"last_seen"`
	Next      *Replacement `json:"next"`
	Outcome   string       `json:"outcome"`
	NodeBack  *string      `json:"node_back"` // its node Ready again; null when not lost or not back
}

// Workload is one owner's share of the incident (a bare pod: owner_kind
// and owner_name empty, pod_name set).
type Workload struct {
	Namespace      string  `json:"namespace"`
	OwnerKind      string  `json:"owner_kind"`
	OwnerName      string  `json:"owner_name"`
	Pod            string  `json:"pod_name,omitempty"`
	Lost           int     `json:"lost"`
	Total          int     `json:"total"`
	Back           int     `json:"back"`
	AllBackSeconds *int64  `json:"all_back_seconds"` // null until every lost pod is back
	Outage         bool    `json:"outage"`
	NoneFrom       *string `json:"none_from"`  // outage: none ran from, to
	NoneUntil      *string `json:"none_until"` // null: not within the window
}

// Replacement is the pod that took a lost pod's place.
type Replacement struct {
	Namespace    string `json:"namespace"`
	Pod          string `json:"pod_name"`
	Node         string `json:"node_name"`
	FirstSeen    string `json:"first_seen"`
	AfterSeconds int64  `json:"after_seconds"`
}

// IncidentSummary counts; the times are null when nothing was rescheduled.
type IncidentSummary struct {
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
}

// IncidentOf is inc in the JSON schema.
func IncidentOf(inc history.Incident) Incident {
	out := Incident{
		Node: inc.Node, Selector: inc.Selector, Nodes: append([]string{}, inc.Nodes...), At: stamp(inc.At), WindowSeconds: seconds(inc.Window),
		Timeline: []IncidentEvent{}, Pods: []IncidentPod{}, Workloads: []Workload{},
		Summary: IncidentSummary{Pods: inc.Summary.Pods, Rescheduled: inc.Summary.Rescheduled, NotRescheduled: inc.Summary.NotRescheduled,
			Stayed: inc.Summary.Stayed, NodeBound: inc.Summary.NodeBound, NodeBoundStayed: inc.Summary.NodeBoundStayed,
			NodeBoundBack: inc.Summary.NodeBoundBack, NodeBoundNotBack: inc.Summary.NodeBoundNotBack},
	}
	for _, e := range inc.Timeline {
		je := IncidentEvent{Timestamp: stamp(e.At), Event: e.Event, Reason: e.Reason}
		if inc.Node == "" {
			je.Node = e.Node
		}
		out.Timeline = append(out.Timeline, je)
	}
	for _, w := range inc.Workloads {
		jw := Workload{Namespace: w.Namespace, OwnerKind: w.Owner.Kind, OwnerName: w.Owner.Name, Pod: w.Pod,
			Lost: w.Lost, Total: w.Total, Back: w.Back, Outage: w.Outage, NoneFrom: optionalStamp(w.NoneFrom), NoneUntil: optionalStamp(w.NoneUntil)}
		if w.Back == w.Lost {
			all := seconds(w.AllBack)
			jw.AllBackSeconds = &all
		}
		out.Workloads = append(out.Workloads, jw)
	}
	for _, p := range inc.Pods {
		outcome := string(p.Outcome)
		if outcome == "" {
			outcome = string(history.NotRescheduled)
			if p.Next != nil {
				outcome = string(history.Rescheduled)
			}
		}
		jp := IncidentPod{Namespace: p.Pod.Namespace, Pod: p.Pod.Name, Node: p.Node, OwnerKind: p.Owner.Kind, OwnerName: p.Owner.Name,
			FirstSeen: optionalStamp(p.First), LastSeen: optionalStamp(p.Last), Outcome: outcome, NodeBack: optionalStamp(p.NodeBack)}
		if r := p.Next; r != nil {
			jp.Next = &Replacement{Namespace: r.Pod.Namespace, Pod: r.Pod.Name, Node: r.Node, FirstSeen: stamp(r.First), AfterSeconds: seconds(r.After)}
		}
		out.Pods = append(out.Pods, jp)
	}
	if inc.Summary.Rescheduled > 0 {
		median, slowest := seconds(inc.Summary.Median), seconds(inc.Summary.Slowest)
		out.Summary.MedianSeconds, out.Summary.SlowestSeconds = &median, &slowest
	}
	return out
}
