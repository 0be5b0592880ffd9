package emit

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/pod-ashiato/ashiato/src/record"
)

// recordField is the one logrus field a record line carries: the record
// itself, which Formatter writes out field by field.
const recordField = "ashiato.record"

// Formatter writes a record line as logrus's JSONFormatter (with
// DisableTimestamp and DisableHTMLEscape) would write the record's Fields, byte
// for byte, without building a map per record and encoding it by reflection:
// that map, its sorted keys and the reflective encoder were most of the CPU
// of printing a record. Any other entry (a hook's extra field, a stray use of
// the logger) goes to the JSONFormatter itself.
type Formatter struct {
	fallback logrus.JSONFormatter
}

// NewFormatter returns the record formatter.
func NewFormatter() *Formatter {
	return &Formatter{fallback: logrus.JSONFormatter{DisableTimestamp: true, DisableHTMLEscape: true}}
}

// Format implements logrus.Formatter.
func (f *Formatter) Format(e *logrus.Entry) ([]byte, error) {
	r, ok := e.Data[recordField].(*record.Placement)
	if !ok || len(e.Data) != 1 || e.Caller != nil || !encodable(r) {
		return f.fallback.Format(f.plain(e))
	}
	b := e.Buffer
	if b == nil {
		b = new(bytes.Buffer)
	}
	b.Write(appendRecord(b.AvailableBuffer(), r, e.Level.String(), e.Message))
	return b.Bytes(), nil
}

// plain is e with a record field replaced by the record's Fields, for the
// JSONFormatter.
func (f *Formatter) plain(e *logrus.Entry) *logrus.Entry {
	r, ok := e.Data[recordField].(*record.Placement)
	if !ok {
		return e
	}
	cp := *e
	cp.Data = Fields(*r)
	for k, v := range e.Data {
		if k != recordField {
			cp.Data[k] = v
		}
	}
	return &cp
}

// appendRecord appends the record's line: the keys of Fields plus "level"
// and "msg", in the byte order encoding/json sorts map keys in, then a
// newline as json.Encoder ends a value with.
func appendRecord(b []byte, r *record.Placement, level, msg string) []byte {
	b = append(b, '{')
	if len(r.Conditions) > 0 {
		b = append(b, `"conditions":[`...)
		for i, c := range r.Conditions {
			if i > 0 {
				b = append(b, ',')
			}
			// The struct's own field order, as encoding/json writes a struct.
			b = appendString(append(b, `{"type":`...), c.Type)
			b = appendString(append(b, `,"status":`...), c.Status)
			b = appendJSONTime(append(b, `,"last_transition_time":`...), c.LastTransitionTime)
			b = append(b, '}')
		}
		b = append(b, "],"...)
	}
	b = appendString(append(b, `"event":`...), string(r.Event))
	b = appendString(append(b, `,"host_ip":`...), r.HostIP)
	b = appendString(append(b, `,"level":`...), level)
	b = appendString(append(b, `,"msg":`...), msg)
	b = appendString(append(b, `,"namespace":`...), r.Namespace)
	b = appendString(append(b, `,"node_name":`...), r.Node)
	b = appendString(append(b, `,"owner_kind":`...), r.OwnerKind)
	b = appendString(append(b, `,"owner_name":`...), r.OwnerName)
	b = appendString(append(b, `,"phase":`...), r.Phase)
	b = appendString(append(b, `,"pod_ip":`...), r.PodIP)
	b = appendString(append(b, `,"pod_name":`...), r.Pod)
	if r.PreviousNode != "" {
		b = appendString(append(b, `,"previous_node":`...), r.PreviousNode)
	}
	if !r.StartTime.IsZero() {
		b = appendRFC3339(append(b, `,"start_time":`...), r.StartTime)
	}
	b = appendRFC3339(append(b, `,"timestamp":`...), r.Timestamp)
	b = appendString(append(b, `,"uid":`...), r.UID)
	return append(b, "}\n"...)
}

// appendRFC3339 appends what Fields puts in a time field: the UTC time in
// RFC 3339 (seconds), as a JSON string. The format has no byte to escape.
func appendRFC3339(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

// appendJSONTime appends t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds, in t's own zone). encodable has checked the year.
func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// encodable reports whether appendRecord writes what encoding/json would:
// MarshalJSON fails on years outside 0–9999 and on zone offsets past ±24h,
// and then the JSONFormatter's own error handling applies.
func encodable(r *record.Placement) bool {
	for _, c := range r.Conditions {
		if y := c.LastTransitionTime.Year(); y < 0 || y > 9999 {
			return false
		}
		if _, off := c.LastTransitionTime.Zone(); off <= -24*3600 || off >= 24*3600 {
			return false
		}
	}
	return true
}

// appendString appends s as a JSON string. Printable ASCII without quote or
// backslash, which is what names, IPs and phases are, is copied as it is;
// anything else is encoded by encoding/json itself (HTML escaping off, as in
// the JSONFormatter), so both paths write the same bytes.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return appendEncoded(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendEncoded(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...)
}
