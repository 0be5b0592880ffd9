package filter

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"
)

// podFields are the fields the API server selects pods by, each with a check
// of its value. The list is the API's own (k8s.io/kubernetes v1.37,
// pkg/apis/core/v1/conversion.go, the Pod field label conversion, and
// ToSelectableFields in pkg/registry/core/pod/strategy.go). A value no pod
// can have is refused too: `status.phase=running` would match nothing, forever.
var podFields = map[string]func(value string) error{
	"metadata.name":            dnsSubdomain,
	"metadata.namespace":       dnsLabel,
	"spec.nodeName":            emptyOr(dnsSubdomain), // "" is a pod not yet scheduled
	"spec.restartPolicy":       oneOf("Always", "OnFailure", "Never"),
	"spec.schedulerName":       emptyOr(dnsSubdomain),
	"spec.serviceAccountName":  emptyOr(dnsSubdomain),
	"spec.hostNetwork":         oneOf("true", "false"),
	"status.phase":             oneOf("Pending", "Running", "Succeeded", "Failed", "Unknown"),
	"status.podIP":             anyValue,
	"status.nominatedNodeName": emptyOr(dnsSubdomain),
}

// unselectable are fields the API server accepts in a selector but never
// compares with the pod, so a selector on them silently matches all or nothing.
var unselectable = map[string]string{
	// Accepted by the field label conversion, missing from the pod's selectable
	// fields: always "" on the server.
	"status.podIPs": "the API server accepts it but never matches it: use status.podIP",
	// The v1 alias of spec.nodeName, kept for old clients.
	"spec.host": "use spec.nodeName (or --node)",
}

// validateFieldSelector checks a --field-selector: its syntax, and that each
// field is one the pods API selects on, with a value a pod can have.
func validateFieldSelector(s string) error {
	sel, err := fields.ParseSelector(s)
	if err != nil {
		return fmt.Errorf("invalid --field-selector %q: %w", s, err)
	}
	for _, r := range sel.Requirements() {
		if why, ok := unselectable[r.Field]; ok {
			return fmt.Errorf("invalid --field-selector %q: field %s: %s", s, r.Field, why)
		}
		check, ok := podFields[r.Field]
		if !ok {
			return fmt.Errorf("invalid --field-selector %q: pods cannot be selected by field %q; fields: %s", s, r.Field, strings.Join(podFieldNames(), ", "))
		}
		switch r.Operator {
		case selection.Equals, selection.DoubleEquals, selection.NotEquals:
		default: // ParseSelector makes no other operator; guard against a change
			return fmt.Errorf("invalid --field-selector %q: operator %s: want =, == or !=", s, r.Operator)
		}
		if err := check(r.Value); err != nil {
			return fmt.Errorf("invalid --field-selector %q: %s value %q: %w", s, r.Field, r.Value, err)
		}
	}
	return nil
}

func podFieldNames() []string {
	names := make([]string, 0, len(podFields))
	for f := range podFields {
		names = append(names, f)
	}
	slices.Sort(names)
	return names
}

func anyValue(string) error { return nil }

func dnsLabel(v string) error {
	if errs := validation.IsDNS1123Label(v); len(errs) > 0 {
		return fmt.Errorf("%s", errs[0])
	}
	return nil
}

func dnsSubdomain(v string) error {
	if errs := validation.IsDNS1123Subdomain(v); len(errs) > 0 {
		return fmt.Errorf("%s", errs[0])
	}
	return nil
}

func emptyOr(check func(string) error) func(string) error {
	return func(v string) error {
		if v == "" {
			return nil
		}
		return check(v)
	}
}

func oneOf(values ...string) func(string) error {
	return func(v string) error {
		if slices.Contains(values, v) {
			return nil
		}
		return fmt.Errorf("want one of %s", strings.Join(values, ", "))
	}
}
