// Package cliflag holds the flag values the commands share: comma-separated
// lists, a duration known by several names, a list of label keys. Each is a
// flag.Value (and a pflag.Value: it has Type).
package cliflag

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// List is a comma-separated list flag; given again, it adds to the list.
// An empty value adds nothing (--namespace "" is every namespace, as before).
type List []string

func (l *List) String() string { return strings.Join(*l, ",") }
func (l *List) Type() string   { return "strings" }

func (l *List) Set(v string) error {
	if v == "" {
		return nil
	}
	for _, item := range strings.Split(v, ",") {
		*l = append(*l, strings.TrimSpace(item))
	}
	return nil
}

// AliasedDuration is a duration flag that has several names, each its own
// flag.Value on the one duration: the last name given is remembered in
// Given, so errors name the flag as the user typed it.
type AliasedDuration struct {
	D     *time.Duration
	Given *string // the name that set D last
	Name  string
}

func (a *AliasedDuration) String() string {
	if a.D == nil {
		return "0s"
	}
	return a.D.String()
}

func (a *AliasedDuration) Type() string { return "duration" }

func (a *AliasedDuration) Set(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return errors.New("parse error") // as flag.Duration says: flag names the flag and the value
	}
	*a.D, *a.Given = d, a.Name
	return nil
}

// LabelKeys is a comma-separated list of label keys, at most Max; Keys
// holds them once Validate has read Raw.
type LabelKeys struct {
	Raw  string
	Keys []string
	Max  int
}

// Validate parses Raw; flagName names the flag in errors.
func (n *LabelKeys) Validate(flagName string) error {
	n.Keys = nil
	for k := range strings.SplitSeq(n.Raw, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return fmt.Errorf("invalid --%s key %q: %s", flagName, k, errs[0])
		}
		n.Keys = append(n.Keys, k)
	}
	if len(n.Keys) > n.Max {
		return fmt.Errorf("invalid --%s: %d keys, at most %d", flagName, len(n.Keys), n.Max)
	}
	return nil
}
