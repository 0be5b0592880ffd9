package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/clock"

	"github.com/pod-ashiato/ashiato/src/access"
	"github.com/pod-ashiato/ashiato/src/internal/awstest"
	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/s3store"
	"github.com/pod-ashiato/ashiato/src/s3store/s3fake"
	"github.com/pod-ashiato/ashiato/src/serve"
	"github.com/pod-ashiato/ashiato/src/sink"
)

// TestJSONEqualsWebTwin: `history pod|node|incident -o json` prints, byte
// for byte, what the web view's JSON twin (?format=json) answers to the
// same question about the same store (package report is both).
func TestJSONEqualsWebTwin(t *testing.T) {
	awstest.Env(t)
	srv := s3fake.New("hist")
	defer srv.Close()
	st, err := s3store.New(t.Context(), s3store.Options{Endpoint: srv.URL, Bucket: "hist", Prefix: "pod-ashiato", Cluster: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	// web-1 runs on n1 across an hour's edge until n1 fails at T; web-2
	// replaces it on n2; a bare pod on n1 never comes back.
	at := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Hour).Add(10 * time.Minute)
	place := func(pod, node, owner string, ts time.Time) record.Placement {
		p := record.Placement{Namespace: "shop", Pod: pod, Node: node, Timestamp: ts, Event: record.EventSnapshot}
		if owner != "" {
			p.OwnerKind, p.OwnerName = "ReplicaSet", owner
		}
		return p
	}
	recs := []record.Placement{
		place("web-1", "n1", "web", at.Add(-40*time.Minute)), place("solo", "n1", "", at.Add(-40*time.Minute)),
		place("web-1", "n1", "web", at.Add(-5*time.Minute)), place("solo", "n1", "", at.Add(-5*time.Minute)),
		{Node: "n1", Timestamp: at, Event: record.EventNodeNotReady},
		place("web-2", "n2", "web", at.Add(2*time.Minute)),
	}
	in := make(chan record.Placement, len(recs))
	for _, r := range recs {
		in <- r
	}
	close(in)
	if err := (&sink.Writer{Store: st, Retry: retry.Policy{Backoff: wait.Backoff{Duration: time.Millisecond, Steps: 10}}}).Run(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer((&serve.Server{Store: st, Cluster: "prod", Retry: retry.Policy{MaxElapsed: time.Second}, Clock: clock.RealClock{}, Auth: access.Open().Wrap}).Handler())
	defer web.Close()

	stamp := func(t time.Time) string { return t.Format(time.RFC3339) }
	since, until := stamp(at.Add(-time.Hour)), stamp(at.Add(time.Hour))
	for _, tt := range []struct {
		name string
		cli  []string
		page string
		q    url.Values
	}{
		{"node at T", []string{"history", "node", "n1", "--at", stamp(at.Add(-time.Minute))}, "/node", url.Values{"node": {"n1"}, "at": {stamp(at.Add(-time.Minute))}}},
		{"node over a range", []string{"history", "node", "n1", "--since", since, "--until", until}, "/node", url.Values{"node": {"n1"}, "since": {since}, "until": {until}}},
		{"pod over a range", []string{"history", "pod", "shop/web-1", "--since", since, "--until", until}, "/pod", url.Values{"pod": {"shop/web-1"}, "since": {since}, "until": {until}}},
		{"incident", []string{"history", "incident", "n1", "--at", stamp(at)}, "/incident", url.Values{"node": {"n1"}, "at": {stamp(at)}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var cli, stderr bytes.Buffer
			args := append(tt.cli, "-o", "json", "--store", "s3", "--s3-endpoint", srv.URL, "--s3-bucket", "hist", "--cluster", "prod")
			if err := run(t.Context(), args, &cli, &stderr); err != nil {
				t.Fatalf("%q: %v\n%s", args, err, stderr.String())
			}
			tt.q.Set("format", "json")
			res, err := http.Get(web.URL + tt.page + "?" + tt.q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			twin, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d %v\n%s", tt.page, res.StatusCode, err, twin)
			}
			if !bytes.Equal(cli.Bytes(), twin) {
				t.Errorf("history -o json:\n%s\nthe web view's twin:\n%s", cli.Bytes(), twin)
			}
			if !bytes.Contains(twin, []byte(`"pod_name": "web-1"`)) {
				t.Errorf("the answer lacks web-1:\n%s", twin)
			}
		})
	}
}
