package pipeline

import (
	"context"

	"golang.org/x/sync/errgroup"

	"github.com/pod-ashiato/ashiato/src/record"
)

// Merge is one source made of several run together (one per namespace): it
// sends what each sends and closes out once all are done. The first that
// fails stops the others, and Merge returns its error.
func Merge(sources ...Source) Source {
	if len(sources) == 1 {
		return sources[0]
	}
	return func(ctx context.Context, out chan<- record.Placement) error {
		defer close(out)
		g, ctx := errgroup.WithContext(ctx)
		for _, source := range sources {
			// Unbuffered: what a source has sent is in hand here, so nothing
			// waits in between when the sources stop.
			in := make(chan record.Placement)
			g.Go(func() error { return source(ctx, in) })
			g.Go(func() error {
				for r := range in {
					select {
					case out <- r:
					case <-ctx.Done():
					}
				}
				return nil
			})
		}
		return g.Wait()
	}
}
