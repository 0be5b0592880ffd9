package e2e

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pod-ashiato/ashiato/e2e/s3server"
	"github.com/pod-ashiato/ashiato/src/compact"
	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/s3store"
	"github.com/pod-ashiato/ashiato/src/sink"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeread"
	"github.com/pod-ashiato/ashiato/src/table"
)

// TestCompactS3: hours the sink wrote into SeaweedFS are compacted into
// Parquet beside them, conditional creates and listings against a real S3
// service; the objects read back with parquet-go hold exactly the rows of
// the hours the store decodes; a second pass writes nothing.
func TestCompactS3(t *testing.T) {
	srv := s3server.StartT(t, s3server.Options{})
	s3Env(t, srv)
	const cluster, prefix = "compact", s3Prefix + "-compact"
	st, err := s3store.New(t.Context(), s3store.Options{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Prefix: prefix, Cluster: cluster})
	if err != nil {
		t.Fatal(err)
	}
	policy := retry.Policy{Backoff: retry.DefaultBackoff(), MaxElapsed: 30 * time.Second}

	// Three past hours through the product's writer: pods that stay across
	// the hours (continued), one that moves, one that leaves, node events
	// with labels.
	first := store.HourOf(time.Now()).Add(-5 * time.Hour)
	in := make(chan record.Placement)
	w := &sink.Writer{Store: st, Retry: policy, FlushInterval: time.Hour}
	stored := make(chan error, 1)
	go func() { stored <- w.Run(context.Background(), in) }()
	for h := range 3 {
		start := first.Add(time.Duration(h) * time.Hour)
		for m := 0; m < 60; m += 5 {
			at := start.Add(time.Duration(m)*time.Minute + 7*time.Second)
			for p := range 20 {
				if p == 19 && (h > 0 || m > 30) {
					continue // web-19 left at half past the first hour
				}
				node := fmt.Sprintf("node-%d", p%4)
				if p == 0 && h == 2 && m >= 20 {
					node = "node-9" // web-0 moved
				}
				in <- record.Placement{Namespace: "shop", Pod: fmt.Sprintf("web-%d", p), Node: node, Timestamp: at,
					Event: record.EventSnapshot, OwnerKind: "ReplicaSet", OwnerName: "web-5d8f"}
			}
		}
		in <- record.Placement{Node: "node-1", Timestamp: start.Add(12 * time.Minute), Event: record.EventNodeNotReady,
			Reason: "KubeletNotReady", NodeLabels: map[string]string{"topology.kubernetes.io/zone": "z1"}}
		in <- record.Placement{Node: "node-1", Timestamp: start.Add(12 * time.Minute), Event: record.EventNodeReady,
			NodeLabels: map[string]string{"topology.kubernetes.io/zone": "z1"}}
	}
	close(in)
	if err := <-stored; err != nil {
		t.Fatalf("sink: %v", err)
	}

	c, err := compact.New(compact.Options{Store: st, Keep: 7 * 24 * time.Hour, Retry: policy})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Once(t.Context())
	if err != nil {
		t.Fatalf("compaction: %v", err)
	}
	if len(res.Compacted) != 3 || len(res.Written) != 6 {
		t.Fatalf("compacted %v, wrote %v; want 3 hours, 6 files", res.Compacted, res.Written)
	}

	client, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	get := func(key string) []byte {
		t.Helper()
		out, err := client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String(prefix + "/" + key)})
		if err != nil {
			t.Fatalf("GET %s: %v", key, err)
		}
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var (
		prev      *store.Hour
		continued int
	)
	for h := range 3 {
		hour := first.Add(time.Duration(h) * time.Hour)
		objs, err := storeread.ReadHour(t.Context(), st, hour, policy)
		if err != nil {
			t.Fatal(err)
		}
		decoded, _, warnings := store.Decode(t.Context(), hour, objs)
		if len(warnings) > 0 {
			t.Fatalf("hour %s: %v", hour, warnings)
		}
		placements, err := table.Read[table.Placement](get(table.Key("", table.Placements, cluster, hour)))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := placementLines(placements), decodedLines(decoded, prev); got != want {
			t.Errorf("hour %s placements:\n%s\nwant (store.Decode):\n%s", hour.Format(time.RFC3339), got, want)
		}
		for _, r := range placements {
			if r.Continued {
				continued++
			}
		}
		events, err := table.Read[table.NodeEvent](get(table.Key("", table.NodeEvents, cluster, hour)))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := eventLines(events), decodedEventLines(decoded); got != want {
			t.Errorf("hour %s node events:\n%s\nwant:\n%s", hour.Format(time.RFC3339), got, want)
		}
		prev = decoded
	}

	if continued < 2*18 {
		t.Errorf("%d rows continue a stay of the hour before, want the 18 pods that stayed, twice", continued)
	}

	again, err := c.Once(t.Context())
	if err != nil || len(again.Written) != 0 {
		t.Errorf("second pass wrote %v, %v; want nothing", again.Written, err)
	}
	if clusters, err := st.Clusters(t.Context(), policy); err != nil || !slices.Equal(clusters, []string{cluster}) {
		t.Errorf("clusters %v, %v: the tables folder is not a cluster", clusters, err)
	}
}

func placementLines(rows []table.Placement) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%s/%s %s %s/%s %s %s %v\n", r.Namespace, r.Pod, r.Node, r.OwnerKind, r.OwnerName,
			r.FirstSeen.Format(time.TimeOnly), r.LastSeen.Format(time.TimeOnly), r.Continued)
	}
	return b.String()
}

// decodedLines is what placementLines should read, from the decoded hour
// (and the hour before, for continued: history's rule, written out here).
func decodedLines(h, prev *store.Hour) string {
	var b strings.Builder
	for _, ref := range h.Refs() {
		o := h.Owners[ref]
		for _, s := range h.Pods[ref] {
			continued := false
			if prev != nil {
				for _, p := range prev.Pods[ref] {
					continued = continued || p.Node == s.Node && !p.Last.Before(prev.Start.Add(time.Hour-store.LastSeenStep))
				}
			}
			fmt.Fprintf(&b, "%s %s %s/%s %s %s %v\n", ref, s.Node, o.Kind, o.Name,
				s.First.Format(time.TimeOnly), s.Last.Format(time.TimeOnly), continued)
		}
	}
	return b.String()
}

func eventLines(rows []table.NodeEvent) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%s %s %s %q %v\n", r.Node, r.Timestamp.Format(time.TimeOnly), r.Event, r.Reason, r.Labels)
	}
	return b.String()
}

func decodedEventLines(h *store.Hour) string {
	var b strings.Builder
	for _, e := range h.Nodes {
		fmt.Fprintf(&b, "%s %s %s %q %v\n", e.Node, e.At.Format(time.TimeOnly), e.Event, e.Reason, h.NodeLabels[e.Node])
	}
	return b.String()
}
