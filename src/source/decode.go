package source

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/pod-ashiato/ashiato/src/record"
)

// podDecoder reads the pods of a PodList response one at a time, as the bytes
// arrive, so that a list of any length costs the memory of one pod. The
// client-go way (decode the whole body into a PodList, then walk it) holds the
// body and every decoded pod at once (docs/benchmarks.md has both peaks).
//
// It reads the API server's protobuf envelope (the 4-byte "k8s\x00" prefix
// and a runtime.Unknown whose raw bytes are the PodList, see
// k8s.io/apimachinery/pkg/runtime/serializer/protobuf), and falls back to
// JSON, token by token, for a server that answers JSON.
type podDecoder interface {
	// next decodes the next pod into its snapshot record, as FromPod makes
	// it, or returns io.EOF after the last one.
	next(seen time.Time) (record.Placement, error)
}

// protobufPrefix starts every protobuf-encoded object the API server sends.
var protobufPrefix = []byte{'k', '8', 's', 0}

// newPodDecoder chooses the decoder from the body's first bytes.
func newPodDecoder(body io.Reader) (podDecoder, error) {
	r := bufio.NewReaderSize(body, 64<<10)
	head, err := r.Peek(len(protobufPrefix))
	if err != nil {
		return nil, fmt.Errorf("reading the pod list: %w", noEOF(err))
	}
	if bytes.Equal(head, protobufPrefix) {
		_, _ = r.Discard(len(protobufPrefix))
		return newProtobufDecoder(r)
	}
	return newJSONDecoder(r)
}

// noEOF turns an early end of the body into io.ErrUnexpectedEOF: the list
// was cut short (a retryable failure), it did not end.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Protobuf field numbers and wire types used below (from the .proto files of
// k8s.io/apimachinery runtime.Unknown and k8s.io/api core/v1 PodList).
const (
	unknownRaw   = 2 // runtime.Unknown.raw: the PodList
	podListItems = 2 // PodList.items: one Pod each

	wireVarint = 0
	wireI64    = 1
	wireBytes  = 2
	wireI32    = 5
)

// protobufDecoder walks the envelope's fields up to the raw PodList, then the
// PodList's fields, decoding each item and skipping the rest (the list's
// metadata).
type protobufDecoder struct {
	r    *bufio.Reader
	left uint64 // bytes of the PodList not read yet
	buf  []byte // one item's bytes, reused
	pods protoPod
}

func newProtobufDecoder(r *bufio.Reader) (*protobufDecoder, error) {
	d := &protobufDecoder{r: r}
	for {
		field, wire, err := d.tag(nil)
		if err != nil {
			return nil, fmt.Errorf("reading the pod list envelope: %w", noEOF(err))
		}
		if field == unknownRaw && wire == wireBytes {
			if d.left, err = binary.ReadUvarint(r); err != nil {
				return nil, fmt.Errorf("reading the pod list envelope: %w", noEOF(err))
			}
			return d, nil
		}
		if err := d.skip(wire, nil); err != nil {
			return nil, fmt.Errorf("reading the pod list envelope: %w", noEOF(err))
		}
	}
}

func (d *protobufDecoder) next(seen time.Time) (record.Placement, error) {
	for d.left > 0 {
		field, wire, err := d.tag(&d.left)
		if err != nil {
			return record.Placement{}, noEOF(err)
		}
		if field != podListItems || wire != wireBytes {
			if err := d.skip(wire, &d.left); err != nil {
				return record.Placement{}, noEOF(err)
			}
			continue
		}
		n, err := d.uvarint(&d.left)
		if err != nil {
			return record.Placement{}, noEOF(err)
		}
		if n > d.left {
			return record.Placement{}, fmt.Errorf("pod list: an item of %d bytes overruns the list", n)
		}
		if uint64(cap(d.buf)) < n {
			d.buf = make([]byte, n)
		}
		d.buf = d.buf[:n]
		if _, err := io.ReadFull(d.r, d.buf); err != nil {
			return record.Placement{}, noEOF(err)
		}
		d.left -= n
		// The record copies the strings it keeps out of buf, so buf is reused.
		return d.pods.record(d.buf, seen, record.EventSnapshot)
	}
	return record.Placement{}, io.EOF
}

// tag reads a field's key, counting its bytes off *left when left is set.
func (d *protobufDecoder) tag(left *uint64) (field uint64, wire byte, err error) {
	key, err := d.uvarint(left)
	if err != nil {
		return 0, 0, err
	}
	return key >> 3, byte(key & 7), nil
}

func (d *protobufDecoder) uvarint(left *uint64) (uint64, error) {
	counter := &countingByteReader{r: d.r}
	v, err := binary.ReadUvarint(counter)
	if left != nil {
		if counter.n > *left {
			return 0, errors.New("pod list: a field overruns the list")
		}
		*left -= counter.n
	}
	return v, err
}

// skip passes over a field's value of the given wire type.
func (d *protobufDecoder) skip(wire byte, left *uint64) error {
	var n uint64
	switch wire {
	case wireVarint:
		_, err := d.uvarint(left)
		return err
	case wireI64:
		n = 8
	case wireI32:
		n = 4
	case wireBytes:
		var err error
		if n, err = d.uvarint(left); err != nil {
			return err
		}
	default:
		return fmt.Errorf("pod list: unexpected protobuf wire type %d", wire)
	}
	if left != nil {
		if n > *left {
			return errors.New("pod list: a field overruns the list")
		}
		*left -= n
	}
	_, err := d.r.Discard(int(n))
	return err
}

type countingByteReader struct {
	r *bufio.Reader
	n uint64
}

func (c *countingByteReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// jsonDecoder walks a JSON PodList: the items array element by element, every
// other key skipped.
type jsonDecoder struct {
	dec     *json.Decoder
	inItems bool
	done    bool
}

func newJSONDecoder(r io.Reader) (*jsonDecoder, error) {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	return &jsonDecoder{dec: dec}, nil
}

func (d *jsonDecoder) next(seen time.Time) (record.Placement, error) {
	for !d.done {
		if d.inItems {
			if d.dec.More() {
				var pod corev1.Pod
				if err := d.dec.Decode(&pod); err != nil {
					return record.Placement{}, fmt.Errorf("decoding a pod: %w", noEOF(err))
				}
				return FromPod(&pod, seen, record.EventSnapshot), nil
			}
			if err := expectDelim(d.dec, ']'); err != nil {
				return record.Placement{}, err
			}
			d.inItems = false
			continue
		}
		if !d.dec.More() {
			// The list's closing brace, which a body cut short lacks.
			if err := expectDelim(d.dec, '}'); err != nil {
				return record.Placement{}, err
			}
			d.done = true
			break
		}
		tok, err := d.dec.Token()
		if err != nil {
			return record.Placement{}, fmt.Errorf("reading the pod list: %w", noEOF(err))
		}
		if key, _ := tok.(string); key == "items" {
			tok, err := d.dec.Token()
			if err != nil {
				return record.Placement{}, fmt.Errorf("reading the pod list: %w", noEOF(err))
			}
			if tok == nil { // "items": null
				continue
			}
			if delim, ok := tok.(json.Delim); !ok || delim != '[' {
				return record.Placement{}, fmt.Errorf("reading the pod list: items is %v, want an array", tok)
			}
			d.inItems = true
			continue
		}
		var skip json.RawMessage
		if err := d.dec.Decode(&skip); err != nil {
			return record.Placement{}, fmt.Errorf("reading the pod list: %w", noEOF(err))
		}
	}
	return record.Placement{}, io.EOF
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("reading the pod list: %w", noEOF(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("reading the pod list: got %v, want %v", tok, want)
	}
	return nil
}
