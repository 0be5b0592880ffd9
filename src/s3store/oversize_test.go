package s3store

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// TestOversizedObjectIsAnUnreadableHour: an object over the size a read
// takes is not an error that stops everything (history failed, the recorder
// exited and crash-looped until the hour turned): readers warn once about it
// and answer from the rest, and the sink writes the hour anew over it, as it
// does over a body that is not a ConfigMap.
func TestOversizedObjectIsAnUnreadableHour(t *testing.T) {
	srv, s := newFake(t, "prod")
	hour14 := hour15.Add(-time.Hour)
	if err := feed(t, newSink(s), []record.Placement{placement("x", "n1", hour14.Add(time.Minute))}); err != nil {
		t.Fatal(err)
	}
	srv.Put(bucket, "ashiato/prod/2026/03/14/15/0", bytes.Repeat([]byte("x"), maxBody+1))
	name := store.NameFor(hour15)

	got, err := s.Get(t.Context(), name)
	if err != nil || got == nil || !errors.Is(got.Unreadable, storeio.ErrTooLarge) || got.Version == "" || len(got.Data)+len(got.BinaryData) > 0 {
		t.Fatalf("Get = %+v, %v; want the shard with its ETag, no values, Unreadable wrapping ErrTooLarge", got, err)
	}

	r := &history.Reader{Store: s, Retry: quick}
	w := history.Window{Since: hour14, Until: hour15.Add(30 * time.Minute)}
	x := store.PodRef{Namespace: "shop", Name: "x"}
	readers := []struct {
		name string
		read func() (rows int, warnings []store.Warning, err error)
	}{
		{"Read", func() (int, []store.Warning, error) {
			hours, warnings, err := r.Read(t.Context(), w)
			return len(history.Pod(hours, x, w)), warnings, err
		}},
		{"PodRows", func() (int, []store.Warning, error) {
			rows, warnings, err := r.PodRows(t.Context(), x, w)
			return len(rows), warnings, err
		}},
		{"NodeRows", func() (int, []store.Warning, error) {
			rows, warnings, err := r.NodeRows(t.Context(), "n1", w)
			return len(rows), warnings, err
		}},
	}
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			rows, warnings, err := rd.read()
			if err != nil || rows != 1 || len(warnings) != 1 || warnings[0].Object != name || !strings.Contains(warnings[0].Reason, "larger than") {
				t.Fatalf("%d rows, warnings %+v, %v; want x's row and one warning about %s", rows, warnings, err, name)
			}
		})
	}

	if err := feed(t, newSink(s), []record.Placement{placement("a", "n2", hour15.Add(time.Minute))}); err != nil {
		t.Fatalf("the sink over an oversized object: %v, want the hour written anew", err)
	}
	pods, warnings := storedPods(t, s, hour15)
	if len(warnings) > 0 || len(pods[store.PodRef{Namespace: "shop", Name: "a"}]) != 1 {
		t.Fatalf("after the sink the hour holds %v, warnings %v; want shop/a and no warning", pods, warnings)
	}
}
