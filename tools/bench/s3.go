package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pod-ashiato/ashiato/e2e/faultproxy"
	"github.com/pod-ashiato/ashiato/e2e/s3server"
	"github.com/pod-ashiato/ashiato/src/s3store"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// s3Cluster is the cluster name the s3 part writes and reads.
const s3Cluster = "bench"

// s3Result is the s3 part: hours of every pod of the size in an S3 store on
// a real SeaweedFS (e2e/s3server, on this machine, TLS), written as the sink
// writes them and read back with `ashiato history`. Every request goes
// through a counting proxy (faultproxy.S3, no faults).
type s3Result struct {
	Server string `json:"server"`
	Hours  int    `json:"hours"`
	// Objects and Bytes are what the hours left in the bucket (object bodies).
	Objects int   `json:"objects"`
	Bytes   int64 `json:"bytes"`
	// EncodeSeconds is the codec's time for the hours; WriteSeconds the PUTs
	// (one create per shard, the highest first, shard 0 last, as the sink).
	EncodeSeconds float64        `json:"encode_seconds"`
	WriteSeconds  float64        `json:"write_seconds"`
	WriteRequests map[string]int `json:"write_requests"`
	Pod           *program       `json:"pod"`
	Node          *program       `json:"node"`
	// Requests of one run of each query, by operation.
	PodRequests  map[string]int `json:"pod_requests"`
	NodeRequests map[string]int `json:"node_requests"`
	// ServerRSSMiB is weed's peak resident set, read after the queries.
	ServerRSSMiB float64 `json:"server_rss_mib"`
}

// s3Bucket is a fresh SeaweedFS (e2e/s3server) with a counting proxy
// (faultproxy.S3, no faults) in front of it, and the S3 store of s3Cluster
// through the proxy. Starting it points the AWS chain of this process, and
// so of every ashiato it starts, at the server's keys and the proxy's
// certificate.
type s3Bucket struct {
	srv   *s3server.Server
	proxy *faultproxy.S3
	store *s3store.Store
}

// startS3 starts SeaweedFS in the folder name of the benchmark's temporary one.
func (b *bench) startS3(ctx context.Context, name string) (_ *s3Bucket, err error) {
	srv, err := s3server.Start(ctx, filepath.Join(b.tmp, name), s3server.Options{BinDir: b.seaweedDir(ctx)})
	if err != nil {
		return nil, fmt.Errorf("%w (bash tools/seaweedfs/build.sh builds SeaweedFS; export %s)", err, s3server.EnvBin)
	}
	x := &s3Bucket{srv: srv}
	defer func() {
		if err != nil {
			x.close(b)
		}
	}()
	pool, err := srv.CertPool()
	if err != nil {
		return nil, err
	}
	if x.proxy, err = faultproxy.NewS3(srv.Endpoint, pool, faultproxy.S3Options{}); err != nil {
		return nil, err
	}
	bundle := filepath.Join(b.tmp, name+"-ca.pem")
	if err := os.WriteFile(bundle, x.proxy.CAPEM(), 0o600); err != nil {
		return nil, err
	}
	for _, kv := range append(srv.Env(), "AWS_CA_BUNDLE="+bundle) {
		k, v, _ := strings.Cut(kv, "=")
		if err := os.Setenv(k, v); err != nil {
			return nil, err
		}
	}
	x.store, err = s3store.New(ctx, s3store.Options{Endpoint: x.proxy.URL(), Bucket: srv.Bucket, Prefix: "pod-ashiato", Cluster: s3Cluster})
	return x, err
}

func (x *s3Bucket) close(b *bench) {
	if x.proxy != nil {
		x.proxy.Close()
	}
	if err := x.srv.Close(); err != nil {
		b.log("  s3: stopping seaweedfs: %v", err)
	}
}

// flags are the store flags of ashiato's commands for the bucket.
func (x *s3Bucket) flags() []string {
	return []string{"--store", "s3", "--s3-endpoint", x.proxy.URL(), "--s3-bucket", x.srv.Bucket, "--cluster", s3Cluster}
}

// seed writes n hours of every pod of the size (storedHour), each shard with
// one create, the highest first and shard 0 last, as the sink writes them,
// and returns the objects written and the codec's and the PUTs' time.
func (x *s3Bucket) seed(ctx context.Context, s *sizeResult, n int) (objects int, encode, write time.Duration, err error) {
	return x.seedUntil(ctx, s, store.HourOf(time.Now()), n)
}

// seedUntil is seed of the n hours up to last.
func (x *s3Bucket) seedUntil(ctx context.Context, s *sizeResult, last time.Time, n int) (objects int, encode, write time.Duration, err error) {
	start := time.Now()
	err = storedShardsUntil(s, last, n, func(shards []*storeio.Shard) error {
		encode += time.Since(start)
		put := time.Now()
		defer func() { start = time.Now() }() // the next hour's encoding starts
		for i := len(shards) - 1; i >= 0; i-- {
			if _, err := x.store.Create(ctx, shards[i]); err != nil {
				return fmt.Errorf("writing %s: %w", shards[i].Name, err)
			}
		}
		write += time.Since(put)
		objects += len(shards)
		return nil
	})
	return objects, encode, write, err
}

// measureS3 writes cfg.s3Hours hours of every pod (storedHour) into a fresh
// SeaweedFS, then times `history pod` (default window) and `history node N
// --since <the hours>`.
func (b *bench) measureS3(ctx context.Context, s *sizeResult) error {
	bucket, err := b.startS3(ctx, fmt.Sprintf("s3-%d", s.Pods))
	if err != nil {
		return fmt.Errorf("s3 part: %w", err)
	}
	defer bucket.close(b)
	srv, proxy := bucket.srv, bucket.proxy
	res := &s3Result{Server: "SeaweedFS " + weedVersion(srv) + " (weed server -s3, TLS, on this machine)", Hours: b.cfg.s3Hours}
	var encode, write time.Duration
	if res.Objects, encode, write, err = bucket.seed(ctx, s, b.cfg.s3Hours); err != nil {
		return err
	}
	stats := proxy.Stats()
	res.Bytes = stats.BytesIn["PUT"]
	res.WriteRequests = stats.Requests
	res.EncodeSeconds, res.WriteSeconds = encode.Seconds(), write.Seconds()
	b.log("  s3: %d hours of %d pods: %d objects, %.1f MiB, encoded in %s, written in %s (%s)", res.Hours, s.Pods, res.Objects,
		float64(res.Bytes)/mib, encode.Round(time.Millisecond), write.Round(time.Millisecond), fmtOps(res.WriteRequests))

	pod := namespaceName(s.Pods/2, s.Namespaces) + "/" + podName(s.Pods/2)
	node := nodeName(1 % s.Nodes)
	since := fmt.Sprintf("%dh", b.cfg.s3Hours)
	queries := []struct {
		name     string
		argv     []string
		into     **program
		requests *map[string]int
	}{
		{"ashiato history pod NS/POD --store s3", []string{"history", "pod", pod}, &res.Pod, &res.PodRequests},
		{"ashiato history node NODE --since " + since + " --store s3", []string{"history", "node", node, "--since", since}, &res.Node, &res.NodeRequests},
	}
	for _, q := range queries {
		argv := append([]string{b.ashiato}, q.argv...)
		argv = append(append(argv, bucket.flags()...), "-o", "json")
		var runs []sample
		for r := range b.cfg.runs {
			before := proxy.Stats().Requests
			x, err := b.timed(ctx, argv)
			if err != nil {
				return err
			}
			if r == 0 {
				*q.requests = diffOps(proxy.Stats().Requests, before)
			}
			runs = append(runs, x)
			b.log("  run %d %s: %.2fs, %.1f MiB", r+1, q.name, x.Wall.Seconds(), float64(x.MaxRSS)/mib)
		}
		*q.into = summarize(q.name+" > /dev/null", runs)
	}
	res.ServerRSSMiB = srv.PeakRSSMiB()
	s.S3 = res
	return nil
}

// seaweedDir is $ASHIATO_SEAWEEDFS_BIN, else the folder
// tools/seaweedfs/build.sh builds into.
func (b *bench) seaweedDir(ctx context.Context) string {
	if dir := os.Getenv(s3server.EnvBin); dir != "" {
		return dir
	}
	out, err := exec.CommandContext(ctx, "bash", filepath.Join(b.root, "tools", "seaweedfs", "build.sh"), "--print-dir").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func weedVersion(srv *s3server.Server) string {
	v, err := srv.Version()
	if err != nil {
		return "(version unknown: " + err.Error() + ")"
	}
	return v
}

func diffOps(after, before map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// fmtOps prints requests by operation: "LIST 2, PUT 9".
func fmtOps(ops map[string]int) string {
	keys := make([]string, 0, len(ops))
	total := 0
	for k, v := range ops {
		keys = append(keys, k)
		total += v
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, ops[k])
	}
	return fmt.Sprintf("%d requests: %s", total, strings.Join(parts, ", "))
}

// s3Table is the s3 part's figures.
func s3Table(r *s3Result, pods int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nThe S3 store, %d hour(s) of %s pods on %s, through a counting proxy:\n\n", r.Hours, groupThousands(int64(pods)), r.Server)
	fmt.Fprintf(&b, "Written: %d objects, %s bytes (%.1f MiB); encode %.2f s, PUTs %.2f s; %s.\n\n",
		r.Objects, groupThousands(r.Bytes), float64(r.Bytes)/mib, r.EncodeSeconds, r.WriteSeconds, fmtOps(r.WriteRequests))
	fmt.Fprintln(&b, "| query | wall time (s) | CPU time (s) | peak RSS (MiB) | requests (one run) |")
	fmt.Fprintln(&b, "|---|---|---|---|---|")
	for _, q := range []struct {
		p   *program
		ops map[string]int
	}{{r.Pod, r.PodRequests}, {r.Node, r.NodeRequests}} {
		if q.p != nil {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", q.p.Command, fmtStat(q.p.WallS, 2), fmtStat(q.p.CPUS, 2), fmtStat(q.p.RSSMiB, 1), fmtOps(q.ops))
		}
	}
	fmt.Fprintf(&b, "\nSeaweedFS's peak resident set: %.0f MiB.\n", r.ServerRSSMiB)
	return b.String()
}
