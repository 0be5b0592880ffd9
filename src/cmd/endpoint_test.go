package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/internal/awstest"
	"github.com/pod-ashiato/ashiato/src/s3store/s3fake"
)

// TestEndpointUserInfoRefusedUnseen: user info in --s3-endpoint is never used
// (credentials come from the AWS chain only), so it is refused, exit 2, by
// every command, in one line that shows neither the user nor the password,
// however the URL is malformed around them.
func TestEndpointUserInfoRefusedUnseen(t *testing.T) {
	awstest.Env(t)
	kubeconfig := kubeconfigFor(t)
	endpoints := []string{
		"https://alice:s3cr3t@s3.example.com",
		"alice:s3cr3t@s3.example.com:9000",
		"https://alice@s3.example.com",
		"http://alice:s3cr3t@127.0.0.1:1/x",
		"https://alice:s3/cr3t@s3.example.com",      // a '/' in the password: the URL's host is "alice:s3"
		"https://alice:s3cr3t@s3.example.com:99999", // a bad port after the user info
		"https://alice:s3%zzcr3t@s3.example.com",    // a bad escape in the password
		"https://alice:s3cr3t@",                     // no host
	}
	commands := [][]string{
		{"--oneshot", "--kubeconfig", kubeconfig},
		{"history", "pod", "shop/a"},
		{"history", "node", "n1", "--since", "1h"},
		{"history", "incident", "n1", "--at", "now"},
		{"store", "copy", "--kubeconfig", kubeconfig, "--cluster-name", "prod"},
		{"serve", "--addr", "127.0.0.1:0"},
	}
	for _, endpoint := range endpoints {
		for _, cmd := range commands {
			t.Run(cmd[0]+"/"+endpoint, func(t *testing.T) {
				args := append(append([]string{}, cmd...), "--store", "s3", "--s3-bucket", "hist", "--s3-endpoint", endpoint)
				var stdout, stderr bytes.Buffer
				err := run(t.Context(), args, &stdout, &stderr)
				var usage usageError
				if !errors.As(err, &usage) || !strings.Contains(err.Error(), "--s3-endpoint") || strings.Contains(err.Error(), "\n") {
					t.Fatalf("run = %v, want one line naming --s3-endpoint (exit 2)", err)
				}
				for what, out := range map[string]string{"the error": err.Error(), "stdout": stdout.String(), "stderr": stderr.String()} {
					if strings.Contains(out, "cr3t") || strings.Contains(out, "alice") {
						t.Errorf("%s shows the endpoint's user info: %q", what, out)
					}
				}
			})
		}
	}
}

// TestHTTPEndpointWarnsOnce: an http:// endpoint works, with one warning at
// start (requests and the history travel unencrypted), not one per request.
func TestHTTPEndpointWarnsOnce(t *testing.T) {
	awstest.Env(t)
	srv := s3fake.New("hist")
	defer srv.Close()
	base := []string{"--store", "s3", "--s3-endpoint", srv.URL, "--s3-bucket", "hist"}
	warnings := func(out string) int { return strings.Count(out, "clear text") }

	// The recorder: its diagnostics are JSON lines on stderr. The API server
	// is never reached; the run ends with its context.
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	_ = run(ctx, append([]string{"--oneshot", "--kubeconfig", kubeconfigFor(t)}, base...), &stdout, &stderr)
	if n := warnings(stderr.String()); n != 1 || !strings.Contains(stderr.String(), `"level":"warning"`) {
		t.Errorf("the recorder warned %d times of the http endpoint, want once, as a JSON line; stderr:\n%s", n, stderr.String())
	}

	// A reader, through many requests.
	stderr.Reset()
	if err := run(t.Context(), append([]string{"history", "pod", "shop/a"}, base...), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if n := warnings(stderr.String()); n != 1 || !strings.Contains(stderr.String(), srv.URL) {
		t.Errorf("history warned %d times of the http endpoint, want once, naming it; stderr:\n%s", n, stderr.String())
	}
}
