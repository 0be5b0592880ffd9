package table

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/pod-ashiato/ashiato/src/store"
)

// RowGroupRows bounds a row group: an engine reads row groups in parallel,
// and a writer holds one in memory before it is compressed.
const RowGroupRows = 1 << 16

// batch is the rows handed to the writer at a time.
const batch = 1024

// Files are an hour's files, by table name: one of each table.
type Files map[string][]byte

// Edge is the stays of one hour that reach its last store.LastSeenStep: a
// placement of the next hour on the same pod and node continues one of them
// (see "placements" in the package documentation). It keeps no reference
// to the hour it was taken from, which can be let go.
type Edge struct {
	hour  time.Time
	stays map[stay]struct{}
}

// stay is a pod and node, hashed (FNV-128a of namespace, name and node, each
// with its length): 16 bytes a pod rather than copies of its names, and two
// stays share a hash with a chance of about 2^-128 × pods².
type stay [16]byte

func stayOf(ref store.PodRef, node string) stay {
	h := fnv.New128a()
	var n [8]byte
	for _, s := range []string{ref.Namespace, ref.Name, node} {
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		io.WriteString(h, s)
	}
	var out stay
	h.Sum(out[:0])
	return out
}

// Hour is the hour the edge was taken from.
func (e *Edge) Hour() time.Time { return e.hour }

// EdgeOf is h's Edge.
func EdgeOf(h *store.Hour) *Edge {
	e := &Edge{hour: h.Start, stays: map[stay]struct{}{}}
	edge := h.Start.Add(time.Hour - store.LastSeenStep)
	for ref, seen := range h.Pods {
		for _, s := range seen {
			if !s.Last.IsZero() && !s.Last.Before(edge) {
				e.stays[stayOf(ref, s.Node)] = struct{}{}
			}
		}
	}
	return e
}

// continues reports whether s, a placement of ref in hour, continues a stay
// of e: e is the hour before's, and s has known times.
func (e *Edge) continues(hour time.Time, ref store.PodRef, s store.Seen) bool {
	if e == nil || s.First.IsZero() || !e.hour.Add(time.Hour).Equal(hour) {
		return false
	}
	_, ok := e.stays[stayOf(ref, s.Node)]
	return ok
}

// Encode is the hour's files: EncodePlacements and EncodeNodeEvents. prev
// is the Edge of the hour before, nil when it has nothing stored.
func Encode(h *store.Hour, prev *Edge) (Files, error) {
	var p, e bytes.Buffer
	if _, err := EncodePlacements(&p, h, prev); err != nil {
		return nil, err
	}
	if _, err := EncodeNodeEvents(&e, h); err != nil {
		return nil, err
	}
	return Files{Placements: p.Bytes(), NodeEvents: e.Bytes()}, nil
}

// writerOptions are the fixed settings of every file: nothing in them
// depends on the time, the host or the binary's version.
func writerOptions(table string) []parquet.WriterOption {
	return []parquet.WriterOption{
		parquet.Compression(&zstdCodec{}),
		parquet.MaxRowsPerRowGroup(RowGroupRows),
		// As the spec spells it ("<application> version <version>"), with
		// the layout's version, not the binary's: a new release writes the
		// same bytes.
		&parquet.WriterConfig{CreatedBy: "pod-ashiato-table version " + Version},
		parquet.KeyValueMetadata("pod-ashiato.table", table+"/"+Version),
	}
}

// EncodePlacements writes the hour's placements table to w and returns its
// row count (a file without rows when the hour has none). prev is the Edge of the hour
// before (nil: no row continues).
func EncodePlacements(w io.Writer, h *store.Hour, prev *Edge) (int, error) {
	refs := h.Refs()
	pw := parquet.NewGenericWriter[Placement](w, writerOptions(Placements)...)
	rows := make([]Placement, 0, batch)
	n := 0
	flush := func() error {
		_, err := pw.Write(rows)
		n += len(rows)
		rows = rows[:0]
		return err
	}
	for _, ref := range refs {
		owner := h.Owners[ref]
		for _, s := range h.Pods[ref] { // first seen, then node (store.Hour)
			rows = append(rows, Placement{
				Namespace: ref.Namespace, Pod: ref.Name, Node: s.Node,
				OwnerKind: owner.Kind, OwnerName: owner.Name,
				FirstSeen: s.First, LastSeen: s.Last,
				Continued: prev.continues(h.Start, ref, s),
				HourStart: h.Start,
			})
			if len(rows) == batch {
				if err := flush(); err != nil {
					return 0, fmt.Errorf("encoding the placements of %s: %w", h.Start.Format(time.RFC3339), err)
				}
			}
		}
	}
	if err := flush(); err != nil {
		return 0, fmt.Errorf("encoding the placements of %s: %w", h.Start.Format(time.RFC3339), err)
	}
	if err := pw.Close(); err != nil {
		return 0, fmt.Errorf("encoding the placements of %s: %w", h.Start.Format(time.RFC3339), err)
	}
	return n, nil
}

// EncodeNodeEvents writes the hour's node_events table to w and returns its
// row count (a file without rows when the hour has none).
func EncodeNodeEvents(w io.Writer, h *store.Hour) (int, error) {
	rows := make([]NodeEvent, len(h.Nodes))
	for i, e := range h.Nodes { // time order, a second's events as recorded
		rows[i] = NodeEvent{Node: e.Node, Event: e.Event, Reason: e.Reason, Timestamp: e.At, Seq: int32(i),
			Labels: h.NodeLabels[e.Node]}
	}
	sortNodeEvents(rows)
	pw := parquet.NewGenericWriter[NodeEvent](w, writerOptions(NodeEvents)...)
	if _, err := pw.Write(rows); err != nil {
		return 0, fmt.Errorf("encoding the node events of %s: %w", h.Start.Format(time.RFC3339), err)
	}
	if err := pw.Close(); err != nil {
		return 0, fmt.Errorf("encoding the node events of %s: %w", h.Start.Format(time.RFC3339), err)
	}
	return len(rows), nil
}
