// Package filter is the second stage of the pipeline: the chain of client-side
// filters the user asked for. Filters the API server can apply itself (namespace,
// label selector) are not here: they travel with the source's request, so
// unwanted pods never cross the network.
package filter

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pod-ashiato/ashiato/src/record"
)

// Filter keeps or drops one placement.
type Filter interface {
	Keep(record.Placement) bool
	String() string
}

// NamePrefix keeps pods whose name starts with the prefix (the --name flag).
type NamePrefix string

// Keep implements Filter.
func (p NamePrefix) Keep(r record.Placement) bool { return strings.HasPrefix(r.Pod, string(p)) }

func (p NamePrefix) String() string { return fmt.Sprintf("name prefix %q", string(p)) }

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
		if !c.Keep(r) {
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

// Options is the selection the user asked for on the command line.
type Options struct {
	Namespace     string // --namespace; "" is every namespace
	NamePrefix    string // --name
	LabelSelector string // --label
}

// Validate rejects a selection that can never match or that the API server
// would refuse, so a typo fails at start-up instead of silently matching nothing.
func (o Options) Validate() error {
	if o.Namespace != "" {
		if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
			return fmt.Errorf("invalid --namespace %q: %s", o.Namespace, errs[0])
		}
	}
	if o.NamePrefix != "" {
		if len(o.NamePrefix) > validation.DNS1123SubdomainMaxLength {
			return fmt.Errorf("invalid --name %q: a pod name is at most %d characters", o.NamePrefix, validation.DNS1123SubdomainMaxLength)
		}
		if i := strings.IndexFunc(o.NamePrefix, func(r rune) bool {
			return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '.'
		}); i >= 0 {
			return fmt.Errorf("invalid --name %q: pod names hold only lowercase letters, digits, '-' and '.', not %q", o.NamePrefix, o.NamePrefix[i])
		}
	}
	if _, err := labels.Parse(o.LabelSelector); err != nil {
		return fmt.Errorf("invalid --label %q: %w", o.LabelSelector, err)
	}
	return nil
}

// Chain builds the client-side filters, only those the user asked for.
func (o Options) Chain() Chain {
	var c Chain
	if o.NamePrefix != "" {
		c = append(c, NamePrefix(o.NamePrefix))
	}
	return c
}
