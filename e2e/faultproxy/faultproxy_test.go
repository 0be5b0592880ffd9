package faultproxy

import (
	"bufio"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

func TestRequestVerb(t *testing.T) {
	tests := []struct {
		method, target string
		verb, resource string
	}{
		{"GET", "/api/v1/pods?limit=500", "list", "pods"},
		{"GET", "/api/v1/namespaces/shop/pods", "list", "pods"},
		{"GET", "/api/v1/namespaces/shop/pods?watch=true&resourceVersion=7", "watch", "pods"},
		{"GET", "/api/v1/namespaces/shop/pods/web-0", "get", "pods"},
		{"GET", "/api/v1/namespaces/shop", "get", "namespaces"},
		{"GET", "/api/v1/namespaces", "list", "namespaces"},
		{"GET", "/api/v1/namespaces/h/configmaps?labelSelector=a%3Db", "list", "configmaps"},
		{"POST", "/api/v1/namespaces/h/configmaps", "create", "configmaps"},
		{"PUT", "/api/v1/namespaces/h/configmaps/pod-ashiato-2026112614", "update", "configmaps"},
		{"PUT", "/api/v1/namespaces/shop/pods/web-0/status", "update", "pods"},
		{"DELETE", "/api/v1/namespaces/h/configmaps/x", "delete", "configmaps"},
		{"DELETE", "/api/v1/namespaces/h/configmaps", "deletecollection", "configmaps"},
		{"GET", "/apis/coordination.k8s.io/v1/namespaces/h/leases/pod-ashiato", "get", "leases"},
		{"PATCH", "/apis/apps/v1/namespaces/h/deployments/d", "patch", "deployments"},
		{"GET", "/api", "", ""},
		{"GET", "/apis/apps/v1", "", ""},
		{"GET", "/version", "", ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.target, nil)
		if verb, resource := RequestVerb(r); verb != tt.verb || resource != tt.resource {
			t.Errorf("%s %s = %q %q, want %q %q", tt.method, tt.target, verb, resource, tt.verb, tt.resource)
		}
	}
}

// upstream is a TLS server standing in for the API server: it answers 409 to
// PUT and 200 to everything else, and 401 to a request without the token that
// the proxy's transport, not the client, adds.
func upstream(t *testing.T) *rest.Config {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer admin" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPut {
			w.WriteHeader(http.StatusConflict)
			return
		}
		fmt.Fprintf(w, `{"kind":"PodList","apiVersion":"v1","items":[]}`)
	}))
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return &rest.Config{Host: srv.URL, BearerToken: "admin", TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
}

func TestHTTPInjects(t *testing.T) {
	p, err := NewHTTP(upstream(t), Options{
		Match:  func(verb, resource string) bool { return resource == "pods" || verb == "update" },
		Every:  2,
		Faults: []Fault{{Code: 429, RetryAfter: 1}, {Code: 500}, {Code: 503}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := p.WriteKubeconfig(kubeconfig); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, p.URL()+path, nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	var codes []int
	for range 7 {
		code, _ := do("GET", "/api/v1/namespaces/a/pods")
		codes = append(codes, code)
	}
	if want := []int{200, 429, 200, 500, 200, 503, 200}; !slices.Equal(codes, want) {
		t.Errorf("codes %v, want %v", codes, want)
	}
	if code, _ := do("GET", "/api/v1/namespaces/a"); code != 200 {
		t.Errorf("unmatched request: %d, want it passed on", code)
	}
	if code, retryAfter := do("PUT", "/api/v1/namespaces/h/configmaps/x"); code != 429 || retryAfter != "1" {
		t.Errorf("8th matched request: %d Retry-After %q, want the first fault again", code, retryAfter)
	}
	if code, _ := do("PUT", "/api/v1/namespaces/h/configmaps/x"); code != 409 {
		t.Errorf("PUT passed on: %d, want the upstream's 409", code)
	}
	if got := len(p.Injected()); got != 4 {
		t.Errorf("%d injected, want 4", got)
	}
	if p.Conflicts() != 1 {
		t.Errorf("%d conflicts counted, want 1", p.Conflicts())
	}
	if r := p.Requests(); r["list"] != 7 || r["get"] != 1 || r["update"] != 2 {
		t.Errorf("requests %v", r)
	}
}

// echo is a TCP server that echoes lines.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestTCPCutAndRestore(t *testing.T) {
	p, err := NewTCP(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	roundTrip := func(c net.Conn) error {
		if _, err := fmt.Fprintln(c, "hello"); err != nil {
			return err
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err == nil && line != "hello\n" {
			err = fmt.Errorf("echoed %q", line)
		}
		return err
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := roundTrip(c); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}

	if n := p.Cut(); n != 1 {
		t.Errorf("Cut reset %d connections, want 1", n)
	}
	if err := roundTrip(c); err == nil {
		t.Error("an open connection still works after Cut")
	}
	if _, err := net.Dial("tcp", p.Addr()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial after Cut: %v, want connection refused", err)
	}

	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := roundTrip(c2); err != nil {
		t.Fatalf("after Restore: %v", err)
	}
	if p.Reset() != 1 {
		t.Errorf("Reset() = %d, want 1", p.Reset())
	}
}

func TestTCPKubeconfig(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	kc := `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://api.example.com:6443", certificate-authority: ca.crt}
users:
- name: u
  user: {token: secret}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`
	if err := os.WriteFile(src, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := NewTCP("127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dst := filepath.Join(dir, "dst")
	if err := p.WriteKubeconfig(src, dst); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", dst)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://"+p.Addr() || cfg.ServerName != "api.example.com" || cfg.BearerToken != "secret" ||
		cfg.CAFile != filepath.Join(dir, "ca.crt") {
		t.Errorf("rewritten config: host %s, server name %s, token %q, CA %s", cfg.Host, cfg.ServerName, cfg.BearerToken, cfg.CAFile)
	}
	if addr, err := UpstreamAddr("https://api.example.com"); err != nil || addr != "api.example.com:443" {
		t.Errorf("UpstreamAddr = %q, %v", addr, err)
	}
}
