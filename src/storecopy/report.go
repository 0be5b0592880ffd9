package storecopy

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// Report copies from into to for a person at a terminal: one line per hour
// and per value left out on progress, the summary on out.
func Report(ctx context.Context, from, to storeio.Store, policy retry.Policy, out, progress io.Writer) error {
	c := &Copier{
		From: from, To: to, Retry: policy,
		Warn: func(w store.Warning) {
			fmt.Fprintf(progress, "ashiato: warning: %s: %s (left out)\n", from.Location(w.Object), w.Reason)
		},
		Hour: func(hour time.Time, outcome string) {
			fmt.Fprintf(progress, "ashiato: %s %s\n", store.NameFor(hour), outcome)
		},
	}
	sum, err := c.Run(ctx)
	fmt.Fprintf(out, "store copy from %s to %s: %s\n", from, to, sum)
	return err
}
