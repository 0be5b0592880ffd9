// Package faultproxy puts faults between Pod Ashiato and the servers it
// talks to, for the e2e fault suites (e2e/faults_test.go,
// e2e/s3faults_test.go, docs/faults.md). Two proxies for the Kubernetes API
// server, each with a kubeconfig that sends a client through it:
//
//   - TCP forwards bytes. TLS and HTTP/2 run end to end, so the API server's
//     certificate and the client's credentials work unchanged. Cut closes its
//     port and resets every open connection, as if the path to the API server
//     were gone; Restore opens the same port again.
//   - HTTP terminates TLS with a certificate of its own and sends each request
//     on to the API server with the credentials of a rest.Config (the suite's
//     admin), answering some of them itself: a 429 or 5xx instead of the API
//     server's answer, or the API server's answer after a delay. It counts
//     requests by verb, what it injected, and the Conflicts the API server
//     answered.
//
// And one for an S3-compatible server (s3.go): S3 answers 503 SlowDown or 500
// InternalError instead of the server for a share of requests, counts
// requests and bytes by operation, and cuts the path. TCP also serves S3
// unchanged: TLS runs end to end and SigV4's signed Host is the proxy's
// address either way.
//
// All of them only listen on 127.0.0.1.
package faultproxy

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// TCP is a byte-forwarding proxy on a fixed 127.0.0.1 port that can be cut
// and restored. Its methods are safe for concurrent use.
type TCP struct {
	upstream string // host:port
	addr     string // 127.0.0.1:port, kept across cuts

	mu    sync.Mutex
	ln    net.Listener // nil while cut
	conns map[net.Conn]struct{}
	reset int // connections reset by cuts
	wg    sync.WaitGroup
}

// NewTCP listens on a free 127.0.0.1 port and forwards every connection to
// upstream (host:port). Close it when done.
func NewTCP(upstream string) (*TCP, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("tcp proxy: %w", err)
	}
	p := &TCP{upstream: upstream, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	return p, nil
}

// Addr is the proxy's host:port.
func (p *TCP) Addr() string { return p.addr }

// Reset is how many connections the cuts have reset so far.
func (p *TCP) Reset() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reset
}

// Cut closes the port (new connections are refused) and resets every open
// connection, both sides. It returns how many client connections it reset.
func (p *TCP) Cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return 0
	}
	_ = p.ln.Close()
	p.ln = nil
	n := 0
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, not FIN: the connection is broken, not closed
		}
		_ = c.Close()
		if tc, ok := c.(*net.TCPConn); ok && tc.LocalAddr().String() == p.addr {
			n++
		}
		delete(p.conns, c)
	}
	p.reset += n
	return n
}

// Restore opens the port again after Cut. The kernel may hold the port for a
// moment; Restore retries for up to 10 s.
func (p *TCP) Restore() error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		ln, err := net.Listen("tcp", p.addr)
		if err == nil {
			p.mu.Lock()
			p.serve(ln)
			p.mu.Unlock()
			return nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return fmt.Errorf("tcp proxy: reopening %s: %w", p.addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Close cuts the proxy for good and waits for its goroutines.
func (p *TCP) Close() {
	p.Cut()
	p.wg.Wait()
}

// serve accepts on ln until it is closed. Callers hold p.mu, or own p.
func (p *TCP) serve(ln net.Listener) {
	p.ln = ln
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.forward(ln, c) })
		}
	})
}

// track registers c unless the listener it came through has been cut since.
func (p *TCP) track(ln net.Listener, c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != ln {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *TCP) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

// forward pipes c to a new upstream connection until either side closes.
func (p *TCP) forward(ln net.Listener, c net.Conn) {
	defer c.Close()
	if !p.track(ln, c) {
		return
	}
	defer p.untrack(c)
	up, err := net.DialTimeout("tcp", p.upstream, 10*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	if !p.track(ln, up) {
		return
	}
	defer p.untrack(up)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
}

// WriteKubeconfig copies the kubeconfig at src to dst with the current
// context's cluster reached through the proxy. The TLS server name is set to
// the API server's own host, so its certificate still verifies; credentials
// are kept.
func (p *TCP) WriteKubeconfig(src, dst string) error {
	cfg, err := clientcmd.LoadFromFile(src)
	if err != nil {
		return fmt.Errorf("reading kubeconfig: %w", err)
	}
	if err := clientcmd.ResolveLocalPaths(cfg); err != nil {
		return fmt.Errorf("reading kubeconfig: %w", err)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil || cfg.Clusters[ctx.Cluster] == nil {
		return fmt.Errorf("kubeconfig %s: no cluster for the current context %q", src, cfg.CurrentContext)
	}
	cluster := cfg.Clusters[ctx.Cluster]
	u, err := url.Parse(cluster.Server)
	if err != nil {
		return fmt.Errorf("kubeconfig %s: server: %w", src, err)
	}
	if cluster.TLSServerName == "" {
		cluster.TLSServerName = u.Hostname()
	}
	cluster.Server = "https://" + p.addr
	if err := clientcmd.WriteToFile(*cfg, dst); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	return nil
}

// UpstreamAddr is the host:port of an API server URL, as NewTCP takes it.
func UpstreamAddr(server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil {
		return "", fmt.Errorf("server %q: %w", server, err)
	}
	if u.Port() != "" {
		return u.Host, nil
	}
	port := "443"
	if u.Scheme == "http" {
		port = "80"
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// Fault is an answer the HTTP proxy gives instead of the API server's.
type Fault struct {
	Code int
	// RetryAfter, when positive, is sent as the Retry-After header in
	// seconds. client-go retries a 429 or 5xx that carries it by itself (up to
	// 10 times); without it the error reaches the caller.
	RetryAfter int
}

// Options says which requests the HTTP proxy interferes with.
type Options struct {
	// Match selects the requests it interferes with, by verb (get, list,
	// watch, create, update, patch, delete, deletecollection) and resource
	// (pods, configmaps, namespaces, ...). Nil matches none.
	Match func(verb, resource string) bool
	// Every makes each Every-th matched request fail with the next of Faults,
	// in turn. Zero injects no faults.
	Every  int
	Faults []Fault
	// Delay holds each matched request this long before sending it on (a
	// slow API server widens the window in which writers race).
	Delay time.Duration
}

// Injected is one fault the HTTP proxy answered.
type Injected struct {
	At       time.Time
	Verb     string
	Resource string
	Code     int
}

// HTTP is the fault-injecting HTTP proxy. Its methods are safe for concurrent use.
type HTTP struct {
	srv  *httptest.Server
	opts Options

	mu        sync.Mutex
	matched   int
	requests  map[string]int // by verb
	injected  []Injected
	conflicts int
}

// NewHTTP starts a TLS proxy to the API server of upstream, which also gives
// the credentials every request is sent on with. Close it when done.
func NewHTTP(upstream *rest.Config, opts Options) (*HTTP, error) {
	target, err := url.Parse(upstream.Host)
	if err != nil {
		return nil, fmt.Errorf("http proxy: upstream %q: %w", upstream.Host, err)
	}
	if target.Scheme == "" {
		target.Scheme = "https"
	}
	transport, err := rest.TransportFor(upstream)
	if err != nil {
		return nil, fmt.Errorf("http proxy: upstream transport: %w", err)
	}
	p := &HTTP{opts: opts, requests: map[string]int{}}
	forward := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Header.Del("Authorization") // the upstream transport authenticates
		},
		Transport:     transport,
		FlushInterval: -1, // watches stream
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode == http.StatusConflict {
				p.mu.Lock()
				p.conflicts++
				p.mu.Unlock()
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			writeStatus(w, http.StatusBadGateway, 0, "faultproxy: upstream: "+err.Error())
		},
	}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		verb, resource := RequestVerb(r)
		if fault, delay := p.decide(verb, resource); fault != nil {
			writeStatus(w, fault.Code, fault.RetryAfter, fmt.Sprintf("faultproxy: injected %d", fault.Code))
			return
		} else if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		forward.ServeHTTP(w, r)
	}))
	p.srv.EnableHTTP2 = true
	// Clients that go away mid-request (a cut watch, a stopped process) are
	// expected here, not worth a line in the test log.
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	p.srv.StartTLS()
	return p, nil
}

// decide counts the request and returns the fault to answer, if any, or how
// long to hold it.
func (p *HTTP) decide(verb, resource string) (*Fault, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests[verb]++
	if p.opts.Match == nil || !p.opts.Match(verb, resource) {
		return nil, 0
	}
	p.matched++
	if p.opts.Every > 0 && len(p.opts.Faults) > 0 && p.matched%p.opts.Every == 0 {
		f := p.opts.Faults[(p.matched/p.opts.Every-1)%len(p.opts.Faults)]
		p.injected = append(p.injected, Injected{At: time.Now(), Verb: verb, Resource: resource, Code: f.Code})
		return &f, 0
	}
	return nil, p.opts.Delay
}

// writeStatus answers as the API server does: a metav1.Status in JSON.
func writeStatus(w http.ResponseWriter, code, retryAfter int, message string) {
	reason := metav1.StatusReasonInternalError
	switch code {
	case http.StatusTooManyRequests:
		reason = metav1.StatusReasonTooManyRequests
	case http.StatusServiceUnavailable:
		reason = metav1.StatusReasonServiceUnavailable
	}
	status := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: message, Reason: reason, Code: int32(code),
	}
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		status.Details = &metav1.StatusDetails{RetryAfterSeconds: int32(retryAfter)}
	}
	body, _ := json.Marshal(status)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// URL is the proxy's https://127.0.0.1:port.
func (p *HTTP) URL() string { return p.srv.URL }

// Close stops the proxy, ending open requests (watches included).
func (p *HTTP) Close() {
	p.srv.CloseClientConnections()
	p.srv.Close()
}

// Injected is every fault answered so far, in order.
func (p *HTTP) Injected() []Injected {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Injected(nil), p.injected...)
}

// Requests is how many requests of each verb the proxy has received,
// answered by it or not.
func (p *HTTP) Requests() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.requests))
	for k, v := range p.requests {
		out[k] = v
	}
	return out
}

// Conflicts is how many 409 Conflict answers of the API server it passed on.
func (p *HTTP) Conflicts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conflicts
}

// WriteKubeconfig writes a kubeconfig that reaches the API server through the
// proxy: the proxy's server and CA, and no credentials (the proxy adds them).
func (p *HTTP) WriteKubeconfig(dst string) error {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw})
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["faultproxy"] = &clientcmdapi.Cluster{Server: p.srv.URL, CertificateAuthorityData: ca}
	cfg.AuthInfos["faultproxy"] = &clientcmdapi.AuthInfo{}
	cfg.Contexts["faultproxy"] = &clientcmdapi.Context{Cluster: "faultproxy", AuthInfo: "faultproxy"}
	cfg.CurrentContext = "faultproxy"
	if err := clientcmd.WriteToFile(*cfg, dst); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	return nil
}

// RequestVerb is the Kubernetes verb and resource of an API request, as the
// API server's authorizer sees them; "" for anything else (discovery,
// /version, /healthz).
func RequestVerb(r *http.Request) (verb, resource string) {
	path := strings.Trim(r.URL.Path, "/")
	var parts []string
	switch {
	case strings.HasPrefix(path, "api/"):
		parts = strings.Split(path, "/")[2:] // api/v1/...
	case strings.HasPrefix(path, "apis/"):
		parts = strings.Split(path, "/")
		if len(parts) < 3 {
			return "", ""
		}
		parts = parts[3:] // apis/group/version/...
	default:
		return "", ""
	}
	if len(parts) >= 3 && parts[0] == "namespaces" {
		parts = parts[2:] // namespaces/NS/resource/...
	}
	if len(parts) == 0 {
		return "", ""
	}
	resource = parts[0]
	collection := len(parts) == 1
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		switch {
		case q.Get("watch") == "true" || q.Get("watch") == "1":
			return "watch", resource
		case collection:
			return "list", resource
		}
		return "get", resource
	case http.MethodPost:
		return "create", resource
	case http.MethodPut:
		return "update", resource
	case http.MethodPatch:
		return "patch", resource
	case http.MethodDelete:
		if collection {
			return "deletecollection", resource
		}
		return "delete", resource
	}
	return strings.ToLower(r.Method), resource
}
