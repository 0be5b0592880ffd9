package emit

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/record"
)

func TestEmitterWritesNodeRecords(t *testing.T) {
	var buf bytes.Buffer
	in := make(chan record.Placement, 2)
	out := make(chan record.Placement, 2)
	seen := time.Date(2026, 11, 26, 14, 2, 3, 0, time.UTC)
	in <- record.Placement{Node: "worker-2", Event: record.EventNodeUnknown, Timestamp: seen, Reason: "NodeStatusUnknown"}
	in <- record.Placement{Node: "worker-3", Event: record.EventNodeDeleted, Timestamp: seen}
	close(in)
	if err := (&Emitter{Log: NewLogger(&buf)}).Run(context.Background(), in, out); err != nil {
		t.Fatal(err)
	}
	want := `{"event":"node_unknown","level":"info","msg":"node lifecycle","node_name":"worker-2","reason":"NodeStatusUnknown","timestamp":"2026-11-26T14:02:03Z"}` + "\n" +
		`{"event":"node_deleted","level":"info","msg":"node lifecycle","node_name":"worker-3","reason":"","timestamp":"2026-11-26T14:02:03Z"}` + "\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	if len(out) != 2 {
		t.Errorf("passed on %d records, want 2", len(out))
	}
}
