package emit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/record"
)

func TestEmitterWritesOneJSONLinePerRecord(t *testing.T) {
	start := time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC)
	seen := time.Date(2026, 11, 26, 14, 2, 3, 0, time.FixedZone("JST", 9*3600))
	full := record.Placement{
		Namespace: "shop", Pod: "web-0", UID: "u-1", Node: "node-a", PodIP: "10.0.0.5", HostIP: "192.0.2.1",
		Phase: "Running", OwnerKind: "StatefulSet", OwnerName: "web", StartTime: start, Timestamp: seen,
		Event: record.EventMoved, PreviousNode: "node-b",
		Conditions: []record.Condition{{Type: "Ready", Status: "True", LastTransitionTime: start}},
	}
	pending := record.Placement{Namespace: "shop", Pod: "web-1", Phase: "Pending", Timestamp: seen, Event: record.EventSnapshot}

	tests := []struct {
		name string
		in   record.Placement
		want map[string]any
	}{
		{"full record", full, map[string]any{
			"namespace": "shop", "pod_name": "web-0", "node_name": "node-a", "pod_ip": "10.0.0.5", "phase": "Running",
			"timestamp": "2026-11-26T05:02:03Z", "uid": "u-1", "host_ip": "192.0.2.1", "owner_kind": "StatefulSet",
			"owner_name": "web", "start_time": "2026-11-26T13:00:00Z", "event": "moved", "previous_node": "node-b",
			"conditions": []any{map[string]any{"type": "Ready", "status": "True", "last_transition_time": "2026-11-26T13:00:00Z"}},
			"level":      "info", "msg": Message,
		}},
		{"unscheduled pod omits what it lacks", pending, map[string]any{
			"namespace": "shop", "pod_name": "web-1", "node_name": "", "pod_ip": "", "phase": "Pending",
			"timestamp": "2026-11-26T05:02:03Z", "uid": "", "host_ip": "", "owner_kind": "", "owner_name": "",
			"event": "snapshot", "level": "info", "msg": Message,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			in := make(chan record.Placement, 1)
			out := make(chan record.Placement, 1)
			in <- tt.in
			close(in)
			if err := (&Emitter{Log: NewLogger(&buf)}).Run(t.Context(), in, out); err != nil {
				t.Fatal(err)
			}
			if got, ok := <-out; !ok || got.Pod != tt.in.Pod {
				t.Errorf("record not passed downstream: %+v", got)
			}
			if _, open := <-out; open {
				t.Error("out not closed")
			}
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			if len(lines) != 1 {
				t.Fatalf("got %d lines, want 1: %q", len(lines), buf.String())
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
				t.Fatalf("line is not JSON: %v: %s", err, lines[0])
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(tt.want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("record\n got %s\nwant %s", gotJSON, wantJSON)
			}
		})
	}
}

func TestEmitterFlushesBufferedOutput(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriterSize(&buf, 1<<20)
	in := make(chan record.Placement)
	out := make(chan record.Placement, 10)
	done := make(chan error)
	go func() { done <- (&Emitter{Log: NewLogger(w)}).Run(t.Context(), in, out) }()

	in <- record.Placement{Pod: "a"}
	<-out // the emitter has written and flushed "a" before passing it on
	if !strings.Contains(buf.String(), `"pod_name":"a"`) {
		t.Fatalf("first record still buffered while the input is idle: %q", buf.String())
	}
	in <- record.Placement{Pod: "b"}
	close(in)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Count(buf.String(), "\n") != 2 {
		t.Fatalf("want 2 lines after close, got %q", buf.String())
	}
}

// A StoreOnly record is passed on to the store but not printed.
func TestEmitterDoesNotPrintStoreOnly(t *testing.T) {
	var buf bytes.Buffer
	in := make(chan record.Placement, 3)
	out := make(chan record.Placement, 3)
	in <- record.Placement{Pod: "a", Event: record.EventSnapshot}
	in <- record.Placement{Pod: "b", Event: record.EventSnapshot, StoreOnly: true}
	in <- record.Placement{Pod: "c", Event: record.EventScheduled}
	close(in)
	if err := (&Emitter{Log: NewLogger(&buf)}).Run(t.Context(), in, out); err != nil {
		t.Fatal(err)
	}
	var passed []string
	for r := range out {
		passed = append(passed, r.Pod)
	}
	if strings.Join(passed, ",") != "a,b,c" {
		t.Errorf("passed on %v, want a,b,c", passed)
	}
	if strings.Count(buf.String(), "\n") != 2 || strings.Contains(buf.String(), `"pod_name":"b"`) {
		t.Errorf("printed %q, want a and c only", buf.String())
	}
}
