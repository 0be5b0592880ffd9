package main

import (
	"io"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/timeline"
	"github.com/pod-ashiato/ashiato/src/view"
)

// writeSVG draws the answer of `history node` or `history pod` as a timeline.
func writeSVG(w io.Writer, c *historyConfig, hours []*store.Hour, rows []history.Row) error {
	var chart timeline.Chart
	if c.node != "" {
		chart = view.Node(hours, c.node, c.window, rows, nil)
	} else {
		chart = view.Pod(hours, c.pod, c.window, rows, nil)
	}
	return timeline.Render(w, chart)
}
