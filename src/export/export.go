// Package export writes the history's tables (package table) for the stored
// hours of a window, from either store, into a local folder or an S3 URL:
// ashiato store export, for clusters that keep their history in ConfigMaps
// or want the tables elsewhere than beside the S3 store's hours. It writes
// what the recorder's compaction writes (package compact, which it runs over
// the window), file for file and byte for byte.
//
// Only closed hours are exported (ended Grace ago, as the recorder would),
// and a file already at the destination is left as it is, so an export is
// incremental: run it again, into the same place, and it writes the hours
// closed since and nothing else. No half file is ever visible: a folder's
// files are written to a temporary file and linked into place, an S3
// object is one PUT.
package export

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/utils/clock"

	"github.com/pod-ashiato/ashiato/src/compact"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/s3store"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// ErrUsage marks a destination that cannot be used as given (a usage
// error: the command exits 2 before any work).
var ErrUsage = errors.New("invalid destination")

// Dest is where an export goes: a local folder, or a bucket and prefix.
type Dest struct {
	Dir            string
	Bucket, Prefix string
}

func (d Dest) String() string {
	if d.Dir != "" {
		return d.Dir
	}
	return "s3://" + d.Bucket + "/" + d.Prefix
}

// ParseDest reads DEST: s3://bucket[/prefix] or a folder's path. Its errors
// wrap ErrUsage.
func ParseDest(s string) (Dest, error) {
	if s == "" {
		return Dest{}, fmt.Errorf("%w: empty; want a folder or s3://bucket[/prefix]", ErrUsage)
	}
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		if i := strings.Index(s, "://"); i >= 0 {
			return Dest{}, fmt.Errorf("%w %q: scheme %q; want a folder or s3://bucket[/prefix]", ErrUsage, s, s[:i])
		}
		return Dest{Dir: s}, nil
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if err := s3store.ValidBucket(bucket); err != nil {
		return Dest{}, fmt.Errorf("%w %q: %w", ErrUsage, s, err)
	}
	if err := s3store.ValidPrefix(prefix); err != nil {
		return Dest{}, fmt.Errorf("%w %q: %w", ErrUsage, s, err)
	}
	return Dest{Bucket: bucket, Prefix: strings.Trim(prefix, "/")}, nil
}

// Options say what to export where.
type Options struct {
	// Since and Until bound the hours exported (the hours they fall in are
	// included); zero is the oldest stored, and the newest closed.
	Since, Until time.Time
	// Cluster is the name the files are under (cluster=<name>).
	Cluster string
	// Dest is where the files go: Folder's, or an S3 store's (Open).
	Dest storeio.Files
	// Grace is how long after its end an hour is closed; zero is
	// compact.DefaultGrace.
	Grace time.Duration
	Retry retry.Policy
	Clock clock.Clock
	Log   logrus.FieldLogger
}

// Result is what an export did.
type Result = compact.Result

// Run exports the closed hours of src in the window to opts.Dest, oldest
// first, a day of hours at a time, and returns what it wrote. A file already
// there is left (the same bytes, if an export or the recorder wrote it).
func Run(ctx context.Context, src storeio.Store, opts Options) (Result, error) {
	clk := opts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	grace := opts.Grace
	if grace <= 0 {
		grace = compact.DefaultGrace
	}
	last := store.HourOf(clk.Now().Add(-grace)).Add(-time.Hour)
	if !opts.Until.IsZero() && store.HourOf(opts.Until).Before(last) {
		last = store.HourOf(opts.Until)
	}
	c, err := compact.New(compact.Options{Store: src, Files: opts.Dest, Cluster: opts.Cluster, Retry: opts.Retry, Log: opts.Log})
	if err != nil {
		return Result{}, err
	}
	var all Result
	for {
		res, err := c.Window(ctx, opts.Since, last)
		all.Compacted = append(all.Compacted, res.Compacted...)
		all.Written = append(all.Written, res.Written...)
		if err != nil || res.Left == 0 {
			return all, err
		}
	}
}

// Open is the destination's files: a folder (Folder), or a bucket and
// prefix reached as the S3 store is (s3: endpoint and region; credentials
// from the AWS chain).
func Open(ctx context.Context, d Dest, s3 s3store.Options) (storeio.Files, error) {
	if d.Dir != "" {
		return Folder(d.Dir)
	}
	s3.Bucket, s3.Prefix = d.Bucket, d.Prefix
	if s3.Cluster == "" {
		s3.Cluster = "export" // names no key here: only the files are written
	}
	return s3store.New(ctx, s3)
}
