package filter

import (
	"fmt"
	"strings"

	"github.com/pod-ashiato/ashiato/src/record"
)

// NamePrefix keeps pods whose name starts with the prefix (the --name flag).
type NamePrefix string

// Keep implements Filter.
func (p NamePrefix) Keep(r record.Placement) bool { return strings.HasPrefix(r.Pod, string(p)) }

func (p NamePrefix) String() string { return fmt.Sprintf("name prefix %q", string(p)) }

// NotNamePrefixes drops pods whose name starts with any of the prefixes
// (--exclude-name).
type NotNamePrefixes []string

// Keep implements Filter.
func (p NotNamePrefixes) Keep(r record.Placement) bool {
	for _, prefix := range p {
		if strings.HasPrefix(r.Pod, prefix) {
			return false
		}
	}
	return true
}

func (p NotNamePrefixes) String() string { return fmt.Sprintf("name prefix not in %q", []string(p)) }

// Namespaces keeps pods of these namespaces. The recorder uses it only when it
// reads every namespace and keeps some (see Plan); history always.
type Namespaces map[string]bool

// Keep implements Filter.
func (n Namespaces) Keep(r record.Placement) bool { return n[r.Namespace] }

func (n Namespaces) String() string { return "namespace in " + strings.Join(sortedKeys(n), ",") }

// NotNamespaces drops pods of these namespaces (history's --exclude-namespace;
// the recorder has the API server do it).
type NotNamespaces map[string]bool

// Keep implements Filter.
func (n NotNamespaces) Keep(r record.Placement) bool { return !n[r.Namespace] }

func (n NotNamespaces) String() string { return "namespace not in " + strings.Join(sortedKeys(n), ",") }

func set(items []string) map[string]bool {
	s := make(map[string]bool, len(items))
	for _, i := range items {
		s[i] = true
	}
	return s
}
