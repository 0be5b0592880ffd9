package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/retry"
)

// TestUntrustedServerFailsAtOnce: a server whose certificate the kubeconfig
// does not trust is a permanent error in every mode: run returns it at once
// (main prints it as one line and exits 1) instead of retrying for minutes
// (--oneshot) or forever (watch mode).
func TestUntrustedServerFailsAtOnce(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer srv.Close()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	content := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`, srv.URL) // no certificate-authority: the test server's CA is unknown
	if err := os.WriteFile(kubeconfig, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"oneshot", []string{"--oneshot"}},
		{"oneshot, stored", []string{"--oneshot", "--store-in-cm"}},
		{"watch", []string{}},
		{"list", []string{"--source", "list"}},
		{"leader election", []string{"--leader-elect"}},
		{"history", []string{"history", "node", "n1", "--at", "now"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			err := run(ctx, append(tt.args, "--kubeconfig", kubeconfig), &stdout, &stderr)
			if ctx.Err() != nil {
				t.Fatalf("still retrying after 20 s (err %v)", err)
			}
			var usage usageError
			if err == nil || errors.As(err, &usage) || !retry.Permanent(err) || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("run = %v, want the certificate error (exit 1)", err)
			}
			t.Log(err)
			if stdout.Len() > 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
}
