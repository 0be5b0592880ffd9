// Package filter is the second stage of the pipeline: the chain of client-side
// filters the user asked for. Options holds the whole selection and splits it
// (Plan): what the API server can apply (namespaces, label and field
// selectors) travels with the source's requests, so unwanted pods never cross
// the network; the rest (name prefixes, owner kinds) is the Chain.
package filter

import (
	"context"
	"strings"

	"github.com/pod-ashiato/ashiato/src/record"
)

// Filter keeps or drops one placement.
type Filter interface {
	Keep(record.Placement) bool
	String() string
}

// Chain keeps a placement when every filter keeps it; an empty chain keeps all.
type Chain []Filter

// Keep implements Filter.
func (c Chain) Keep(r record.Placement) bool {
	for _, f := range c {
		if !f.Keep(r) {
			return false
		}
	}
	return true
}

func (c Chain) String() string {
	parts := make([]string, len(c))
	for i, f := range c {
		parts[i] = f.String()
	}
	return strings.Join(parts, " and ")
}

// Run sends on every placement from in that the chain keeps, until in closes;
// then it closes out. It does not stop on its own: the source decides when the
// pipeline ends, and what it sent is drained.
func (c Chain) Run(ctx context.Context, in <-chan record.Placement, out chan<- record.Placement) error {
	defer close(out)
	for r := range in {
		if r.Event.IsPod() && !c.Keep(r) { // the filters select pods; node records and EventSeen pass
			continue
		}
		select {
		case out <- r:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
