// Package emit is the stage that prints placements: one JSON object per line on
// the program's standard output, through logrus's JSON formatter, so any log
// pipeline (Fluent Bit, Vector, Loki, jq) keeps the history.
package emit

import (
	"context"
	"io"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/pod-ashiato/ashiato/src/record"
)

// Message is the "msg" of every record line.
const Message = "pod placement"

// NewLogger returns the logger records are written with: JSON, one object a
// line, no logrus timestamp (each record carries its own observation time),
// written by Formatter. It is separate from the diagnostics logger, which
// writes to stderr.
func NewLogger(w io.Writer) *logrus.Logger {
	return &logrus.Logger{
		Out:       w,
		Formatter: NewFormatter(),
		Hooks:     make(logrus.LevelHooks),
		Level:     logrus.InfoLevel,
		ExitFunc:  func(int) {},
	}
}

// Flusher is a buffered output (a *bufio.Writer around stdout).
type Flusher interface{ Flush() error }

// Emitter writes each placement as one line and passes it on downstream.
type Emitter struct {
	Log *logrus.Logger
	// Schema names the fields; the zero value is the original names.
	Schema Schema
}

// Run emits every placement from in but the StoreOnly ones, then sends it to
// out, until in closes; then it closes out. When Log's output is buffered it is flushed whenever the
// input is momentarily empty, so a burst is written in few system calls and a
// quiet stream is never held back.
func (e *Emitter) Run(ctx context.Context, in <-chan record.Placement, out chan<- record.Placement) error {
	defer close(out)
	flusher, _ := e.Log.Out.(Flusher)
	defer func() {
		if flusher != nil {
			_ = flusher.Flush()
		}
	}()
	// With Formatter, the entry carries the record itself (one field, one map
	// reused for every record; logrus formats it before Info returns).
	_, direct := e.Log.Formatter.(*Formatter)
	direct = direct && e.Schema.original() // the fast path writes the original names
	var cur record.Placement
	entry := logrus.NewEntry(e.Log)
	entry.Data = logrus.Fields{recordField: &cur}
	for r := range in {
		if r.StoreOnly {
			// For the store only: passed on, not printed.
		} else if r.Event.IsNode() {
			e.Log.WithFields(e.Schema.NodeFields(r)).Info(NodeMessage)
		} else if direct {
			cur = r
			entry.Info(Message)
		} else {
			e.Log.WithFields(e.Schema.Fields(r)).Info(Message)
		}
		if flusher != nil && len(in) == 0 {
			if err := flusher.Flush(); err != nil {
				return err
			}
		}
		select {
		case out <- r:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Fields is the record's JSON schema with the original names (the zero
// Schema). The first seven names are the original tool's and keep their
// meaning.
func Fields(r record.Placement) logrus.Fields { return Schema{}.Fields(r) }

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
