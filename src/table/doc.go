// Package table is the history as tables that query engines read: Parquet
// files in a versioned, hive-partitioned layout (Athena, Trino, Spark,
// DuckDB, ClickHouse read it as it is). It turns one decoded hour of the
// store (store.Hour) into its files, byte for byte the same every time. The
// recorder writes them for closed hours (package compact); ashiato store
// export writes them to a folder or a bucket (package export). This comment
// is the layout's contract: a change that a query written against it would
// notice is a new Version, under its own key prefix, beside the old one.
//
// # Keys
//
// Each hour of each cluster is one file per table:
//
//	<prefix>/tables/v1/placements/cluster=<cluster>/date=YYYY-MM-DD/hour=HH/part-0.parquet
//	<prefix>/tables/v1/node_events/cluster=<cluster>/date=YYYY-MM-DD/hour=HH/part-0.parquet
//
// (Key). In the S3 store <prefix> is the store's prefix, the part before
// <cluster> in the keys of its shards, so the tables sit beside the
// clusters' hours (s3store keeps the cluster name "tables" for them); in an
// export folder it is the folder. date and hour are the hour's UTC start.
// The partition columns cluster, date and hour are in the key only, as hive
// partitioning has them: an engine adds them to every row and reads only
// the folders a WHERE on them selects, so a question about one cluster or
// one day lists and reads that folder and nothing else. An hour of a
// cluster is written once, whole, so a file never changes once written
// (package compact), and part-0 leaves room for a later writer that splits
// an hour in parts. Every hour stored has both files, a table without rows
// in the hour an empty one (its schema, no rows), so that a reader, and a
// writer looking for the hours still to do, tell "no rows" from "not
// written". The version folder (v1) lets a v2 be written beside v1 while
// queries move over.
//
// # placements
//
// One row per placement the hour stores: a pod (namespace and name; the
// store keeps no UID) on one node, with when it was first and last seen
// there in that hour.
//
//	namespace   STRING
//	pod         STRING
//	node        STRING
//	owner_kind  STRING     the pod's controlling owner's kind, "" when none is known
//	owner_name  STRING     its name, "" when none is known
//	first_seen  TIMESTAMP(MILLIS, UTC), NULL when not known
//	last_seen   TIMESTAMP(MILLIS, UTC), NULL when not known
//	continued   BOOLEAN    the stay began in the hour before (below)
//	hour_start  TIMESTAMP(MILLIS, UTC), the hour (the partition's date and hour)
//
// Times are whole seconds. first_seen and last_seen are NULL together, for
// values written by the original tool. Rows are sorted by namespace, pod,
// first_seen (NULL first), node.
//
// The times mean what store/doc.go ("Time precision") and docs/storage.md
// ("What --at guarantees") say: last_seen is accurate to store.LastSeenStep (5
// minutes), so the pod was on the node until up to 5 minutes after it, and
// a pod still running when its hour was written has last_seen at the hour's
// last second. continued is true when the pod was on the same node in the
// hour before with last_seen in that hour's last 5 minutes: the stay crossed
// the edge, first_seen is only its first observation in this hour, and the
// row counts from hour_start. With these, SQL answers as `ashiato history`
// does, row for row. Pods on node X at instant T (history node X --at T):
//
//	SELECT namespace, pod FROM placements
//	WHERE node = 'X' AND hour_start = date_trunc('hour', T)
//	  AND (first_seen IS NULL
//	       OR ((continued OR first_seen <= T) AND T <= last_seen + INTERVAL 5 MINUTE))
//
// and over a window [S, U] (history --since S --until U), a row matches when
// its hour overlaps the window (hour_start <= U AND S < hour_start + 1 hour)
// and, where its times are known,
//
//	(continued OR first_seen <= U) AND S <= last_seen + INTERVAL 5 MINUTE
//
// (add the partition columns, date and hour, to the WHERE so an engine
// prunes the folders; see docs/sql.md).
//
// # node_events
//
// One row per node lifecycle event of the hour (store.NodeEvent):
//
//	node       STRING
//	event      STRING      node_ready, node_not_ready, node_cordoned, ... (store/doc.go)
//	reason     STRING      "" when none
//	timestamp  TIMESTAMP(MILLIS, UTC), whole seconds
//	seq        INT32       the event's place among the hour's events: the order
//	                       they were recorded in, which orders a second's events
//	labels     MAP<STRING, STRING>  the node's allow-listed labels recorded in
//	                       that hour (zone, region, instance type...), empty when none
//
// sorted by node, timestamp, seq. The labels are a map on each event rather
// than a table of their own: the store keeps labels only for nodes with a
// lifecycle record in the hour, so every labelled node has a row here, and a
// question such as "the nodes of zone Z that went NotReady" needs no join.
//
// # Files
//
// Parquet with zstd pages, at most RowGroupRows rows a row group, a fixed
// created_by ("pod-ashiato-table version v1") and the key-value metadata
// pod-ashiato.table = <table>/v1, so the bytes depend on the hour only: a
// rewrite of an hour gives the same bytes, and a writer that finds a file
// already there leaves it. Rows are written a row group at a time as they
// are produced, so encoding holds the hour (which the caller decoded) and
// the file, not a copy of the rows.
package table
