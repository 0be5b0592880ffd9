// Package report is the JSON schema of every answer Pod Ashiato gives about
// the history, and its one encoder: `ashiato history pod|node|incident -o
// json` and the web view's JSON twins (?format=json) print these types with
// Encode, so the same question gets the same bytes from both. Times are RFC
// 3339 in UTC; first_seen and last_seen are null when not known (hours
// written by the original tool); durations are whole seconds.
package report

import (
	"encoding/json"
	"io"
	"time"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// Encode writes v as indented JSON and a newline.
func Encode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Window is the time asked about.
type Window struct {
	Since string `json:"since"`
	Until string `json:"until"`
	At    bool   `json:"at"` // the window is one instant
}

// WindowOf is w in the schema.
func WindowOf(w history.Window) Window {
	return Window{Since: stamp(w.Since), Until: stamp(w.Until), At: w.Since.Equal(w.Until)}
}

// Row is one pod on one node within one UTC hour.
type Row struct {
	// Cluster is the row's cluster when the answer spans several (S3
	// without --cluster); the answer's Cluster otherwise.
	Cluster   string  `json:"cluster,omitempty"`
	Namespace string  `json:"namespace"`
	Pod       string  `json:"pod_name"`
	Node      string  `json:"node_name"`
	OwnerKind string  `json:"owner_kind"`
	OwnerName string  `json:"owner_name"`
	Hour      string  `json:"hour"`
	FirstSeen *string `json:"first_seen"`
	LastSeen  *string `json:"last_seen"`
}

// RowsOf is rows in the schema, with each pod's owner where owners has it.
func RowsOf(owners map[store.PodRef]store.Owner, rows []history.Row) []Row {
	out := make([]Row, 0, len(rows))
	for _, r := range rows {
		j := Row{Cluster: r.Cluster, Namespace: r.Pod.Namespace, Pod: r.Pod.Name, Node: r.Node, Hour: stamp(r.Hour), FirstSeen: optionalStamp(r.First), LastSeen: optionalStamp(r.Last)}
		if o, ok := owners[r.Pod]; ok {
			j.OwnerKind, j.OwnerName = o.Kind, o.Name
		}
		out = append(out, j)
	}
	return out
}

// NodeEvent is one of a node's lifecycle changes.
type NodeEvent struct {
	Node      string `json:"node_name"`
	Timestamp string `json:"timestamp"`
	Event     string `json:"event"`
	Reason    string `json:"reason"`
}

// EventsOf is node's stored lifecycle changes within [from, to].
func EventsOf(hours []*store.Hour, node string, from, to time.Time) []NodeEvent {
	out := []NodeEvent{}
	for _, h := range hours {
		for _, e := range h.NodeEvents(node) {
			if !e.At.Before(from) && !e.At.After(to) {
				out = append(out, NodeEvent{Node: e.Node, Timestamp: stamp(e.At), Event: e.Event, Reason: e.Reason})
			}
		}
	}
	return out
}

// Hidden counts what the viewer may not see and the answer leaves out (the
// web view's access check; zero for the CLI, which reads as the
// kubeconfig's user).
type Hidden struct {
	Pods       int `json:"pods"`        // distinct pods left out
	Namespaces int `json:"namespaces"`  // the namespaces they are in
	NodeEvents int `json:"node_events"` // node lifecycle rows left out
}

// WarningsOf says where each damaged value is and what is wrong with it.
func WarningsOf(st storeio.Store, warns []store.Warning) []string {
	out := []string{}
	for _, wn := range warns {
		where := st.Location(wn.Object)
		if wn.Key != "" {
			where += ": " + wn.Key
		}
		out = append(out, where+": "+wn.Reason)
	}
	return out
}

// NodeAnswer is which pods ran on a node: `history node -o json`, the node
// page's twin.
type NodeAnswer struct {
	Cluster    string      `json:"cluster,omitempty"` // a store of several clusters (S3): the one read
	Node       string      `json:"node"`
	Window     Window      `json:"window"`
	Pods       []Row       `json:"pods"`
	NodeEvents []NodeEvent `json:"node_events"`
	Warnings   []string    `json:"warnings"`
	Hidden     Hidden      `json:"hidden"`
}

// PodAnswer is where a pod ran: `history pod -o json`, the pod page's twin.
type PodAnswer struct {
	Cluster    string   `json:"cluster,omitempty"`
	Pod        string   `json:"pod"`
	Window     Window   `json:"window"`
	Placements []Row    `json:"placements"`
	Warnings   []string `json:"warnings"`
	Hidden     Hidden   `json:"hidden"`
	// HiddenText says why a pod is not shown at all.
	HiddenText string `json:"hidden_text,omitempty"`
}

// IncidentAnswer is what was on a failed node and where it went: `history
// incident -o json`, the incident page's twin.
type IncidentAnswer struct {
	Cluster string `json:"cluster,omitempty"`
	Incident
	Hidden Hidden `json:"hidden"`
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

// Any is true when something was left out.
func (h Hidden) Any() bool { return h.Pods > 0 || h.NodeEvents > 0 }
