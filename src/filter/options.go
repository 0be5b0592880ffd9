package filter

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
)

// MaxNamespaceReads is the most namespaces read each with its own requests
// (a LIST, and a WATCH in watch mode). With more, one cluster-wide read is
// filtered here instead: each namespace costs a request per listing and an
// open watch, while the cluster-wide read costs every pod of the cluster.
// docs/filters.md has the measurements behind the number.
const MaxNamespaceReads = 10

// Options is the selection the user asked for on the command line.
type Options struct {
	Namespaces          []string // --namespace; none is every namespace
	ExcludeNamespaces   []string // --exclude-namespace
	NamePrefix          string   // --name
	ExcludeNamePrefixes []string // --exclude-name
	LabelSelector       string   // --label
	FieldSelector       string   // --field-selector
	Node                string   // --node
	OwnerKinds          []string // --owner-kind
	ExcludeOwnerKinds   []string // --exclude-owner-kind
}

// String is the selection as the flags that ask for it, for the log.
func (o Options) String() string {
	var parts []string
	add := func(flag, v string) {
		if v != "" {
			parts = append(parts, fmt.Sprintf("--%s=%q", flag, v))
		}
	}
	add("namespace", strings.Join(o.Namespaces, ","))
	add("exclude-namespace", strings.Join(o.ExcludeNamespaces, ","))
	add("name", o.NamePrefix)
	add("exclude-name", strings.Join(o.ExcludeNamePrefixes, ","))
	add("label", o.LabelSelector)
	add("field-selector", o.FieldSelector)
	add("node", o.Node)
	add("owner-kind", strings.Join(o.OwnerKinds, ","))
	add("exclude-owner-kind", strings.Join(o.ExcludeOwnerKinds, ","))
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// Validate rejects a selection that can never match or that the API server
// would refuse, so a typo fails at start-up instead of silently matching nothing.
func (o Options) Validate() error {
	for _, check := range []func() error{o.validateNamespaces, o.validateNames, o.validateSelectors, o.validateOwners} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (o Options) validateNamespaces() error {
	for _, list := range []struct {
		flag  string
		names []string
	}{{"--namespace", o.Namespaces}, {"--exclude-namespace", o.ExcludeNamespaces}} {
		for _, ns := range list.names {
			if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
				return fmt.Errorf("invalid %s %q: %s", list.flag, ns, errs[0])
			}
		}
	}
	if len(o.Namespaces) > 0 && len(o.namespaces()) == 0 {
		return fmt.Errorf("invalid --exclude-namespace: it excludes every namespace of --namespace %s", strings.Join(o.Namespaces, ","))
	}
	return nil
}

func (o Options) validateNames() error {
	if o.NamePrefix != "" {
		if err := validatePrefix("--name", o.NamePrefix); err != nil {
			return err
		}
	}
	for _, p := range o.ExcludeNamePrefixes {
		if err := validatePrefix("--exclude-name", p); err != nil {
			return err
		}
	}
	return nil
}

func validatePrefix(flagName, p string) error {
	if p == "" {
		return fmt.Errorf("invalid %s \"\": an empty prefix matches every pod", flagName)
	}
	if len(p) > validation.DNS1123SubdomainMaxLength {
		return fmt.Errorf("invalid %s %q: a pod name is at most %d characters", flagName, p, validation.DNS1123SubdomainMaxLength)
	}
	if i := strings.IndexFunc(p, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '.'
	}); i >= 0 {
		return fmt.Errorf("invalid %s %q: pod names hold only lowercase letters, digits, '-' and '.', not %q", flagName, p, p[i])
	}
	return nil
}

func (o Options) validateSelectors() error {
	if _, err := labels.Parse(o.LabelSelector); err != nil {
		return fmt.Errorf("invalid --label %q: %w", o.LabelSelector, err)
	}
	if err := validateFieldSelector(o.FieldSelector); err != nil {
		return err
	}
	if o.Node != "" {
		if errs := validation.IsDNS1123Subdomain(o.Node); len(errs) > 0 {
			return fmt.Errorf("invalid --node %q: %s", o.Node, errs[0])
		}
	}
	return nil
}

func (o Options) validateOwners() error {
	for _, k := range o.OwnerKinds {
		if _, err := canonicalKind("--owner-kind", k); err != nil {
			return err
		}
	}
	for _, k := range o.ExcludeOwnerKinds {
		if _, err := canonicalKind("--exclude-owner-kind", k); err != nil {
			return err
		}
	}
	return nil
}

// Plan is the selection split between the API server and the chain.
type Plan struct {
	// Namespaces are read each with its own requests; none is one
	// cluster-wide read.
	Namespaces    []string
	LabelSelector string
	FieldSelector string
	// Chain is what the API server cannot do, only the filters asked for.
	Chain Chain
}

// Plan splits a validated selection: on the API server whatever its
// selectors can express, the rest in the chain.
func (o Options) Plan() Plan {
	p := Plan{LabelSelector: o.LabelSelector}
	var fieldSel []string
	if o.FieldSelector != "" {
		fieldSel = append(fieldSel, fields.ParseSelectorOrDie(o.FieldSelector).String())
	}
	if o.Node != "" {
		fieldSel = append(fieldSel, "spec.nodeName="+o.Node)
	}
	switch ns := o.namespaces(); {
	case len(ns) == 0:
		// Exclusions are field selectors: they apply to a cluster-wide read.
		for _, x := range o.ExcludeNamespaces {
			fieldSel = append(fieldSel, "metadata.namespace!="+x)
		}
	case len(ns) <= MaxNamespaceReads:
		p.Namespaces = ns
	default:
		// Field selectors have no set-based "in": read everything, keep these.
		p.Chain = append(p.Chain, Namespaces(set(ns)))
	}
	p.FieldSelector = strings.Join(fieldSel, ",")
	p.Chain = append(p.Chain, o.nameAndOwnerChain()...)
	return p
}

// StoredChain is the filters that apply to stored history, which keeps a
// pod's namespace, name and node only: namespaces and name prefixes, all
// client-side.
func (o Options) StoredChain() Chain {
	var c Chain
	if ns := o.namespaces(); len(ns) > 0 {
		c = append(c, Namespaces(set(ns)))
	} else if len(o.ExcludeNamespaces) > 0 {
		c = append(c, NotNamespaces(set(o.ExcludeNamespaces)))
	}
	return append(c, o.nameAndOwnerChain()...)
}

// nameAndOwnerChain is the client-side filters on the pod's name and owner,
// only those asked for.
func (o Options) nameAndOwnerChain() Chain {
	var c Chain
	if o.NamePrefix != "" {
		c = append(c, NamePrefix(o.NamePrefix))
	}
	if len(o.ExcludeNamePrefixes) > 0 {
		c = append(c, NotNamePrefixes(o.ExcludeNamePrefixes))
	}
	if len(o.OwnerKinds) > 0 {
		c = append(c, OwnerKinds(canonicalKinds(o.OwnerKinds)))
	}
	if len(o.ExcludeOwnerKinds) > 0 {
		c = append(c, NotOwnerKinds(canonicalKinds(o.ExcludeOwnerKinds)))
	}
	return c
}

// namespaces is --namespace without duplicates and without the excluded ones,
// in the order given.
func (o Options) namespaces() []string {
	var out []string
	for _, ns := range o.Namespaces {
		if !slices.Contains(out, ns) && !slices.Contains(o.ExcludeNamespaces, ns) {
			out = append(out, ns)
		}
	}
	return out
}

func canonicalKinds(kinds []string) []string {
	out := make([]string, 0, len(kinds))
	for _, k := range kinds {
		if c, err := canonicalKind("", k); err == nil && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
