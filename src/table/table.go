package table

import (
	"bytes"
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// Version is the layout's version, a folder in every key.
const Version = "v1"

// The tables.
const (
	Placements = "placements"
	NodeEvents = "node_events"
)

// Tables are the tables every hour has, in the order a writer writes them.
var Tables = []string{Placements, NodeEvents}

// Root is the folder under a prefix that holds every table: the folder the
// S3 store keeps beside its clusters for files.
const Root = storeio.FilesFolder

// FileName is the name of an hour's one file of a table.
const FileName = "part-0.parquet"

// Key is the key (or, in a folder, the relative path) of the file of table
// for cluster's hour. prefix may be empty, and may end in "/".
func Key(prefix, table, cluster string, hour time.Time) string {
	return ClusterPrefix(prefix, table, cluster) + HourFolder(hour) + FileName
}

// TablePrefix is "<prefix>/tables/v1/<table>/", where a table's files are.
func TablePrefix(prefix, table string) string {
	return path.Join(strings.Trim(prefix, "/"), Root, Version, table) + "/"
}

// ClusterPrefix is "<prefix>/tables/v1/<table>/cluster=<cluster>/".
func ClusterPrefix(prefix, table, cluster string) string {
	return TablePrefix(prefix, table) + "cluster=" + cluster + "/"
}

// hourFolderLayout is an hour's partition folders, as a time layout.
const hourFolderLayout = "date=2006-01-02/hour=15/"

// HourFolder is "date=YYYY-MM-DD/hour=HH/", the hour's partition in UTC.
func HourFolder(hour time.Time) string { return store.HourOf(hour).Format(hourFolderLayout) }

// ParseHourFolder reads the hour of what follows ClusterPrefix in a key
// ("date=…/hour=…/…"); ok is false for anything else.
func ParseHourFolder(rest string) (hour time.Time, ok bool) {
	n := len(hourFolderLayout)
	if len(rest) < n {
		return time.Time{}, false
	}
	hour, err := time.Parse(hourFolderLayout, rest[:n])
	if err != nil || HourFolder(hour) != rest[:n] {
		return time.Time{}, false
	}
	return hour, true
}

// Placement is one row of the placements table.
type Placement struct {
	Namespace string    `parquet:"namespace,dict"`
	Pod       string    `parquet:"pod"`
	Node      string    `parquet:"node,dict"`
	OwnerKind string    `parquet:"owner_kind,dict"`
	OwnerName string    `parquet:"owner_name,dict"`
	FirstSeen time.Time `parquet:"first_seen,optional,timestamp(millisecond)"`
	LastSeen  time.Time `parquet:"last_seen,optional,timestamp(millisecond)"`
	Continued bool      `parquet:"continued"`
	HourStart time.Time `parquet:"hour_start,timestamp(millisecond)"`
}

// NodeEvent is one row of the node_events table.
type NodeEvent struct {
	Node      string            `parquet:"node,dict"`
	Event     string            `parquet:"event,dict"`
	Reason    string            `parquet:"reason,dict"`
	Timestamp time.Time         `parquet:"timestamp,timestamp(millisecond)"`
	Seq       int32             `parquet:"seq"`
	Labels    map[string]string `parquet:"labels"`
}

// sortNodeEvents puts rows in the table's order: node, timestamp, seq.
func sortNodeEvents(rows []NodeEvent) {
	slices.SortFunc(rows, func(a, b NodeEvent) int {
		return cmp.Or(strings.Compare(a.Node, b.Node), a.Timestamp.Compare(b.Timestamp), cmp.Compare(a.Seq, b.Seq))
	})
}

// Read decodes a file of one of the tables: T is Placement or NodeEvent.
// Times come back in UTC.
func Read[T Placement | NodeEvent](raw []byte) ([]T, error) {
	rows, err := parquet.Read[T](bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		return nil, fmt.Errorf("reading a table file: %w", err)
	}
	return rows, nil
}
