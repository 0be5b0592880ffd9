package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pod-ashiato/ashiato/e2e/duckq"
	"github.com/pod-ashiato/ashiato/src/compact"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/s3store"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// sqlResult is the sql part: --sql-clusters clusters of the size's pods,
// --sql-hours hours each, written into SeaweedFS as the sink writes them
// (store codec, S3 store), with one node failure a cluster a day; the
// recorder's compaction (package compact) writing their tables, each
// cluster in a process of its own; and each of docs/sql.md's four
// questions, by DuckDB (duckq) over the tables and by `ashiato history`
// over the hours.
type sqlResult struct {
	Server         string `json:"server"`
	Clusters       int    `json:"clusters"`
	Hours          int    `json:"hours"`
	PodsPerCluster int    `json:"pods_per_cluster"`
	Failures       int    `json:"failures"`
	// The hours (object bodies of every shard) and their tables.
	JSONObjects  int     `json:"json_objects"`
	JSONBytes    int64   `json:"json_bytes"`
	WriteSeconds float64 `json:"write_seconds"` // encode and PUT
	ParquetFiles int     `json:"parquet_files"`
	ParquetBytes int64   `json:"parquet_bytes"`
	PlacementRow int64   `json:"placement_rows"`
	// Compact is one process compacting one cluster's hours (the recorder's
	// compaction, its clock past them), a run per cluster.
	Compact *program `json:"compact"`
	// Duckq is what duckq --version prints.
	Duckq   string        `json:"duckq"`
	Queries []sqlQuestion `json:"queries"`
}

// sqlQuestion is one question asked both ways.
type sqlQuestion struct {
	Name string   `json:"name"`
	SQL  *program `json:"sql"`
	// History is one `ashiato history` command; Calls how many of them the
	// question takes (history incident: one a failure).
	History *program `json:"history"`
	Calls   int      `json:"calls"`
	// SQLRows and HistoryRows are the answers' sizes, as a check.
	SQLRows     int `json:"sql_rows"`
	HistoryRows int `json:"history_rows"`
}

// benchRetry retries the store's calls on a loaded machine.
var benchRetry = retry.Policy{Backoff: wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Steps: 8, Cap: 2 * time.Second}}

// sqlCluster names the part's clusters.
func sqlCluster(i int) string { return fmt.Sprintf("bench-%02d", i) }

// failureOf is cluster c's failure on day d: the node, and when.
func failureOf(c, day, nodes int, first time.Time) (node int, at time.Time) {
	hour := first.Add(time.Duration(day*24+12) * time.Hour)
	return (day*7 + c*3) % nodes, hour.Add(17*time.Minute + time.Duration(c)*time.Minute + 23*time.Second)
}

// sqlHour is cluster c's hour: every pod on its node for the whole hour
// (storedHour), except on a failure's day: the failed node's pods are last
// seen at the failure, replaced by a pod of their ReplicaSet on the next
// node 5 to 300 s later, which runs to the end of the next hour (the
// originals are back after it, as if the node returned and the ReplicaSet
// scaled down), and the node's events.
func sqlHour(hour, first time.Time, c int, s *sizeResult) *store.Hour {
	h := storedHour(hour, s)
	day := int(hour.Sub(first) / (24 * time.Hour))
	node, at := failureOf(c, day, s.Nodes, first)
	fh := store.HourOf(at)
	if !hour.Equal(fh) && !hour.Equal(fh.Add(time.Hour)) {
		return h
	}
	if hour.Equal(fh) {
		h.AddNodeEvent(store.NodeEvent{Node: nodeName(node), At: at, Event: "node_unknown", Reason: "NodeStatusUnknown"})
	}
	if back := at.Add(20 * time.Minute); store.HourOf(back).Equal(hour) {
		h.AddNodeEvent(store.NodeEvent{Node: nodeName(node), At: back, Event: "node_ready", Reason: "KubeletReady"})
	}
	for i := node; i < s.Pods; i += s.Nodes {
		ref := store.PodRef{Namespace: namespaceName(i, s.Namespaces), Name: podName(i)}
		delete(h.Pods, ref)
		delete(h.Owners, ref)
		if hour.Equal(fh) {
			h.Add(ref, nodeName(node), hour.Add(time.Duration(i%60)*time.Second))
			h.Add(ref, nodeName(node), at.Add(-time.Duration(i%50)*time.Second))
			h.SetOwner(ref, store.Owner{Kind: "ReplicaSet", Name: ownerOf(ref.Name)})
		}
		next := store.PodRef{Namespace: ref.Namespace, Name: ownerOf(ref.Name) + "-r" + randString(fmt.Sprint("r", c, day, i), 4)}
		from := at.Add(time.Duration(5+(i*37)%296) * time.Second)
		if hour.After(from) {
			from = hour.Add(time.Duration(i%60) * time.Second)
		}
		h.Add(next, nodeName((node+1)%s.Nodes), from)
		h.Add(next, nodeName((node+1)%s.Nodes), hour.Add(time.Hour-time.Second))
		h.SetOwner(next, store.Owner{Kind: "ReplicaSet", Name: ownerOf(ref.Name)})
	}
	return h
}

// measureSQL is the sql part.
func (b *bench) measureSQL(ctx context.Context, s *sizeResult) error {
	bin := filepath.Join(b.duckqDir(ctx), "duckq")
	version, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return fmt.Errorf("sql part: %s --version: %w (bash tools/duckq/build.sh builds duckq; export %s)", bin, err, duckq.EnvBin)
	}
	blocks, err := duckq.ReadBlocks(filepath.Join(b.root, "docs", "sql.md"))
	if err != nil {
		return err
	}
	bucket, err := b.startS3(ctx, fmt.Sprintf("sql-%d", s.Pods))
	if err != nil {
		return fmt.Errorf("sql part: %w", err)
	}
	defer bucket.close(b)
	cfg := b.cfg
	res := &sqlResult{Server: "SeaweedFS " + weedVersion(bucket.srv), Clusters: cfg.sqlClusters, Hours: cfg.sqlHours, PodsPerCluster: s.Pods,
		Duckq: strings.TrimSpace(string(version))}
	last := store.HourOf(time.Now()).Add(-2 * time.Hour) // closed, with room for the hour after a failure
	first := last.Add(-time.Duration(cfg.sqlHours-1) * time.Hour)
	opts := s3store.Options{Endpoint: bucket.proxy.URL(), Bucket: bucket.srv.Bucket, Prefix: "pod-ashiato"}

	// The hours, as the sink writes them.
	start := time.Now()
	before := bucket.proxy.Stats().BytesIn["PUT"]
	for c := range cfg.sqlClusters {
		opts.Cluster = sqlCluster(c)
		st, err := s3store.New(ctx, opts)
		if err != nil {
			return err
		}
		for hour := first; !hour.After(last); hour = hour.Add(time.Hour) {
			shards, err := store.Encode(sqlHour(hour, first, c, s), 0)
			if err != nil {
				return err
			}
			for i := len(shards) - 1; i >= 0; i-- {
				if _, err := st.Create(ctx, shards[i]); err != nil {
					return fmt.Errorf("writing %s: %w", shards[i].Name, err)
				}
			}
			res.JSONObjects += len(shards)
		}
		b.log("  sql: cluster %s: %d hours of %d pods written (%s so far)", opts.Cluster, cfg.sqlHours, s.Pods, time.Since(start).Round(time.Second))
	}
	res.WriteSeconds = time.Since(start).Seconds()
	res.JSONBytes = bucket.proxy.Stats().BytesIn["PUT"] - before
	var failures []sqlFailure
	for c := range cfg.sqlClusters {
		for day := 0; ; day++ {
			node, at := failureOf(c, day, s.Nodes, first)
			if store.HourOf(at).After(last.Add(-time.Hour)) {
				break
			}
			failures = append(failures, sqlFailure{sqlCluster(c), nodeName(node), at})
		}
	}
	res.Failures = len(failures)

	// The recorder's compaction, a process a cluster.
	var runs []sample
	for c := range cfg.sqlClusters {
		argv := []string{b.self, compactCommand, "--endpoint", opts.Endpoint, "--bucket", opts.Bucket, "--prefix", opts.Prefix, "--cluster", sqlCluster(c), "--hours", fmt.Sprint(cfg.sqlHours)}
		x, err := b.timed(ctx, argv)
		if err != nil {
			return err
		}
		runs = append(runs, x)
		b.log("  sql: compacted %s: %.1f s, %.2f s an hour, peak RSS %.1f MiB", sqlCluster(c), x.Wall.Seconds(), x.Wall.Seconds()/float64(cfg.sqlHours), float64(x.MaxRSS)/mib)
	}
	res.Compact = summarize(fmt.Sprintf("compaction of %d hours of one cluster (a process)", cfg.sqlHours), runs)

	// The tables, copied to a folder (duckq has no httpfs).
	mirror := filepath.Join(b.tmp, "sql-tables")
	if res.ParquetFiles, res.ParquetBytes, err = bucket.mirror(ctx, mirror); err != nil {
		return err
	}
	b.log("  sql: %d table files, %.1f MiB; the hours %.1f MiB", res.ParquetFiles, float64(res.ParquetBytes)/mib, float64(res.JSONBytes)/mib)

	ask := sqlAsker{b: b, bin: bin, blocks: blocks, tables: filepath.Join(mirror, opts.Prefix), flags: []string{"--store", "s3", "--s3-endpoint", opts.Endpoint, "--s3-bucket", opts.Bucket}}
	if res.PlacementRow, err = ask.count(ctx); err != nil {
		return err
	}
	at := first.Add(time.Duration(cfg.sqlHours/2)*time.Hour + 21*time.Minute + 7*time.Second)
	node := nodeName(1 % s.Nodes)
	pod := store.PodRef{Namespace: namespaceName(s.Pods/2, s.Namespaces), Name: podName(s.Pods / 2)}
	since, until := first, last.Add(time.Hour-time.Second)
	span := map[string]string{"since": duckq.Timestamp(since), "until": duckq.Timestamp(until)}
	f := failures[len(failures)/2]
	questions := []struct {
		name, block string
		vars        map[string]string
		argv        []string
		calls       int
	}{
		{"a. pods on a node at T, every cluster", "pods-on-node-at", map[string]string{"node": duckq.Quote(node), "instant": duckq.Timestamp(at)},
			[]string{"history", "node", node, "--at", at.Format(time.RFC3339)}, 1},
		{fmt.Sprintf("b. where a pod ran over %d hours, every cluster", cfg.sqlHours), "pod-over-days",
			map[string]string{"namespace": duckq.Quote(pod.Namespace), "pod": duckq.Quote(pod.Name), "since": span["since"], "until": span["until"]},
			[]string{"history", "pod", pod.Namespace + "/" + pod.Name, "--since", since.Format(time.RFC3339), "--until", until.Format(time.RFC3339)}, 1},
		{"c. time to reschedule p50/p90 by cluster and owner kind, every failure", "time-to-reschedule", span,
			[]string{"history", "incident", f.node, "--at", f.at.Format(time.RFC3339), "--cluster", f.cluster}, len(failures)},
		{"d. the nodes that lost the most pods, every failure", "nodes-lost-most", span,
			[]string{"history", "incident", f.node, "--at", f.at.Format(time.RFC3339), "--cluster", f.cluster}, len(failures)},
	}
	for _, q := range questions {
		x := sqlQuestion{Name: q.name, Calls: q.calls}
		if x.SQL, x.SQLRows, err = ask.sql(ctx, q.name, q.block, q.vars); err != nil {
			return err
		}
		if x.History, x.HistoryRows, err = ask.history(ctx, q.name, q.argv); err != nil {
			return err
		}
		res.Queries = append(res.Queries, x)
	}
	s.SQL = res
	return nil
}

type sqlFailure struct {
	cluster, node string
	at            time.Time
}

// sqlAsker times the questions both ways.
type sqlAsker struct {
	b      *bench
	bin    string
	blocks map[string]string
	tables string
	flags  []string
}

// query is the block bound, after the folder and the views.
func (a sqlAsker) query(block string, vars map[string]string) (string, error) {
	setup, err := duckq.Bind(a.blocks["tables-folder"], map[string]string{"tables": duckq.Quote(a.tables)})
	if err != nil {
		return "", err
	}
	q, err := duckq.Bind(a.blocks[block], vars)
	if err != nil {
		return "", fmt.Errorf("%s: %w", block, err)
	}
	return setup + a.blocks["views"] + q, nil
}

func (a sqlAsker) count(ctx context.Context) (int64, error) {
	sql, err := a.query("views", nil)
	if err != nil {
		return 0, err
	}
	res, err := duckq.Run(ctx, a.bin, a.b.tmp, sql+"SELECT count(*) AS n FROM placements;\n")
	if err != nil || len(res.Rows) != 1 {
		return 0, fmt.Errorf("counting the placements: %v", err)
	}
	var n int64
	_, err = fmt.Sscan(fmt.Sprint(res.Rows[0]["n"]), &n)
	return n, err
}

func (a sqlAsker) sql(ctx context.Context, name, block string, vars map[string]string) (*program, int, error) {
	sql, err := a.query(block, vars)
	if err != nil {
		return nil, 0, err
	}
	path := filepath.Join(a.b.tmp, block+".sql")
	if err := os.WriteFile(path, []byte(sql), 0o600); err != nil {
		return nil, 0, err
	}
	res, err := duckq.Run(ctx, a.bin, a.b.tmp, sql) // the answer's size; the timed runs discard it
	if err != nil {
		return nil, 0, err
	}
	var runs []sample
	for r := range a.b.cfg.runs {
		x, err := a.b.timed(ctx, []string{"sh", "-c", `exec "$0" < "$1"`, a.bin, path})
		if err != nil {
			return nil, 0, err
		}
		runs = append(runs, x)
		a.b.log("  run %d duckq %s: %.2fs, %.1f MiB", r+1, block, x.Wall.Seconds(), float64(x.MaxRSS)/mib)
	}
	return summarize("duckq < "+block+".sql (docs/sql.md)", runs), len(res.Rows), nil
}

func (a sqlAsker) history(ctx context.Context, name string, args []string) (*program, int, error) {
	argv := append(append(append([]string{a.b.ashiato}, args...), a.flags...), "-o", "json")
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output()
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", strings.Join(args, " "), err)
	}
	rows, err := answerRows(out)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", strings.Join(args, " "), err)
	}
	var runs []sample
	for r := range a.b.cfg.runs {
		x, err := a.b.timed(ctx, argv)
		if err != nil {
			return nil, 0, err
		}
		runs = append(runs, x)
		a.b.log("  run %d ashiato %s: %.2fs, %.1f MiB", r+1, args[1], x.Wall.Seconds(), float64(x.MaxRSS)/mib)
	}
	return summarize("ashiato "+strings.Join(args, " ")+" --store s3 ... -o json", runs), rows, nil
}

// answerRows is the size of history's JSON answer: its pods (history node,
// history incident) or placements (history pod).
func answerRows(out []byte) (int, error) {
	var a struct {
		Pods       []json.RawMessage `json:"pods"`
		Placements []json.RawMessage `json:"placements"`
	}
	err := json.Unmarshal(out, &a)
	return len(a.Pods) + len(a.Placements), err
}

// mirror copies the bucket's tables/ keys to dir/<key> and returns their
// count and bytes.
func (x *s3Bucket) mirror(ctx context.Context, dir string) (files int, bytes int64, err error) {
	st, err := s3store.New(ctx, s3store.Options{Endpoint: x.proxy.URL(), Bucket: x.srv.Bucket, Prefix: "pod-ashiato", Cluster: "mirror"})
	if err != nil {
		return 0, 0, err
	}
	var keys []string
	if err := st.ListFiles(ctx, storeio.FilesFolder+"/", benchRetry, func(k string) { keys = append(keys, k) }); err != nil {
		return 0, 0, err
	}
	c, err := x.srv.Client()
	if err != nil {
		return 0, 0, err
	}
	for _, k := range keys {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(x.srv.Bucket), Key: aws.String("pod-ashiato/" + k)})
		if err != nil {
			return 0, 0, fmt.Errorf("reading %s: %w", k, err)
		}
		data, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			return 0, 0, fmt.Errorf("reading %s: %w", k, err)
		}
		path := filepath.Join(dir, "pod-ashiato", filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return 0, 0, err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return 0, 0, err
		}
		files++
		bytes += int64(len(data))
	}
	return files, bytes, nil
}

// compactCommand is the hidden subcommand the sql part re-executes itself
// with, so that the compaction's time and peak RSS are a process's own: the
// recorder's compaction (compact.Compactor) of --hours hours of one
// cluster, its clock an hour past them.
const compactCommand = "compact"

func runCompact(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet(compactCommand, flag.ContinueOnError)
	var opts s3store.Options
	fs.StringVar(&opts.Endpoint, "endpoint", "", "S3 endpoint")
	fs.StringVar(&opts.Bucket, "bucket", "", "bucket")
	fs.StringVar(&opts.Prefix, "prefix", "", "key prefix")
	fs.StringVar(&opts.Cluster, "cluster", "", "cluster")
	hours := fs.Int("hours", 24, "hours to compact")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := s3store.New(ctx, opts)
	if err != nil {
		return err
	}
	c, err := compact.New(compact.Options{Store: st, MaxHours: *hours + 1, Retry: benchRetry})
	if err != nil {
		return err
	}
	res, err := c.Window(ctx, time.Time{}, time.Now())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "compacted %d hours, %d files\n", len(res.Compacted), len(res.Written))
	return err
}

// duckqDir is $ASHIATO_DUCKQ_BIN, else the folder tools/duckq/build.sh
// builds into (building it when missing).
func (b *bench) duckqDir(ctx context.Context) string {
	if dir := os.Getenv(duckq.EnvBin); dir != "" {
		return dir
	}
	out, err := exec.CommandContext(ctx, "bash", filepath.Join(b.root, "tools", "duckq", "build.sh")).Output()
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// sqlTable is the sql part's figures.
func sqlTable(r *sqlResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nSQL over the tables: %d clusters × %s pods × %d hours (%s placement rows, %d failures), on %s:\n\n",
		r.Clusters, groupThousands(int64(r.PodsPerCluster)), r.Hours, groupThousands(r.PlacementRow), r.Failures, r.Server)
	fmt.Fprintf(&b, "| stored | objects | bytes | MiB |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| hours (JSON shards, gzip) | %d | %s | %.1f |\n", r.JSONObjects, groupThousands(r.JSONBytes), float64(r.JSONBytes)/mib)
	fmt.Fprintf(&b, "| tables (Parquet, zstd) | %d | %s | %.1f |\n", r.ParquetFiles, groupThousands(r.ParquetBytes), float64(r.ParquetBytes)/mib)
	fmt.Fprintf(&b, "\nWriting the hours (encode and PUT): %.1f s. Compaction, one process a cluster (%d runs): %s s wall, %s s CPU, peak RSS %s MiB; %.3f s an hour.\n\n",
		r.WriteSeconds, len(r.Compact.WallS.Runs), fmtStat(r.Compact.WallS, 1), fmtStat(r.Compact.CPUS, 1), fmtStat(r.Compact.RSSMiB, 1), r.Compact.WallS.Median/float64(r.Hours))
	fmt.Fprintf(&b, "%s. Each figure: median [min–max].\n\n", r.Duckq)
	fmt.Fprintln(&b, "| question | DuckDB (s) | DuckDB peak RSS (MiB) | `ashiato history` (s, one command) | commands | history in all (s) | answer rows: SQL / one history command |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|---|")
	for _, q := range r.Queries {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %.1f | %d / %d |\n", q.Name, fmtStat(q.SQL.WallS, 2), fmtStat(q.SQL.RSSMiB, 0),
			fmtStat(q.History.WallS, 2), q.Calls, q.History.WallS.Median*float64(q.Calls), q.SQLRows, q.HistoryRows)
	}
	return b.String()
}
