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
	e.add(h)
	return e
}

// add adds the stays of h, the edge's hour or a part of it.
func (e *Edge) add(h *store.Hour) {
	edge := h.Start.Add(time.Hour - store.LastSeenStep)
	for ref, seen := range h.Pods {
		for _, s := range seen {
			if !s.Last.IsZero() && !s.Last.Before(edge) {
				e.stays[stayOf(ref, s.Node)] = struct{}{}
			}
		}
	}
}

// EdgeOfParts is the Edge of an hour read in parts (store.DecodePart with
// Only.Namespaces), each handed to add by parts.
func EdgeOfParts(hour time.Time, parts func(add func(*store.Hour)) error) (*Edge, error) {
	e := &Edge{hour: hour, stays: map[stay]struct{}{}}
	err := parts(e.add)
	return e, err
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
	pw := NewPlacementsWriter(w, h.Start, prev)
	if err := pw.Write(h); err != nil {
		return 0, err
	}
	return pw.Close()
}

// PlacementsWriter writes an hour's placements table from parts of the hour
// (store.DecodePart with Only.Namespaces, a range of namespaces at a time,
// in order), so that a large hour is never decoded whole: the file is the
// same bytes as EncodePlacements of the whole hour. It takes the hour's
// Edge as it goes.
type PlacementsWriter struct {
	hour time.Time
	prev *Edge
	edge *Edge
	pw   *parquet.GenericWriter[Placement]
	rows []Placement
	n    int
	last *store.PodRef // the last pod written: parts must come in order
}

// NewPlacementsWriter starts the placements table of hour on w; prev is
// the Edge of the hour before (nil: no row continues).
func NewPlacementsWriter(w io.Writer, hour time.Time, prev *Edge) *PlacementsWriter {
	return &PlacementsWriter{hour: hour, prev: prev, edge: &Edge{hour: hour, stays: map[stay]struct{}{}},
		pw: parquet.NewGenericWriter[Placement](w, writerOptions(Placements)...), rows: make([]Placement, 0, batch)}
}

// Write adds the placements of h, a part of the hour whose pods all sort
// after those of the parts written before.
func (p *PlacementsWriter) Write(h *store.Hour) error {
	if !h.Start.Equal(p.hour) {
		return fmt.Errorf("encoding the placements of %s: a part of %s", p.hour.Format(time.RFC3339), h.Start.Format(time.RFC3339))
	}
	refs := h.Refs()
	if len(refs) > 0 && p.last != nil && !p.last.Less(refs[0]) {
		return fmt.Errorf("encoding the placements of %s: part out of order (%s after %s)", p.hour.Format(time.RFC3339), refs[0], *p.last)
	}
	p.edge.add(h)
	for _, ref := range refs {
		owner := h.Owners[ref]
		for _, s := range h.Pods[ref] { // first seen, then node (store.Hour)
			p.rows = append(p.rows, Placement{
				Namespace: ref.Namespace, Pod: ref.Name, Node: s.Node,
				OwnerKind: owner.Kind, OwnerName: owner.Name,
				FirstSeen: s.First, LastSeen: s.Last,
				Continued: p.prev.continues(h.Start, ref, s),
				HourStart: h.Start,
			})
			if len(p.rows) == batch {
				if err := p.flush(); err != nil {
					return err
				}
			}
		}
	}
	if len(refs) > 0 {
		p.last = &refs[len(refs)-1]
	}
	return p.flush()
}

func (p *PlacementsWriter) flush() error {
	_, err := p.pw.Write(p.rows)
	p.n += len(p.rows)
	clear(p.rows) // let the part's names go
	p.rows = p.rows[:0]
	if err != nil {
		return fmt.Errorf("encoding the placements of %s: %w", p.hour.Format(time.RFC3339), err)
	}
	return nil
}

// Close ends the file and returns its row count.
func (p *PlacementsWriter) Close() (int, error) {
	if err := p.pw.Close(); err != nil {
		return 0, fmt.Errorf("encoding the placements of %s: %w", p.hour.Format(time.RFC3339), err)
	}
	return p.n, nil
}

// Edge is the Edge of the parts written: the hour's, once all are.
func (p *PlacementsWriter) Edge() *Edge { return p.edge }

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
