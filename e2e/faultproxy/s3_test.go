package faultproxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

func TestS3Operation(t *testing.T) {
	tests := []struct {
		method, target string
		op, key        string
	}{
		{"GET", "/b?list-type=2&prefix=ashiato%2Fc%2F2026%2F", "LIST", ""},
		{"GET", "/b/", "LIST", ""},
		{"GET", "/b/ashiato/c/2026/11/26/14/0", "GET", "ashiato/c/2026/11/26/14/0"},
		{"HEAD", "/b/k", "HEAD", "k"},
		{"PUT", "/b/a/b/c", "PUT", "a/b/c"},
		{"DELETE", "/b/k", "DELETE", "k"},
		{"POST", "/b?delete", "DELETES", ""},
		{"PUT", "/b", "BUCKET-PUT", ""},
		{"GET", "/b?lifecycle", "BUCKET-GET", ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.target, nil)
		if op, key := S3Operation(r); op != tt.op || key != tt.key {
			t.Errorf("%s %s = %q %q, want %q %q", tt.method, tt.target, op, key, tt.op, tt.key)
		}
	}
}

// s3Upstream stands in for an S3 server: it refuses a request whose Host is
// not the address the client was given (SigV4 signs Host), stores PUT bodies
// and answers GETs from them.
func s3Upstream(t *testing.T, wantHost *string) (string, *x509.CertPool) {
	t.Helper()
	objects := map[string]string{}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != *wantHost {
			http.Error(w, fmt.Sprintf("Host %q, signed for %q", r.Host, *wantHost), http.StatusForbidden)
			return
		}
		switch r.Method {
		case http.MethodPut:
			b, _ := io.ReadAll(r.Body)
			objects[r.URL.Path] = string(b)
			w.Header().Set("ETag", `"etag"`)
		case http.MethodGet:
			body, ok := objects[r.URL.Path]
			if !ok {
				http.Error(w, "NoSuchKey", http.StatusNotFound)
				return
			}
			_, _ = io.WriteString(w, body)
		}
	}))
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv.URL, pool
}

func proxyClient(t *testing.T, p *S3) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(p.CAPEM()) {
		t.Fatal("CAPEM holds no certificate")
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func do(t *testing.T, c *http.Client, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestS3Injects(t *testing.T) {
	var host string
	up, roots := s3Upstream(t, &host)
	p, err := NewS3(up, roots, S3Options{
		Match:  func(op, _ string) bool { return op == "PUT" },
		Every:  3,
		Faults: []S3Fault{SlowDown, InternalError},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	host = strings.TrimPrefix(p.URL(), "https://")
	c := proxyClient(t, p)

	var codes []int
	for i := range 6 {
		code, body := do(t, c, "PUT", fmt.Sprintf("%s/b/k%d", p.URL(), i), "body")
		codes = append(codes, code)
		if code == 503 && !strings.Contains(body, "<Code>SlowDown</Code>") {
			t.Errorf("503 body %q lacks the S3 error code SlowDown", body)
		}
	}
	if want := []int{200, 200, 503, 200, 200, 500}; fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Errorf("PUT answers %v, want %v", codes, want)
	}
	// GETs are not matched: never failed, and they read what went through.
	if code, body := do(t, c, "GET", p.URL()+"/b/k1", ""); code != 200 || body != "body" {
		t.Errorf("GET k1 = %d %q, want 200 body", code, body)
	}
	if code, _ := do(t, c, "GET", p.URL()+"/b/k2", ""); code != 404 {
		t.Errorf("GET k2 (its PUT was failed by the proxy) = %d, want 404", code)
	}
	inj := p.Injected()
	if len(inj) != 2 || inj[0].Code != 503 || inj[0].Resource != "k2" || inj[1].Code != 500 || inj[1].Resource != "k5" {
		t.Errorf("injected %+v, want 503 on k2 and 500 on k5", inj)
	}
	st := p.Stats()
	if st.Requests["PUT"] != 6 || st.Requests["GET"] != 2 || st.BytesIn["PUT"] != 6*4 || st.BytesOut["GET"] < 4 {
		t.Errorf("stats %+v, want 6 PUTs of 4 bytes, 2 GETs", st)
	}
	if st.Statuses[200] != 5 || st.Statuses[503] != 1 || st.Statuses[500] != 1 || st.Statuses[404] != 1 {
		t.Errorf("statuses %v", st.Statuses)
	}

	// Set replaces the faults: none now.
	p.Set(S3Options{})
	for i := range 3 {
		if code, _ := do(t, c, "PUT", fmt.Sprintf("%s/b/again%d", p.URL(), i), "x"); code != 200 {
			t.Errorf("PUT after Set(no faults) = %d", code)
		}
	}
}

// TestS3SDKSeesSlowDown: the AWS SDK reads the proxy's answer as S3's own
// throttling error, so a client's retry logic treats it as it would S3's.
func TestS3SDKSeesSlowDown(t *testing.T) {
	var host string
	up, roots := s3Upstream(t, &host)
	p, err := NewS3(up, roots, S3Options{Every: 1, Faults: []S3Fault{SlowDown}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	host = strings.TrimPrefix(p.URL(), "https://")
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.CAPEM())
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("a", "b", ""),
		BaseEndpoint: aws.String(p.URL()),
		UsePathStyle: true,
		HTTPClient:   &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	})
	_, err = client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), Body: strings.NewReader("x")},
		func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "SlowDown" {
		t.Fatalf("PutObject through an injected 503: %v, want the API error SlowDown", err)
	}
}

func TestS3CutRestore(t *testing.T) {
	var host string
	up, roots := s3Upstream(t, &host)
	p, err := NewS3(up, roots, S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	host = strings.TrimPrefix(p.URL(), "https://")
	c := proxyClient(t, p)
	if code, _ := do(t, c, "PUT", p.URL()+"/b/k", "v"); code != 200 {
		t.Fatalf("PUT before the cut = %d", code)
	}
	p.Cut()
	req, _ := http.NewRequest("GET", p.URL()+"/b/k", nil)
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("GET during the cut answered %d, want a connection error", resp.StatusCode)
	}
	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	if code, body := do(t, c, "GET", p.URL()+"/b/k", ""); code != 200 || body != "v" {
		t.Errorf("GET after restore = %d %q, want 200 v", code, body)
	}
}
