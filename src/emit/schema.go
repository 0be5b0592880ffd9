package emit

import (
	"fmt"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/pod-ashiato/ashiato/src/record"
)

// FieldSet names the JSON field names a record line uses (--json-fields).
type FieldSet string

const (
	// FieldsOriginal are the original tool's names (namespace, pod_name,
	// node_name, ...): the default, and the only names the store and the
	// history readers know.
	FieldsOriginal FieldSet = "original"
	// FieldsOTel are OpenTelemetry's semantic-convention names
	// (k8s.namespace.name, k8s.pod.name, k8s.node.name, k8s.pod.uid,
	// k8s.cluster.name, k8s.<kind>.name for the owner), for Loki, Vector and
	// OpenTelemetry Collector pipelines. Fields without a convention keep
	// their original names.
	FieldsOTel FieldSet = "otel"
)

// ParseFieldSet checks a --json-fields value.
func ParseFieldSet(s string) (FieldSet, error) {
	switch f := FieldSet(s); f {
	case FieldsOriginal, FieldsOTel:
		return f, nil
	}
	return "", fmt.Errorf("invalid --json-fields %q: want %s or %s", s, FieldsOriginal, FieldsOTel)
}

// names are one field set's names for the fields that differ between the sets
// (every other field has one name). An empty name leaves the field out.
type names struct {
	namespace, pod, uid, node, phase string
	// cluster carries Schema.Cluster.
	cluster string
	// ownerByKind: the owner's name goes under k8s.<kind>.name, not owner_name.
	ownerByKind bool
	// nodeLabel prefixes each node label's key (k8s.node.label.<key>); empty:
	// the labels are one object, "labels".
	nodeLabel string
}

// fieldNames is the one definition of each field set's names. The original
// set's line is also written by Formatter's fast path (appendRecord), which
// format_test.go holds to Fields byte for byte.
var fieldNames = map[FieldSet]names{
	FieldsOriginal: {namespace: "namespace", pod: "pod_name", uid: "uid", node: "node_name", phase: "phase"},
	FieldsOTel: {namespace: "k8s.namespace.name", pod: "k8s.pod.name", uid: "k8s.pod.uid", node: "k8s.node.name", phase: "k8s.pod.status.phase",
		cluster: "k8s.cluster.name", ownerByKind: true, nodeLabel: "k8s.node.label."},
}

// Schema is how a record becomes a JSON line: which field set, and for the
// otel set the cluster's name. The zero Schema is the original field set.
type Schema struct {
	Set     FieldSet
	Cluster string
}

func (s Schema) names() names {
	if n, ok := fieldNames[s.Set]; ok {
		return n
	}
	return fieldNames[FieldsOriginal]
}

// original reports whether s writes the original field set.
func (s Schema) original() bool { return s.Set == "" || s.Set == FieldsOriginal }

// Fields is a pod record's JSON fields in this schema.
func (s Schema) Fields(r record.Placement) logrus.Fields {
	n := s.names()
	f := logrus.Fields{
		n.namespace:  r.Namespace,
		n.pod:        r.Pod,
		n.node:       r.Node,
		"pod_ip":     r.PodIP,
		n.phase:      r.Phase,
		"timestamp":  rfc3339(r.Timestamp),
		n.uid:        r.UID,
		"host_ip":    r.HostIP,
		"owner_kind": r.OwnerKind,
		"event":      string(r.Event),
	}
	switch {
	case !n.ownerByKind:
		f["owner_name"] = r.OwnerName
	case r.OwnerKind != "" && r.OwnerKind != "Node":
		// A mirror pod's owner is its node, already k8s.node.name.
		f[ownerKey(r.OwnerKind)] = r.OwnerName
	}
	if n.cluster != "" {
		f[n.cluster] = s.Cluster
	}
	if len(r.Conditions) > 0 {
		f["conditions"] = r.Conditions
	}
	if !r.StartTime.IsZero() {
		f["start_time"] = rfc3339(r.StartTime)
	}
	if r.PreviousNode != "" {
		f["previous_node"] = r.PreviousNode
	}
	return f
}

// ownerKey is the semantic-convention name of an owner's name:
// k8s.replicaset.name, k8s.statefulset.name, k8s.daemonset.name, k8s.job.name...
func ownerKey(kind string) string { return "k8s." + strings.ToLower(kind) + ".name" }

// NodeFields is a node lifecycle record's JSON fields in this schema.
func (s Schema) NodeFields(r record.Placement) logrus.Fields {
	n := s.names()
	f := logrus.Fields{
		"event":     string(r.Event),
		n.node:      r.Node,
		"timestamp": rfc3339(r.Timestamp),
		"reason":    r.Reason,
	}
	if n.cluster != "" {
		f[n.cluster] = s.Cluster
	}
	switch {
	case len(r.NodeLabels) == 0:
	case n.nodeLabel == "":
		f["labels"] = r.NodeLabels // the allow-listed node labels (--node-labels)
	default:
		for k, v := range r.NodeLabels {
			f[n.nodeLabel+k] = v
		}
	}
	return f
}
