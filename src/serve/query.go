package serve

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/store"
)

// query is what a page was asked, as typed: the form shows it back.
type query struct {
	Node, Pod        string
	At, Since, Until string
	Window           string // incident: how long after the instant to look
	Format           string // "", "html", "json" or "svg"
	Cluster          string // in a store of several clusters: the one to show
}

func readQuery(r *http.Request) query {
	v := r.URL.Query()
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return query{
		Node: get("node"), Pod: get("pod"),
		At: get("at"), Since: get("since"), Until: get("until"), Window: get("window"),
		Format: get("format"), Cluster: get("cluster"),
	}
}

// badRequest is a problem with what was asked: 400, and the reason shown.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

func badf(format string, args ...any) error { return badRequest{fmt.Sprintf(format, args...)} }

func (q query) format() (string, error) {
	switch q.Format {
	case "", "html":
		return "html", nil
	case "json", "svg":
		return q.Format, nil
	}
	return "", badf("invalid format %q: want html, json or svg", q.Format)
}

func (q query) node() (string, error) {
	if q.Node == "" {
		return "", badf("give a node")
	}
	if errs := validation.IsDNS1123Subdomain(q.Node); len(errs) > 0 {
		return "", badf("invalid node %q: %s", q.Node, errs[0])
	}
	return q.Node, nil
}

func (q query) pod() (store.PodRef, error) {
	if q.Pod == "" {
		return store.PodRef{}, badf("give a pod as NAMESPACE/NAME")
	}
	ns, name, ok := strings.Cut(q.Pod, "/")
	if !ok {
		return store.PodRef{}, badf("invalid pod %q: want NAMESPACE/NAME", q.Pod)
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return store.PodRef{}, badf("invalid pod %q: namespace %q: %s", q.Pod, ns, errs[0])
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return store.PodRef{}, badf("invalid pod %q: name %q: %s", q.Pod, name, errs[0])
	}
	return store.PodRef{Namespace: ns, Name: name}, nil
}

// window is the time the page asks about: --at as an instant, else since
// (default: def before until) to until (default: now). It refuses a window
// longer than MaxRange.
func (q query) window(now time.Time, def time.Duration) (history.Window, error) {
	if q.At != "" {
		if q.Since != "" || q.Until != "" {
			return history.Window{}, badf("give either a time (at) or a range (since, until), not both")
		}
		t, err := parseTime("at", q.At, now)
		return history.At(t), err
	}
	until := now.UTC()
	if q.Until != "" {
		t, err := parseTime("until", q.Until, now)
		if err != nil {
			return history.Window{}, err
		}
		until = t
	}
	since := until.Add(-def)
	if q.Since != "" {
		t, err := parseTime("since", q.Since, now)
		if err != nil {
			return history.Window{}, err
		}
		since = t
	}
	if since.After(until) {
		return history.Window{}, badf("since %s is after until %s", stamp(since), stamp(until))
	}
	if until.Sub(since) > MaxRange {
		return history.Window{}, badf("the range %s to %s is longer than %s", stamp(since), stamp(until), MaxRange)
	}
	return history.Window{Since: since, Until: until}, nil
}

// browserLayouts are what a datetime-local input sends, read as UTC.
var browserLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"}

func parseTime(field, s string, now time.Time) (time.Time, error) {
	t, err := history.ParseTime(s, now)
	if err == nil {
		return t, nil
	}
	for _, layout := range browserLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, badf("invalid %s: %q is not a time: want %s, or 2026-11-26 14:02 (UTC)", field, s, history.TimeSyntax)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// link is path with the query values, for hrefs.
func link(path string, kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// windowArgs is w as query values: at=T, or since and until.
func windowArgs(w history.Window) []string {
	if w.Since.Equal(w.Until) {
		return []string{"at", stamp(w.Since)}
	}
	return []string{"since", stamp(w.Since), "until", stamp(w.Until)}
}
