package answer

import (
	"k8s.io/apimachinery/pkg/labels"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/usage"
)

// The questions as the user asks them: every error is a usage error naming
// the flag or argument to fix.

const (
	// historyRange is how far back `history pod` looks without --since.
	historyRange = 24 * time.Hour
	// maxHistoryRange is the longest --since..--until: a month, four times
	// the default retention (docs/history.md, "Costs").
	maxHistoryRange = 31 * 24 * time.Hour
)

// ParseWindow is the window --since, --until and --at say of what (pod or
// node), at now.
func ParseWindow(what, since, until, at string, now time.Time) (history.Window, bool, error) {
	parse := func(flag, s string, def time.Time) (time.Time, error) {
		if s == "" {
			return def, nil
		}
		t, err := history.ParseTime(s, now)
		if err != nil {
			return time.Time{}, usage.Errorf("invalid --%s: %w", flag, err)
		}
		return t, nil
	}
	if at != "" {
		if since != "" || until != "" {
			return history.Window{}, false, usage.Errorf("--at is an instant: give it alone, or --since/--until for a range")
		}
		t, err := parse("at", at, time.Time{})
		return history.At(t), true, err
	}
	if what == "node" && since == "" {
		return history.Window{}, false, usage.Errorf("history node needs --at T or --since T (a node may have run many pods)")
	}
	u, err := parse("until", until, now.UTC())
	if err != nil {
		return history.Window{}, false, err
	}
	s, err := parse("since", since, u.Add(-historyRange))
	if err != nil {
		return history.Window{}, false, err
	}
	if s.After(u) {
		return history.Window{}, false, usage.Errorf("--since %s is after --until %s", s.Format(time.RFC3339), u.Format(time.RFC3339))
	}
	if u.Sub(s) > maxHistoryRange {
		return history.Window{}, false, usage.Errorf("invalid --since %s: the range to --until %s is longer than %s (31 days), the longest history reads", s.Format(time.RFC3339), u.Format(time.RFC3339), maxHistoryRange)
	}
	return history.Window{Since: s, Until: u}, false, nil
}

// ParsePod reads NAMESPACE/NAME, each as the API server allows it.
func ParsePod(s string) (store.PodRef, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok {
		return store.PodRef{}, usage.Errorf("invalid pod %q: want NAMESPACE/NAME", s)
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return store.PodRef{}, usage.Errorf("invalid pod %q: namespace %q: %s", s, ns, errs[0])
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return store.PodRef{}, usage.Errorf("invalid pod %q: name %q: %s", s, name, errs[0])
	}
	return store.PodRef{Namespace: ns, Name: name}, nil
}

// ParseNode reads a node name, as the API server allows it.
func ParseNode(s string) (string, error) {
	if errs := validation.IsDNS1123Subdomain(s); len(errs) > 0 {
		return "", usage.Errorf("invalid node %q: %s", s, errs[0])
	}
	return s, nil
}

// Parse validates a `history pod|node` question (what) about arg and fills
// in the pod or node and the window.
func (q *Query) Parse(what, arg, since, until, at string, now time.Time) error {
	var err error
	if what == "pod" {
		q.Pod, err = ParsePod(arg)
	} else {
		q.Node, err = ParseNode(arg)
	}
	if err != nil {
		return err
	}
	if err := q.Filter.Validate(); err != nil {
		return usage.Wrap(err)
	}
	if what == "pod" && q.Filter.String() != "none" {
		return usage.Errorf("history pod names one pod: %s filters history node only", q.Filter)
	}
	if q.Window, q.At, err = ParseWindow(what, since, until, at, now); err != nil {
		return err
	}
	switch q.Output {
	case "table", "wide", "json", "svg":
		return nil
	}
	return usage.Errorf("invalid -o %q: want table, wide, json or svg", q.Output)
}

// maxIncidentWindow bounds --window: an incident is minutes to hours, and
// each hour of window is two more hours of the store to read.
const maxIncidentWindow = 24 * time.Hour

// Parse validates a `history incident` question: the NODE in args or the
// selector, the instant at, the window and output already set.
func (q *IncidentQuery) Parse(args []string, at string, now time.Time) error {
	var err error
	switch {
	case len(args) >= 1 && q.Selector != "":
		return usage.Errorf("give NODE or --node-selector, not both")
	case q.Selector != "":
		if q.Match, err = labels.Parse(q.Selector); err != nil {
			return usage.Errorf("invalid --node-selector %q: %s", q.Selector, strings.ReplaceAll(err.Error(), "\n", " "))
		}
	case len(args) < 1:
		return usage.Errorf("history incident needs the NODE or --node-selector (see ashiato history incident --help)")
	case len(args) > 1:
		return usage.Errorf("unexpected argument %q: history incident takes one NODE", args[1])
	}
	if q.Selector == "" {
		if q.Node, err = ParseNode(args[0]); err != nil {
			return err
		}
	}
	if at == "" {
		return usage.Errorf("history incident needs --at T, when the node failed")
	}
	if q.At, err = history.ParseTime(at, now); err != nil {
		return usage.Errorf("invalid --at: %w", err)
	}
	if q.Window <= 0 || q.Window > maxIncidentWindow {
		return usage.Errorf("invalid --window %s: want more than 0 and at most %s", q.Window, maxIncidentWindow)
	}
	if q.Output != "table" && q.Output != "json" && q.Output != "svg" {
		return usage.Errorf("invalid -o %q: want table, json or svg", q.Output)
	}
	return nil
}
