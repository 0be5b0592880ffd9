package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pod-ashiato/ashiato/src/internal/awstest"
	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/s3store"
	"github.com/pod-ashiato/ashiato/src/s3store/s3fake"
	"github.com/pod-ashiato/ashiato/src/sink"
)

func TestStoreFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		err     string // a usage error containing this, or none
		storing bool
		kind    string
	}{
		{"default: no store", nil, "", false, "configmap"},
		{"--store-in-cm", []string{"--store-in-cm"}, "", true, "configmap"},
		{"--store configmap stores", []string{"--store", "configmap"}, "", true, "configmap"},
		{"--store s3 stores", []string{"--store", "s3", "--s3-bucket", "hist", "--cluster-name", "prod"}, "", true, "s3"},
		{"--store s3 without a bucket", []string{"--store", "s3"}, "--store s3 needs --s3-bucket", false, ""},
		{"bad endpoint", []string{"--store", "s3", "--s3-bucket", "hist", "--s3-endpoint", "ftp://x"}, "invalid --s3-endpoint", false, ""},
		{"bad bucket", []string{"--store", "s3", "--s3-bucket", "Hist_1"}, "invalid --s3-bucket", false, ""},
		{"bad prefix", []string{"--store", "s3", "--s3-bucket", "hist", "--s3-prefix", "a//b"}, "invalid --s3-prefix", false, ""},
		{"bad cluster name", []string{"--store", "s3", "--s3-bucket", "hist", "--cluster-name", "a/b"}, "invalid --cluster-name", false, ""},
		{"unknown store", []string{"--store", "etcd"}, "invalid --store", false, ""},
		{"bucket without s3", []string{"--s3-bucket", "hist"}, "--s3-bucket needs --store s3", false, ""},
		{"cluster name without s3", []string{"--cluster-name", "prod"}, "--cluster-name needs --store s3", false, ""},
		{"both stores", []string{"--store-in-cm", "--store", "s3", "--s3-bucket", "hist"}, "give one", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseFlags(tt.args, &bytes.Buffer{})
			var usage usageError
			if tt.err != "" {
				if !errors.As(err, &usage) || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err %v, want one line with %q (exit 2)", err, tt.err)
				}
				return
			}
			if err != nil || c.storeInCM != tt.storing || c.store.Kind != tt.kind {
				t.Fatalf("%+v, %v; want storing %v in %s", c, err, tt.storing, tt.kind)
			}
		})
	}
	c, err := parseFlags([]string{"--retention", "2160h"}, &bytes.Buffer{})
	if err != nil || c.Retention != 2160*time.Hour {
		t.Fatalf("--retention: %v, %v", c, err)
	}
}

// kubeconfigFor writes a kubeconfig for a server that is never contacted.
func kubeconfigFor(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	content := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestS3CheckedAtStart: an endpoint or bucket that cannot be used is one
// line and exit 2, before any work, for the recorder and history alike.
func TestS3CheckedAtStart(t *testing.T) {
	awstest.Env(t)
	kubeconfig := kubeconfigFor(t)
	up := s3fake.New("hist")
	defer up.Close()
	down := s3fake.New("hist")
	down.Close()
	denied := s3fake.New("hist")
	defer denied.Close()
	denied.Fail = func(*http.Request) int { return http.StatusForbidden }
	untrusted := httptest.NewTLSServer(http.NotFoundHandler())
	defer untrusted.Close()

	tests := []struct {
		name, endpoint, bucket, want string
	}{
		{"unreachable endpoint", down.URL, "hist", "cannot use"},
		{"no such bucket", up.URL, "other", "no such bucket"},
		{"access denied", denied.URL, "hist", "refused access"},
		{"untrusted certificate", untrusted.URL, "hist", "certificate"},
	}
	for _, tt := range tests {
		for _, cmd := range [][]string{
			{"--oneshot"},
			{"history", "pod", "shop/a"},
			{"history", "incident", "n1", "--at", "now"},
		} {
			t.Run(tt.name+"/"+cmd[0], func(t *testing.T) {
				args := append(cmd, "--kubeconfig", kubeconfig, "--store", "s3", "--s3-endpoint", tt.endpoint, "--s3-bucket", tt.bucket)
				var stdout, stderr bytes.Buffer
				start := time.Now()
				err := run(t.Context(), args, &stdout, &stderr)
				var usage usageError
				if !errors.As(err, &usage) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("run = %v, want one line with %q (exit 2)", err, tt.want)
				}
				if time.Since(start) > 15*time.Second || stdout.Len() > 0 {
					t.Fatalf("took %s, stdout %q", time.Since(start), stdout.String())
				}
			})
		}
	}
}

// TestHistoryAcrossClusters: with --store s3, history reads every cluster
// under the prefix, or the one --cluster names, and each row says its
// cluster; incident finds the node's cluster.
func TestHistoryAcrossClusters(t *testing.T) {
	awstest.Env(t)
	srv := s3fake.New("hist")
	defer srv.Close()
	at := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Minute)
	for cluster, node := range map[string]string{"prod": "n1", "staging": "s1"} {
		st, err := s3store.New(t.Context(), s3store.Options{Endpoint: srv.URL, Bucket: "hist", Prefix: "pod-ashiato", Cluster: cluster})
		if err != nil {
			t.Fatal(err)
		}
		in := make(chan record.Placement, 2)
		in <- record.Placement{Namespace: "shop", Pod: "a", Node: node, Timestamp: at, Event: record.EventSnapshot}
		in <- record.Placement{Node: node, Timestamp: at.Add(time.Second), Event: record.EventNodeNotReady}
		close(in)
		s := &sink.Writer{Store: st, Retry: retry.Policy{Backoff: wait.Backoff{Duration: time.Millisecond, Steps: 10}}}
		if err := s.Run(t.Context(), in); err != nil {
			t.Fatal(err)
		}
	}
	base := []string{"--store", "s3", "--s3-endpoint", srv.URL, "--s3-bucket", "hist"}
	runOut := func(args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), append(args, base...), &stdout, &stderr)
		return stdout.String(), err
	}

	out, err := runOut("history", "pod", "shop/a", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Cluster    *string          `json:"cluster"`
		Placements []map[string]any `json:"placements"`
	}
	err = json.Unmarshal([]byte(out), &answer)
	rows := answer.Placements
	// Across clusters each row names its own; the answer names none.
	if err != nil || answer.Cluster != nil || len(rows) != 2 || rows[0]["cluster"] != "prod" || rows[1]["cluster"] != "staging" || rows[1]["node_name"] != "s1" {
		t.Fatalf("history pod -o json across clusters:\n%s", out)
	}
	out, err = runOut("history", "pod", "shop/a", "--cluster", "staging")
	if err != nil || !strings.HasPrefix(out, "CLUSTER") || strings.Count(out, "\n") != 2 || !strings.Contains(out, "staging") {
		t.Fatalf("history pod --cluster staging: %v\n%s", err, out)
	}
	out, err = runOut("history", "incident", "s1", "--at", at.Add(2*time.Second).Format(time.RFC3339), "-o", "json")
	if err != nil || !strings.Contains(out, `"cluster": "staging"`) || !strings.Contains(out, "node_not_ready") {
		t.Fatalf("history incident s1: %v\n%s", err, out)
	}
	out, err = runOut("history", "node", "n1", "--at", at.Format(time.RFC3339))
	if err != nil || !strings.Contains(out, "prod") || strings.Contains(out, "staging") {
		t.Fatalf("history node n1: %v\n%s", err, out)
	}
	if _, err := runOut("history", "pod", "shop/a", "-o", "svg"); err == nil || !strings.Contains(err.Error(), "one of prod, staging") {
		t.Fatalf("-o svg across clusters: %v, want a usage error naming them", err)
	}
}

func TestStoreCopyFlags(t *testing.T) {
	tests := []struct {
		args []string
		err  string
	}{
		{[]string{"copy", "--s3-bucket", "hist", "--cluster-name", "prod"}, ""},
		{[]string{"--s3-bucket", "hist", "copy", "--cm-namespace", "ashiato"}, ""},
		{[]string{"copy"}, "--store s3 needs --s3-bucket"},
		{[]string{"copy", "--s3-bucket", "hist", "--store", "configmap"}, "--store must be s3"},
		{[]string{"move", "--s3-bucket", "hist"}, "unknown store command"},
		{nil, "missing what to do"},
		{[]string{"copy", "--s3-bucket", "hist", "--cm-namespace", "Bad_NS"}, "invalid --cm-namespace"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			c, err := parseStoreCopyFlags(tt.args, &bytes.Buffer{})
			var usage usageError
			if tt.err != "" {
				if !errors.As(err, &usage) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want a usage error with %q", err, tt.err)
				}
				return
			}
			if err != nil || !c.kube.store.S3() || c.kube.store.Bucket != "hist" {
				t.Fatalf("%+v, %v", c, err)
			}
		})
	}
}
