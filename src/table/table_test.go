package table

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/pod-ashiato/ashiato/src/store"
)

var hour = time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)

func at(h time.Time, sec int) time.Time { return h.Add(time.Duration(sec) * time.Second) }

// sample is an hour with every kind of value: several nodes a pod, owners,
// unknown times, node events of one second, node labels.
func sample(h time.Time) *store.Hour {
	x := store.NewHour(h)
	x.Add(store.PodRef{Namespace: "b", Name: "web-1"}, "n2", at(h, 100))
	x.Add(store.PodRef{Namespace: "b", Name: "web-1"}, "n2", at(h, 3500))
	x.Add(store.PodRef{Namespace: "b", Name: "web-1"}, "n1", at(h, 50))
	x.Add(store.PodRef{Namespace: "a", Name: "db-0"}, "n3", at(h, 7))
	x.Merge(&store.Hour{Start: h, Pods: map[store.PodRef][]store.Seen{{Namespace: "a", Name: "old"}: {{Node: "n1"}}}})
	x.SetOwner(store.PodRef{Namespace: "b", Name: "web-1"}, store.Owner{Kind: "ReplicaSet", Name: "web"})
	x.AddNodeEvent(store.NodeEvent{Node: "n2", At: at(h, 60), Event: "node_not_ready", Reason: "KubeletDown"})
	x.AddNodeEvent(store.NodeEvent{Node: "n2", At: at(h, 60), Event: "node_ready"})
	x.AddNodeEvent(store.NodeEvent{Node: "n1", At: at(h, 900), Event: "node_cordoned"})
	x.SetNodeLabels("n2", map[string]string{"topology.kubernetes.io/zone": "z1", "node.kubernetes.io/instance-type": "m5", "a": "b"})
	return x
}

func read[T any](t *testing.T, raw []byte) []T {
	t.Helper()
	rows, err := parquet.Read[T](bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatalf("reading the file back: %v", err)
	}
	return rows
}

func TestEncodeRows(t *testing.T) {
	prev := store.NewHour(hour.Add(-time.Hour))
	prev.Add(store.PodRef{Namespace: "b", Name: "web-1"}, "n2", at(prev.Start, 3590)) // in the last step: continues
	prev.Add(store.PodRef{Namespace: "a", Name: "db-0"}, "n3", at(prev.Start, 3000))  // before it: does not
	files, err := Encode(sample(hour), EdgeOf(prev))
	if err != nil {
		t.Fatal(err)
	}
	wantP := []Placement{
		{Namespace: "a", Pod: "db-0", Node: "n3", FirstSeen: at(hour, 7), LastSeen: at(hour, 7), HourStart: hour},
		{Namespace: "a", Pod: "old", Node: "n1", HourStart: hour},
		{Namespace: "b", Pod: "web-1", Node: "n1", OwnerKind: "ReplicaSet", OwnerName: "web", FirstSeen: at(hour, 50), LastSeen: at(hour, 50), HourStart: hour},
		{Namespace: "b", Pod: "web-1", Node: "n2", OwnerKind: "ReplicaSet", OwnerName: "web", FirstSeen: at(hour, 100), LastSeen: at(hour, 3500), Continued: true, HourStart: hour},
	}
	if got := read[Placement](t, files[Placements]); !equalRows(got, wantP) {
		t.Errorf("placements:\n got %+v\nwant %+v", got, wantP)
	}
	labels := map[string]string{"topology.kubernetes.io/zone": "z1", "node.kubernetes.io/instance-type": "m5", "a": "b"}
	wantE := []NodeEvent{
		{Node: "n1", Event: "node_cordoned", Timestamp: at(hour, 900), Seq: 2},
		{Node: "n2", Event: "node_not_ready", Reason: "KubeletDown", Timestamp: at(hour, 60), Seq: 0, Labels: labels},
		{Node: "n2", Event: "node_ready", Timestamp: at(hour, 60), Seq: 1, Labels: labels},
	}
	if got := read[NodeEvent](t, files[NodeEvents]); !equalRows(got, wantE) {
		t.Errorf("node events:\n got %+v\nwant %+v", got, wantE)
	}
}

// equalRows compares rows with times by instant and empty maps as nil.
func equalRows[T any](got, want []T) bool {
	return fmt.Sprintf("%v", normal(got)) == fmt.Sprintf("%v", normal(want))
}

func normal[T any](rows []T) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		v := reflect.ValueOf(&r).Elem()
		for j := range v.NumField() {
			switch f := v.Field(j); x := f.Interface().(type) {
			case time.Time:
				if !x.IsZero() {
					f.Set(reflect.ValueOf(x.UTC()))
				}
			case map[string]string:
				if len(x) == 0 {
					f.Set(reflect.Zero(f.Type()))
				}
			}
		}
		out[i] = r
	}
	return out
}

// TestEncodeSameBytes: the same hour gives the same bytes, however its maps
// iterate (Go randomises map order on every range).
func TestEncodeSameBytes(t *testing.T) {
	first, err := Encode(sample(hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := Encode(sample(hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range Tables {
			if !bytes.Equal(first[table], again[table]) {
				t.Fatalf("%s: two encodes of one hour differ", table)
			}
		}
	}
}

// TestEncodeEmpty: a table without rows is a file without rows, which reads.
func TestEncodeEmpty(t *testing.T) {
	h := store.NewHour(hour)
	h.AddNodeEvent(store.NodeEvent{Node: "n1", At: hour, Event: "node_added"})
	files, err := Encode(h, nil)
	if err != nil || len(files) != 2 {
		t.Fatalf("hour of one node event: %d files, err %v; want both", len(files), err)
	}
	if rows := read[Placement](t, files[Placements]); len(rows) != 0 {
		t.Errorf("placements: %d rows, want none", len(rows))
	}
	if rows := read[NodeEvent](t, files[NodeEvents]); len(rows) != 1 {
		t.Errorf("node events: %d rows, want 1", len(rows))
	}
}

// TestContinued: only the hour just before, the same node, the last step.
func TestContinued(t *testing.T) {
	ref := store.PodRef{Namespace: "a", Name: "p"}
	for _, tc := range []struct {
		name     string
		prevHour time.Time
		node     string
		lastSec  int
		want     bool
	}{
		{"last step", hour.Add(-time.Hour), "n1", 3600 - 300, true},
		{"hour's last second", hour.Add(-time.Hour), "n1", 3599, true},
		{"just before the last step", hour.Add(-time.Hour), "n1", 3600 - 301, false},
		{"another node", hour.Add(-time.Hour), "n2", 3599, false},
		{"two hours before", hour.Add(-2 * time.Hour), "n1", 3599, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev := store.NewHour(tc.prevHour)
			prev.Add(ref, tc.node, at(tc.prevHour, tc.lastSec))
			h := store.NewHour(hour)
			h.Add(ref, "n1", at(hour, 20))
			files, err := Encode(h, EdgeOf(prev))
			if err != nil {
				t.Fatal(err)
			}
			if got := read[Placement](t, files[Placements])[0].Continued; got != tc.want {
				t.Errorf("continued = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestManyRowGroups: an hour beyond one row group reads back whole and in
// order.
func TestManyRowGroups(t *testing.T) {
	h := store.NewHour(hour)
	const n = RowGroupRows + 1500
	for i := range n {
		h.Add(store.PodRef{Namespace: "ns", Name: fmt.Sprintf("p%06d", i)}, fmt.Sprintf("node-%d", i%50), at(hour, i%3600))
	}
	var buf bytes.Buffer
	count, err := EncodePlacements(&buf, h, nil)
	if err != nil || count != n {
		t.Fatalf("EncodePlacements = %d, %v; want %d rows", count, err, n)
	}
	f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if g := len(f.RowGroups()); g != 2 {
		t.Errorf("%d row groups, want 2", g)
	}
	rows := read[Placement](t, buf.Bytes())
	for i, r := range rows {
		if want := fmt.Sprintf("p%06d", i); r.Pod != want {
			t.Fatalf("row %d is %s, want %s", i, r.Pod, want)
		}
	}
}

func TestSchema(t *testing.T) {
	files, err := Encode(sample(hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(files[Placements]), int64(len(files[Placements])))
	if err != nil {
		t.Fatal(err)
	}
	want := `message Placement {
	required binary namespace (STRING);
	required binary pod (STRING);
	required binary node (STRING);
	required binary owner_kind (STRING);
	required binary owner_name (STRING);
	optional int64 first_seen (TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS));
	optional int64 last_seen (TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS));
	required boolean continued;
	required int64 hour_start (TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS));
}`
	if got := f.Schema().String(); got != want {
		t.Errorf("schema:\n%s\nwant\n%s", got, want)
	}
	f2, err := parquet.OpenFile(bytes.NewReader(files[NodeEvents]), int64(len(files[NodeEvents])))
	if err != nil {
		t.Fatal(err)
	}
	want = `message NodeEvent {
	required binary node (STRING);
	required binary event (STRING);
	required binary reason (STRING);
	required int64 timestamp (TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS));
	required int32 seq (INT(32,true));
	required group labels (MAP) {
		repeated group key_value {
			required binary key (STRING);
			required binary value (STRING);
		}
	}
}`
	if got := f2.Schema().String(); got != want {
		t.Errorf("schema:\n%s\nwant\n%s", got, want)
	}
	if got := f.Metadata().CreatedBy; got != "pod-ashiato-table version v1" {
		t.Errorf("created_by %q", got)
	}
}

func TestKey(t *testing.T) {
	for _, tc := range []struct{ prefix, want string }{
		{"", "tables/v1/placements/cluster=prod/date=2026-03-14/hour=15/part-0.parquet"},
		{"hist/", "hist/tables/v1/placements/cluster=prod/date=2026-03-14/hour=15/part-0.parquet"},
		{"a/b", "a/b/tables/v1/placements/cluster=prod/date=2026-03-14/hour=15/part-0.parquet"},
	} {
		if got := Key(tc.prefix, Placements, "prod", hour.Add(59*time.Minute)); got != tc.want {
			t.Errorf("Key(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
	rest := "date=2026-03-14/hour=15/part-0.parquet"
	if got, ok := ParseHourFolder(rest); !ok || !got.Equal(hour) {
		t.Errorf("ParseHourFolder(%q) = %v, %v", rest, got, ok)
	}
	for _, bad := range []string{"date=2026-03-14/hour=5/part-0.parquet", "date=2026-3-14/hour=15/x", "date=2026-03-14/", "x"} {
		if _, ok := ParseHourFolder(bad); ok {
			t.Errorf("ParseHourFolder(%q) ok", bad)
		}
	}
}
