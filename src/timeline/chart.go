// Package timeline draws pods over time as one self-contained SVG: a UTC time
// axis, one lane per pod with a bar for each stretch it was seen on a node,
// move marks, and node state bands. It takes plain values and knows nothing of
// the store, the API or HTTP, so the same picture serves `history -o svg` and
// the web view.
//
// The output is a pure function of the Chart: no map order, no clock, numbers
// printed with fixed precision, so the same store gives the same bytes. Every
// text it writes is XML-escaped.
package timeline

import "time"

// DefaultMaxLanes is the most lanes drawn one pod each; a chart with more is
// drawn one lane per group, so that 500 pods still fit a screen.
const DefaultMaxLanes = 60

// Chart is what to draw.
type Chart struct {
	Title    string // empty: no title (a page around the picture has one)
	Subtitle string
	// From and To are the ends of the time axis; bars and spans are clipped to
	// them. To must be after From.
	From, To time.Time
	Bands    []Band // node state bands, drawn above the lanes
	Lanes    []Lane // drawn in this order
	Marks    []Mark // vertical lines across the chart, such as an incident's instant
	// MaxLanes is the most lanes drawn one pod each (0: DefaultMaxLanes).
	MaxLanes int
	// GroupNoun names what a group counts in its label ("pods").
	GroupNoun string
	// FaintNote is what the legend calls faint bars (default "elsewhere").
	FaintNote string
}

// Lane is one pod.
type Lane struct {
	Label string // such as namespace/name
	Link  string // where the label leads, if anywhere (a URL)
	// Group is what colours the lane's bars and what lanes are grouped by
	// when there are too many: the pod's owner, or its namespace.
	Group string
	Bars  []Bar
}

// Bar is one stretch of a pod on one node.
type Bar struct {
	Start, End time.Time
	Label      string // drawn inside the bar where it fits: the node
	Tip        string // the tooltip
	Link       string // where the bar leads, if anywhere
	// From is the node the pod was on before this bar (a move mark at Start);
	// To the node it was seen on next (a move mark at End). Empty: no move.
	From, To string
	// Maybe, when after End, is how long the pod may have stayed after it
	// was last seen (the store keeps last-seen times to a step): drawn as a
	// pale tail.
	Maybe time.Time
	// Faint draws the bar lighter: a stretch that is context rather than the
	// subject, such as a replacement pod on another node.
	Faint bool
}

// State is a node's state over a Span.
type State string

// The states a band shows. Ready, NotReady and Unknown are the Ready
// condition and fill the band; Cordoned and Tainted (a NoExecute taint) are
// drawn in a thin track under it, since they overlap the condition; Deleted is
// the time after the Node object was deleted.
const (
	Ready    State = "Ready"
	NotReady State = "NotReady"
	Unknown  State = "Unknown"
	Deleted  State = "Deleted"
	Cordoned State = "cordoned"
	Tainted  State = "NoExecute"
)

// lower reports whether s is drawn in the thin track.
func (s State) lower() bool { return s == Cordoned || s == Tainted }

// Band is one node's states over time.
type Band struct {
	Label string // the node
	Link  string
	Spans []Span
}

// Span is a stretch of one state.
type Span struct {
	Start, End time.Time
	State      State
	Tip        string
}

// Mark is a vertical line at an instant.
type Mark struct {
	At    time.Time
	Label string
}
