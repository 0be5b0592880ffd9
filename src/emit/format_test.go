package emit

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/pod-ashiato/ashiato/src/record"
)

// reference is the line logrus's JSONFormatter writes for r, as the emitter
// wrote records before Formatter: the compatibility Formatter keeps.
func reference(t testing.TB, r record.Placement) string {
	t.Helper()
	var buf bytes.Buffer
	l := NewLogger(&buf)
	l.Formatter = &logrus.JSONFormatter{DisableTimestamp: true, DisableHTMLEscape: true}
	l.WithFields(Fields(r)).Info(Message)
	return buf.String()
}

func formatted(t testing.TB, r record.Placement) string {
	t.Helper()
	var buf bytes.Buffer
	l := NewLogger(&buf)
	l.WithField(recordField, &r).Info(Message)
	return buf.String()
}

func TestFormatterWritesWhatJSONFormatterWrote(t *testing.T) {
	start := time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC)
	jst := time.FixedZone("JST", 9*3600)
	tests := []struct {
		name string
		r    record.Placement
	}{
		{"full, moved", record.Placement{
			Namespace: "shop", Pod: "web-0", UID: "u-1", Node: "node-a", PodIP: "10.0.0.5", HostIP: "192.0.2.1",
			Phase: "Running", OwnerKind: "StatefulSet", OwnerName: "web", StartTime: start, Timestamp: start.In(jst),
			Event: record.EventMoved, PreviousNode: "node-b",
			Conditions: []record.Condition{{Type: "Ready", Status: "True", LastTransitionTime: start}, {Type: "PodScheduled", Status: "False"}},
		}},
		{"empty record", record.Placement{}},
		{"pending, no node", record.Placement{Namespace: "shop", Pod: "web-1", Phase: "Pending", Timestamp: start, Event: record.EventSnapshot}},
		{"nanoseconds and zones in conditions", record.Placement{Pod: "p", Timestamp: start.Add(123456789),
			StartTime:  start.Add(999 * time.Millisecond).In(jst),
			Conditions: []record.Condition{{Type: "Ready", LastTransitionTime: start.Add(1500 * time.Millisecond).In(jst)}}}},
		{"strings to escape", record.Placement{Namespace: `q"uote\back`, Pod: "tab\tnl\ncr\rbell\x07", Node: "<html>&amp;",
			OwnerName: "ünïcode 日本", OwnerKind: "line\u2028para\u2029", Phase: "bad\xffutf8", UID: "\x00\x1f\x7f", Event: "odd/event"}},
		{"year past 9999 falls back", record.Placement{Pod: "p", Conditions: []record.Condition{{Type: "T", LastTransitionTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, got := reference(t, tt.r), formatted(t, tt.r)
			if got != want {
				t.Errorf("Formatter wrote\n%s\nJSONFormatter wrote\n%s", got, want)
			}
		})
	}
}

// Random records, drawn from strings that need every kind of escaping, come
// out as the JSONFormatter writes them.
func TestFormatterMatchesJSONFormatterOnRandomRecords(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"", "a", "web-7d9f8c6b5-x2x9q", "10.244.2.17", `"`, `\`, "\n", "\x01", "<", ">", "&", "é", "\u2028", "\xc3", "\x7f", " "}
	str := func() string {
		var s string
		for range rng.IntN(4) {
			s += pieces[rng.IntN(len(pieces))]
		}
		return s
	}
	tm := func() time.Time {
		if rng.IntN(4) == 0 {
			return time.Time{}
		}
		return time.Unix(rng.Int64N(4e9), rng.Int64N(2)*rng.Int64N(1e9)).In(time.FixedZone("z", (rng.IntN(48)-24)*1800))
	}
	for i := range 2000 {
		r := record.Placement{Namespace: str(), Pod: str(), UID: str(), Node: str(), PodIP: str(), HostIP: str(),
			Phase: str(), OwnerKind: str(), OwnerName: str(), StartTime: tm(), Timestamp: tm(),
			Event: record.Event(str()), PreviousNode: str()}
		for range rng.IntN(3) {
			r.Conditions = append(r.Conditions, record.Condition{Type: str(), Status: str(), LastTransitionTime: tm()})
		}
		if want, got := reference(t, r), formatted(t, r); got != want {
			t.Fatalf("record %d: Formatter wrote\n%q\nJSONFormatter wrote\n%q", i, got, want)
		}
	}
}

// An entry with more than the record (a hook's field) is written by the
// JSONFormatter with the record's fields and the extra one.
func TestFormatterFallsBackForOtherEntries(t *testing.T) {
	var buf bytes.Buffer
	l := NewLogger(&buf)
	r := record.Placement{Pod: "p", Namespace: "n"}
	l.WithField(recordField, &r).WithField("extra", 1).Info(Message)
	want := `{"event":"","extra":1,"host_ip":"","level":"info","msg":"pod placement","namespace":"n","node_name":"","owner_kind":"","owner_name":"","phase":"","pod_ip":"","pod_name":"p","timestamp":"0001-01-01T00:00:00Z","uid":""}` + "\n"
	if buf.String() != want {
		t.Errorf("got  %s\nwant %s", buf.String(), want)
	}
	buf.Reset()
	l.WithField("other", "x").Warn("not a record")
	if want := `{"level":"warning","msg":"not a record","other":"x"}` + "\n"; buf.String() != want {
		t.Errorf("got  %s\nwant %s", buf.String(), want)
	}
}

func benchmarkRecord() record.Placement {
	start := time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC)
	return record.Placement{
		Namespace: "shop", Pod: "web-7d9f8c6b5-x2x9q", UID: "9d9b1e21-dea7-4ce2-8f58-15cfaf577eb2", Node: "worker-2",
		PodIP: "10.244.2.17", HostIP: "172.18.0.3", Phase: "Running", OwnerKind: "ReplicaSet", OwnerName: "web-7d9f8c6b5",
		StartTime: start, Timestamp: start, Event: record.EventSnapshot,
		Conditions: []record.Condition{{Type: "Ready", Status: "True", LastTransitionTime: start}},
	}
}

// go test -bench . -benchmem ./src/emit compares the two ways of writing a
// record line (figures in docs/benchmarks.md).
func BenchmarkFormatter(b *testing.B) {
	r := benchmarkRecord()
	l := NewLogger(io.Discard)
	e := logrus.NewEntry(l)
	e.Data = logrus.Fields{recordField: &r}
	for b.Loop() {
		e.Info(Message)
	}
}

func BenchmarkJSONFormatter(b *testing.B) {
	r := benchmarkRecord()
	l := NewLogger(io.Discard)
	l.Formatter = &logrus.JSONFormatter{DisableTimestamp: true, DisableHTMLEscape: true}
	for b.Loop() {
		l.WithFields(Fields(r)).Info(Message)
	}
}
