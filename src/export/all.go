package export

import (
	"context"
	"fmt"
	"io"

	"github.com/pod-ashiato/ashiato/src/storeio"
)

// Source is one cluster's stored hours, and the name its files go under.
type Source struct {
	Store   storeio.Store
	Cluster string
}

// All exports each source in turn into opts.Dest (opts.Cluster is each
// source's) and prints a line per cluster on w: how many hours and files,
// and where. The first failing source stops it; what was exported before
// stays, and a rerun writes only what is missing.
func All(ctx context.Context, sources []Source, opts Options, where string, w io.Writer) error {
	for _, src := range sources {
		opts.Cluster = src.Cluster
		res, err := Run(ctx, src.Store, opts)
		if err != nil {
			return fmt.Errorf("exporting cluster %s: %w", src.Cluster, err)
		}
		fmt.Fprintf(w, "cluster %s: %d closed hours, %d files written into %s (files already there kept)\n", src.Cluster, len(res.Compacted), len(res.Written), where)
	}
	return nil
}
