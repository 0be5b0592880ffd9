package faultproxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// S3Fault is an answer the S3 proxy gives instead of the server's: an HTTP
// status with the S3 error code in the XML body, as S3 sends them (503
// SlowDown when throttling, 500 InternalError).
type S3Fault struct {
	Code   int
	S3Code string
}

// The faults S3 itself answers under load or trouble.
var (
	SlowDown      = S3Fault{Code: http.StatusServiceUnavailable, S3Code: "SlowDown"}
	InternalError = S3Fault{Code: http.StatusInternalServerError, S3Code: "InternalError"}
)

// S3Options says which requests the S3 proxy answers itself.
type S3Options struct {
	// Match selects the requests it interferes with, by operation (see
	// S3Operation) and object key. Nil matches every request.
	Match func(op, key string) bool
	// Every makes each Every-th matched request fail with the next of Faults,
	// in turn: Every 3 fails a third of them. Zero injects nothing.
	Every  int
	Faults []S3Fault
}

// S3Stats is what the S3 proxy has seen, by operation: requests received
// (answered by it or not), request and response body bytes passed through,
// and the statuses the clients got.
type S3Stats struct {
	Requests map[string]int
	BytesIn  map[string]int64
	BytesOut map[string]int64
	Statuses map[int]int
}

// S3 is an HTTPS proxy in front of an S3-compatible server: the path between
// a client and the server, which it can fail for a share of requests (S3Options)
// or cut altogether (Cut, Restore). It terminates TLS with a certificate of
// its own (CAPEM) and keeps each request's Host header: SigV4 signs it, so
// the server checks the signature against the address the client signed.
// Its methods are safe for concurrent use.
type S3 struct {
	addr    string // 127.0.0.1:port, kept across cuts
	cert    tls.Certificate
	certPEM []byte
	forward *httputil.ReverseProxy

	mu       sync.Mutex
	opts     S3Options
	matched  int
	injected []Injected
	stats    S3Stats
	srv      *http.Server // nil while cut
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup
}

// NewS3 starts a proxy on a free 127.0.0.1 port to the S3 server at upstream
// (https://host:port), whose certificate roots verifies. Close it when done.
func NewS3(upstream string, roots *x509.CertPool, opts S3Options) (*S3, error) {
	target, err := url.Parse(upstream)
	if err != nil || target.Host == "" {
		return nil, fmt.Errorf("s3 proxy: upstream %q: want https://host:port (%v)", upstream, err)
	}
	cert, certPEM, err := selfSigned()
	if err != nil {
		return nil, fmt.Errorf("s3 proxy: %w", err)
	}
	p := &S3{cert: cert, certPEM: certPEM, opts: opts, conns: map[net.Conn]struct{}{}, stats: S3Stats{
		Requests: map[string]int{}, BytesIn: map[string]int64{}, BytesOut: map[string]int64{}, Statuses: map[int]int{},
	}}
	p.forward = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // signed by SigV4: must reach the server unchanged
		},
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: 64,
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			writeS3Error(w, S3Fault{Code: http.StatusBadGateway, S3Code: "BadGateway"}, "faultproxy: upstream: "+err.Error())
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("s3 proxy: %w", err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	return p, nil
}

// URL is the proxy's endpoint, https://127.0.0.1:port.
func (p *S3) URL() string { return "https://" + p.addr }

// CAPEM is the proxy's certificate, self-signed: what a client's
// AWS_CA_BUNDLE must hold to reach the server through the proxy.
func (p *S3) CAPEM() []byte { return p.certPEM }

// Set replaces the options; the count of matched requests starts again.
func (p *S3) Set(opts S3Options) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opts, p.matched = opts, 0
}

// Injected is every fault answered so far, in order (Verb holds the operation,
// Resource the key).
func (p *S3) Injected() []Injected {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Injected(nil), p.injected...)
}

// Stats is a copy of what the proxy has counted so far.
func (p *S3) Stats() S3Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := S3Stats{Requests: map[string]int{}, BytesIn: map[string]int64{}, BytesOut: map[string]int64{}, Statuses: map[int]int{}}
	for k, v := range p.stats.Requests {
		out.Requests[k] = v
	}
	for k, v := range p.stats.BytesIn {
		out.BytesIn[k] = v
	}
	for k, v := range p.stats.BytesOut {
		out.BytesOut[k] = v
	}
	for k, v := range p.stats.Statuses {
		out.Statuses[k] = v
	}
	return out
}

// Cut closes the port (new connections are refused) and closes every open
// connection, as if the path to the server were gone.
func (p *S3) Cut() {
	p.mu.Lock()
	srv := p.srv
	p.srv = nil
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST: the path broke, nobody closed it
		}
	}
	p.mu.Unlock()
	if srv != nil {
		_ = srv.Close() // closes the listener and every connection
	}
}

// Restore opens the same port again after Cut, retrying for up to 10 s
// while the kernel holds it.
func (p *S3) Restore() error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		ln, err := net.Listen("tcp", p.addr)
		if err == nil {
			p.serve(ln)
			return nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return fmt.Errorf("s3 proxy: reopening %s: %w", p.addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Close cuts the proxy for good and waits for it.
func (p *S3) Close() {
	p.Cut()
	p.wg.Wait()
}

func (p *S3) serve(ln net.Listener) {
	srv := &http.Server{
		Handler:   http.HandlerFunc(p.handle),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{p.cert}, MinVersion: tls.VersionTLS12},
		// Clients that go away mid-request are expected here.
		ErrorLog: log.New(io.Discard, "", 0),
		ConnState: func(c net.Conn, s http.ConnState) {
			p.mu.Lock()
			defer p.mu.Unlock()
			switch s {
			case http.StateNew:
				p.conns[c] = struct{}{}
			case http.StateClosed, http.StateHijacked:
				delete(p.conns, c)
			}
		},
	}
	p.mu.Lock()
	p.srv = srv
	p.mu.Unlock()
	p.wg.Go(func() { _ = srv.ServeTLS(ln, "", "") })
}

func (p *S3) handle(w http.ResponseWriter, r *http.Request) {
	op, key := S3Operation(r)
	in := &countingReader{r: r.Body}
	r.Body = in
	cw := &countingWriter{ResponseWriter: w, code: http.StatusOK}
	if fault := p.decide(op, key); fault != nil {
		_, _ = io.Copy(io.Discard, r.Body) // read what the client sends, as a server would
		writeS3Error(cw, *fault, fmt.Sprintf("faultproxy: injected %d %s", fault.Code, fault.S3Code))
	} else {
		p.forward.ServeHTTP(cw, r)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.BytesIn[op] += in.n
	p.stats.BytesOut[op] += cw.n
	p.stats.Statuses[cw.code]++
}

// decide counts the request and returns the fault to answer, if any.
func (p *S3) decide(op, key string) *S3Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Requests[op]++
	if p.opts.Match != nil && !p.opts.Match(op, key) {
		return nil
	}
	p.matched++
	if p.opts.Every > 0 && len(p.opts.Faults) > 0 && p.matched%p.opts.Every == 0 {
		f := p.opts.Faults[(p.matched/p.opts.Every-1)%len(p.opts.Faults)]
		p.injected = append(p.injected, Injected{At: time.Now(), Verb: op, Resource: key, Code: f.Code})
		return &f
	}
	return nil
}

// S3Operation names an S3 request of path-style addressing (/bucket/key):
// LIST (a bucket's listing), GET, HEAD, PUT, DELETE of an object, DELETES (a
// multi-object delete), and BUCKET-<METHOD> for the rest on a bucket. The key
// is the object's, "" for bucket requests.
func S3Operation(r *http.Request) (op, key string) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	_, key, _ = strings.Cut(path, "/")
	q := r.URL.Query()
	switch {
	case key == "" && r.Method == http.MethodGet && !q.Has("location") && !q.Has("lifecycle") && !q.Has("versioning"):
		return "LIST", ""
	case key == "" && r.Method == http.MethodPost && q.Has("delete"):
		return "DELETES", ""
	case key == "":
		return "BUCKET-" + r.Method, ""
	}
	return r.Method, key
}

// writeS3Error answers as S3 does: the status and an XML <Error>.
func writeS3Error(w http.ResponseWriter, f S3Fault, message string) {
	body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<Error><Code>%s</Code><Message>%s</Message><RequestId>faultproxy</RequestId></Error>`, f.S3Code, message)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(f.Code)
	_, _ = io.WriteString(w, body)
}

type countingReader struct {
	r io.ReadCloser
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) Close() error { return c.r.Close() }

type countingWriter struct {
	http.ResponseWriter
	code int
	n    int64
}

func (c *countingWriter) WriteHeader(code int) {
	c.code = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

// Flush lets streamed answers through as they come.
func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// selfSigned is a certificate for 127.0.0.1 that is its own CA.
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "faultproxy"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certPEM, nil
}
