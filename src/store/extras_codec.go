package store

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pod-ashiato/ashiato/src/storeio"
)

// extraKeyPrefix starts every plain-form data key that is not a pod: a pod
// key has a "_" and no namespace or pod name has ".", so none starts with it.
// A reader skips the ones it does not know: a later version's.
const extraKeyPrefix = "ashiato."

// plainExtras adds the owners and node events of h to a plain form's data, each
// key only when it has lines, and reports whether they fit in budget bytes.
func plainExtras(h *Hour, refs []PodRef, data map[string]string, budget int) bool {
	owners := appendOwnerLines(nil, h, refs, ' ')
	nodes := appendNodeLines(nil, h, ' ')
	labels := appendNodeLabelLines(nil, h, ' ')
	if len(owners)+len(nodes)+len(labels) > budget {
		return false
	}
	if len(labels) > 0 {
		data[KeyNodeLabels] = string(labels)
	}
	if len(owners) > 0 {
		data[KeyOwners] = string(owners)
	}
	if len(nodes) > 0 {
		data[KeyNodes] = string(nodes)
	}
	return true
}

// ownerGroup is the pods of one namespace with one owner.
type ownerGroup struct {
	namespace string
	owner     Owner
}

// appendOwnerLines appends the owners of refs, one line per owner:
// "<namespace><sep><kind><sep><owner name><sep><pod>[,<pod>...]", where a pod
// named "<owner name>-<rest>" is written "-<rest>" (a pod name never starts
// with "-"). Grouping keeps an owner's name from being repeated per pod: a
// line per pod made the packed hour half as large again.
func appendOwnerLines(b []byte, h *Hour, refs []PodRef, sep byte) []byte {
	groups := map[ownerGroup][]string{}
	for _, ref := range refs { // sorted, so each group's pods are too
		if o, ok := h.Owners[ref]; ok {
			g := ownerGroup{ref.Namespace, o}
			groups[g] = append(groups[g], ref.Name)
		}
	}
	keys := make([]ownerGroup, 0, len(groups))
	for g := range groups {
		keys = append(keys, g)
	}
	slices.SortFunc(keys, func(a, b ownerGroup) int {
		return cmp.Or(strings.Compare(a.namespace, b.namespace), strings.Compare(a.owner.Kind, b.owner.Kind), strings.Compare(a.owner.Name, b.owner.Name))
	})
	for _, g := range keys {
		b = append(b, g.namespace...)
		b = append(b, sep)
		b = append(b, g.owner.Kind...)
		b = append(b, sep)
		b = append(b, g.owner.Name...)
		b = append(b, sep)
		for i, pod := range groups[g] {
			if i > 0 {
				b = append(b, ',')
			}
			if rest, ok := strings.CutPrefix(pod, g.owner.Name+"-"); ok && rest != "" {
				b = append(b, '-')
				pod = rest
			}
			b = append(b, pod...)
		}
		b = append(b, '\n')
	}
	return b
}

// appendNodeLines appends every node event of h as
// "<node><sep><offset><sep><event><sep><reason>\n", in time order.
func appendNodeLines(b []byte, h *Hour, sep byte) []byte {
	for _, e := range h.Nodes {
		b = append(b, e.Node...)
		b = append(b, sep)
		b = strconv.AppendInt(b, h.offset(e.At), 10)
		b = append(b, sep)
		b = append(b, e.Event...)
		b = append(b, sep)
		b = append(b, e.Reason...)
		b = append(b, '\n')
	}
	return b
}

// extras decodes an object's node events into local and its owners into
// d.owners.
func (d *decoder) extras(cm *storeio.Shard, local *Hour) {
	if text, ok := cm.Data[KeyOwners]; ok {
		d.ownerLines(cm.Name, KeyOwners, text, ' ')
	}
	if text, ok := cm.Data[KeyNodes]; ok {
		d.nodeLines(cm.Name, KeyNodes, text, ' ', local)
	}
	if gz, ok := cm.BinaryData[KeyOwnersPacked]; ok && d.only.Node == "" {
		d.ownerLines(cm.Name, KeyOwnersPacked, inPlace(d.gunzip(cm.Name, KeyOwnersPacked, gz)), '\t')
	}
	if gz, ok := cm.BinaryData[KeyNodesPacked]; ok {
		d.nodeLines(cm.Name, KeyNodesPacked, inPlace(d.gunzip(cm.Name, KeyNodesPacked, gz)), '\t', local)
	}
	d.nodeLabelExtras(cm, local)
}

// ownerLines reads the lines appendOwnerLines writes into d.owners; Decode
// gives them to the pods once every object is read, since in the packed form
// an owner's line and its pods' placements may be in different shards.
func (d *decoder) ownerLines(object, key, text string, sep byte) {
	if d.only.Node != "" {
		return // a node's placements need no owners (see Only)
	}
	w := d.valueWarnings(object, key)
	defer w.done()
	for line := range strings.SplitSeq(text, "\n") {
		if !d.live() {
			return
		}
		if line == "" {
			continue
		}
		f, ok := fields(line, sep, false)
		if !ok {
			w.add("line %q: want 4 fields; skipped", line)
			continue
		}
		if d.only.Namespaces != nil && !d.only.Namespaces(f[0]) {
			continue
		}
		o := Owner{Kind: f[1], Name: f[2]}
		if !validOwner(o) {
			w.add("line %q: not an owner kind and name; skipped", line)
			continue
		}
		for pod := range strings.SplitSeq(f[3], ",") {
			if rest, ok := strings.CutPrefix(pod, "-"); ok {
				if p := d.only.Pod; p != nil && (p.Namespace != f[0] || p.Name != o.Name+"-"+rest) {
					continue
				}
				pod = o.Name + "-" + rest
			}
			ref := PodRef{Namespace: f[0], Name: pod}
			if !d.only.keeps(ref, "") {
				continue
			}
			if err := validRef(ref); err != nil {
				w.add("line %q: %v; skipped", line, err)
				continue
			}
			d.owners = append(d.owners, podOwner{ref, o})
		}
	}
}

// podOwner is an owner line's word on one pod.
type podOwner struct {
	ref   PodRef
	owner Owner
}

// applyOwners gives the owners read to the pods that have placements, in an
// order that does not depend on the objects' (the first owner of a pod wins).
// An owner of a pod with no placement is ignored: the placements are the
// authority, and a subset of the hour's objects may lack that pod's shard.
// Only then are the names copied out of the values they were read from.
func (d *decoder) applyOwners() {
	slices.SortFunc(d.owners, func(a, b podOwner) int {
		return cmp.Or(a.ref.compare(b.ref), strings.Compare(a.owner.Kind, b.owner.Kind), strings.Compare(a.owner.Name, b.owner.Name))
	})
	for _, po := range d.owners {
		if _, ok := d.h.Owners[po.ref]; !ok && len(d.h.Pods[po.ref]) > 0 {
			d.h.SetOwner(d.own(po.ref), Owner{Kind: d.intern(po.owner.Kind), Name: d.intern(po.owner.Name)})
		}
	}
}

// nodeLines reads "<node><sep><offset><sep><event><sep><reason>" lines; the
// reason may be empty.
func (d *decoder) nodeLines(object, key, text string, sep byte, local *Hour) {
	w := d.valueWarnings(object, key)
	defer w.done()
	// The lines' events are added at once: one by one, the events of one
	// second would each be compared with all the second's before it.
	var events []NodeEvent
	defer func() { local.addNodeEvents(events) }()
	for line := range strings.SplitSeq(text, "\n") {
		if !d.live() {
			return
		}
		if line == "" {
			continue
		}
		f, ok := fields(line, sep, true)
		if !ok {
			w.add("line %q: want 4 fields; skipped", line)
			continue
		}
		off, ok := parseSecond(f[1])
		switch {
		case !ok || off >= 3600:
			w.add("line %q: time %q is not a second of the hour; skipped", line, f[1])
		case !validName(f[0]):
			w.add("line %q: node %q is not a DNS subdomain; skipped", line, f[0])
		case !validEvent(f[2]):
			w.add("line %q: event %q is not a node event name; skipped", line, f[2])
		case cleanReason(f[3]) != f[3]:
			w.add("line %q: reason is not one line of printable ASCII; skipped", line)
		default:
			// addNodeEvents copies the reason as it cleans it.
			events = append(events, NodeEvent{Node: d.intern(f[0]), At: local.Start.Add(time.Duration(off) * time.Second), Event: d.intern(f[2]), Reason: f[3]})
		}
	}
}
