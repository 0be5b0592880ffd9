package emit

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/record"
)

// TestFieldSets compares the lines both field sets print for the same pod and
// node records, byte for byte.
func TestFieldSets(t *testing.T) {
	seen := time.Date(2026, 11, 26, 14, 2, 3, 0, time.UTC)
	pod := record.Placement{
		Namespace: "shop", Pod: "web-7d4-x2", UID: "u-1", Node: "node-a", PodIP: "10.0.0.5", HostIP: "192.0.2.1",
		Phase: "Running", OwnerKind: "ReplicaSet", OwnerName: "web-7d4", Timestamp: seen, Event: record.EventScheduled,
	}
	moved := record.Placement{Namespace: "shop", Pod: "db-0", UID: "u-2", Node: "node-b", Phase: "Pending",
		OwnerKind: "StatefulSet", OwnerName: "db", Timestamp: seen, Event: record.EventMoved, PreviousNode: "node-a"}
	mirror := record.Placement{Namespace: "kube-system", Pod: "etcd-node-a", Node: "node-a", OwnerKind: "Node", OwnerName: "node-a",
		Timestamp: seen, Event: record.EventSnapshot}
	bare := record.Placement{Namespace: "shop", Pod: "solo", Node: "node-a", Timestamp: seen, Event: record.EventDeleted}
	node := record.Placement{Node: "node-a", Event: record.EventNodeUnknown, Reason: "NodeStatusUnknown", Timestamp: seen,
		NodeLabels: map[string]string{"topology.kubernetes.io/zone": "zone-a"}}

	tests := []struct {
		name   string
		in     record.Placement
		schema Schema
		want   string
	}{
		{"pod, original", pod, Schema{},
			`{"event":"scheduled","host_ip":"192.0.2.1","level":"info","msg":"pod placement","namespace":"shop","node_name":"node-a","owner_kind":"ReplicaSet","owner_name":"web-7d4","phase":"Running","pod_ip":"10.0.0.5","pod_name":"web-7d4-x2","timestamp":"2026-11-26T14:02:03Z","uid":"u-1"}`},
		{"pod, original named", pod, Schema{Set: FieldsOriginal, Cluster: "prod"},
			`{"event":"scheduled","host_ip":"192.0.2.1","level":"info","msg":"pod placement","namespace":"shop","node_name":"node-a","owner_kind":"ReplicaSet","owner_name":"web-7d4","phase":"Running","pod_ip":"10.0.0.5","pod_name":"web-7d4-x2","timestamp":"2026-11-26T14:02:03Z","uid":"u-1"}`},
		{"pod, otel", pod, Schema{Set: FieldsOTel, Cluster: "prod"},
			`{"event":"scheduled","host_ip":"192.0.2.1","k8s.cluster.name":"prod","k8s.namespace.name":"shop","k8s.node.name":"node-a","k8s.pod.name":"web-7d4-x2","k8s.pod.status.phase":"Running","k8s.pod.uid":"u-1","k8s.replicaset.name":"web-7d4","level":"info","msg":"pod placement","owner_kind":"ReplicaSet","pod_ip":"10.0.0.5","timestamp":"2026-11-26T14:02:03Z"}`},
		{"moved StatefulSet pod, original", moved, Schema{},
			`{"event":"moved","host_ip":"","level":"info","msg":"pod placement","namespace":"shop","node_name":"node-b","owner_kind":"StatefulSet","owner_name":"db","phase":"Pending","pod_ip":"","pod_name":"db-0","previous_node":"node-a","timestamp":"2026-11-26T14:02:03Z","uid":"u-2"}`},
		{"moved StatefulSet pod, otel", moved, Schema{Set: FieldsOTel, Cluster: "prod"},
			`{"event":"moved","host_ip":"","k8s.cluster.name":"prod","k8s.namespace.name":"shop","k8s.node.name":"node-b","k8s.pod.name":"db-0","k8s.pod.status.phase":"Pending","k8s.pod.uid":"u-2","k8s.statefulset.name":"db","level":"info","msg":"pod placement","owner_kind":"StatefulSet","pod_ip":"","previous_node":"node-a","timestamp":"2026-11-26T14:02:03Z"}`},
		{"mirror pod, otel: the node is already k8s.node.name", mirror, Schema{Set: FieldsOTel, Cluster: "prod"},
			`{"event":"snapshot","host_ip":"","k8s.cluster.name":"prod","k8s.namespace.name":"kube-system","k8s.node.name":"node-a","k8s.pod.name":"etcd-node-a","k8s.pod.status.phase":"","k8s.pod.uid":"","level":"info","msg":"pod placement","owner_kind":"Node","pod_ip":"","timestamp":"2026-11-26T14:02:03Z"}`},
		{"bare pod, otel: no owner field", bare, Schema{Set: FieldsOTel, Cluster: "prod"},
			`{"event":"deleted","host_ip":"","k8s.cluster.name":"prod","k8s.namespace.name":"shop","k8s.node.name":"node-a","k8s.pod.name":"solo","k8s.pod.status.phase":"","k8s.pod.uid":"","level":"info","msg":"pod placement","owner_kind":"","pod_ip":"","timestamp":"2026-11-26T14:02:03Z"}`},
		{"node, original", node, Schema{},
			`{"event":"node_unknown","labels":{"topology.kubernetes.io/zone":"zone-a"},"level":"info","msg":"node lifecycle","node_name":"node-a","reason":"NodeStatusUnknown","timestamp":"2026-11-26T14:02:03Z"}`},
		{"node, otel", node, Schema{Set: FieldsOTel, Cluster: "prod"},
			`{"event":"node_unknown","k8s.cluster.name":"prod","k8s.node.label.topology.kubernetes.io/zone":"zone-a","k8s.node.name":"node-a","level":"info","msg":"node lifecycle","reason":"NodeStatusUnknown","timestamp":"2026-11-26T14:02:03Z"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			in := make(chan record.Placement, 1)
			down := make(chan record.Placement, 1)
			in <- tt.in
			close(in)
			if err := (&Emitter{Log: NewLogger(&out), Schema: tt.schema}).Run(t.Context(), in, down); err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSuffix(out.String(), "\n"); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestParseFieldSet(t *testing.T) {
	for _, ok := range []string{"original", "otel"} {
		if f, err := ParseFieldSet(ok); err != nil || string(f) != ok {
			t.Errorf("ParseFieldSet(%q) = %q, %v", ok, f, err)
		}
	}
	for _, bad := range []string{"", "OTel", "ecs"} {
		if _, err := ParseFieldSet(bad); err == nil {
			t.Errorf("ParseFieldSet(%q): no error", bad)
		}
	}
}
