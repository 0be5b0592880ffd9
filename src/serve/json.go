package serve

import (
	"time"

	"github.com/pod-ashiato/ashiato/src/access"
	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/view"
)

// The JSON twins of the pages (?format=json). Times are RFC 3339 in UTC;
// first_seen and last_seen are null when not known, as in `history -o json`.

type windowJSON struct {
	Since string `json:"since"`
	Until string `json:"until"`
	At    bool   `json:"at"` // the window is one instant
}

func windowOf(w history.Window) windowJSON {
	return windowJSON{Since: stamp(w.Since), Until: stamp(w.Until), At: w.Since.Equal(w.Until)}
}

type rowJSON struct {
	Namespace string  `json:"namespace"`
	Pod       string  `json:"pod_name"`
	Node      string  `json:"node_name"`
	OwnerKind string  `json:"owner_kind"`
	OwnerName string  `json:"owner_name"`
	Hour      string  `json:"hour"`
	FirstSeen *string `json:"first_seen"`
	LastSeen  *string `json:"last_seen"`
}

func rowsJSON(owners map[store.PodRef]store.Owner, rows []history.Row) []rowJSON {
	out := make([]rowJSON, 0, len(rows))
	for _, r := range rows {
		j := rowJSON{Namespace: r.Pod.Namespace, Pod: r.Pod.Name, Node: r.Node, Hour: stamp(r.Hour), FirstSeen: optional(r.First), LastSeen: optional(r.Last)}
		if o, ok := owners[r.Pod]; ok {
			j.OwnerKind, j.OwnerName = o.Kind, o.Name
		}
		out = append(out, j)
	}
	return out
}

func optional(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := stamp(t)
	return &s
}

type eventJSON struct {
	Node      string `json:"node_name"`
	Timestamp string `json:"timestamp"`
	Event     string `json:"event"`
	Reason    string `json:"reason"`
}

// eventsOf is node's stored lifecycle changes within [from, to].
func eventsOf(hours []*store.Hour, node string, from, to time.Time) []eventJSON {
	out := []eventJSON{}
	for _, h := range hours {
		for _, e := range h.NodeEvents(node) {
			if !e.At.Before(from) && !e.At.After(to) {
				out = append(out, eventJSON{Node: e.Node, Timestamp: stamp(e.At), Event: e.Event, Reason: e.Reason})
			}
		}
	}
	return out
}

// cluster (in every twin) is the cluster read, in a store of several
// (S3); clusters (home, errors) the clusters to pick from.

type nodeJSON struct {
	Cluster    string        `json:"cluster,omitempty"`
	Node       string        `json:"node"`
	Window     windowJSON    `json:"window"`
	Pods       []rowJSON     `json:"pods"`
	NodeEvents []eventJSON   `json:"node_events"`
	Warnings   []string      `json:"warnings"`
	Hidden     access.Hidden `json:"hidden"`
}

type podJSON struct {
	Cluster    string        `json:"cluster,omitempty"`
	Pod        string        `json:"pod"`
	Window     windowJSON    `json:"window"`
	Placements []rowJSON     `json:"placements"`
	Warnings   []string      `json:"warnings"`
	Hidden     access.Hidden `json:"hidden"`
	// HiddenText says why a pod is not shown at all.
	HiddenText string `json:"hidden_text,omitempty"`
}

type homeJSON struct {
	Cluster  string          `json:"cluster,omitempty"`
	Clusters []string        `json:"clusters,omitempty"`
	Since    string          `json:"since"`
	Until    string          `json:"until"`
	Nodes    []nodeJSONCount `json:"nodes"`
	Warnings []string        `json:"warnings"`
	Hidden   access.Hidden   `json:"hidden"`
}

type nodeJSONCount struct {
	Node string `json:"node"`
	Pods int    `json:"pods"`
}

type errorJSON struct {
	Error    string   `json:"error"`
	Clusters []string `json:"clusters,omitempty"`
}

// incidentJSON is view's incident document and what the viewer did not see
// (the counts in it cover the visible pods only).
type incidentJSON struct {
	view.IncidentJSON
	Hidden access.Hidden `json:"hidden"`
}
