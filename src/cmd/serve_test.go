package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	logtest "github.com/sirupsen/logrus/hooks/test"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/clock"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/internal/awstest"
	"github.com/pod-ashiato/ashiato/src/readers"
	"github.com/pod-ashiato/ashiato/src/record"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/s3store"
	"github.com/pod-ashiato/ashiato/src/s3store/s3fake"
	"github.com/pod-ashiato/ashiato/src/serve"
	"github.com/pod-ashiato/ashiato/src/sink"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

func TestParseServeFlags(t *testing.T) {
	ok := []struct {
		args []string
		addr string
		ns   string
	}{
		{[]string{"--addr", ":8080"}, ":8080", "default"},
		{[]string{"--addr=127.0.0.1:0", "--cm-namespace", "hist", "--context", "prod"}, "127.0.0.1:0", "hist"},
		{[]string{"-addr", "[::1]:8080"}, "[::1]:8080", "default"},
		{[]string{"--addr", "localhost:8080"}, "localhost:8080", "default"},
		{[]string{"--addr", ":8080", "--store", "s3", "--s3-bucket", "hist", "--cluster", "prod"}, ":8080", "default"},
	}
	for _, tt := range ok {
		c, err := parseServeFlags(tt.args, &bytes.Buffer{})
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if c.Addr != tt.addr || c.kube.store.Namespace != tt.ns {
			t.Errorf("%q: addr %q ns %q", tt.args, c.Addr, c.kube.store.Namespace)
		}
	}
	bad := []struct {
		args []string
		want string
	}{
		{nil, "ashiato serve needs --addr, e.g. --addr 127.0.0.1:8080 (this machine only) or --addr :8080 (every interface)"},
		{[]string{"--addr", "8080"}, `invalid --addr "8080": want HOST:PORT or :PORT`},
		{[]string{"--addr", ":http-alt"}, `invalid --addr ":http-alt": port "http-alt" is not a number from 0 to 65535`},
		{[]string{"--addr", ":70000"}, `invalid --addr ":70000": port "70000" is not a number from 0 to 65535`},
		{[]string{"--addr", "bad_host!:80"}, `invalid --addr "bad_host!:80": "bad_host!" is neither an IP address nor a host name`},
		{[]string{"--addr", ":8080", "--cm-namespace", "Hist"}, `invalid --cm-namespace "Hist": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
		{[]string{"--addr", ":8080", "extra"}, `unexpected argument "extra" (see ashiato serve --help)`},
		{[]string{"--addr", ":8080", "--oneshot"}, "unknown flag: --oneshot"},
		{[]string{"--addr", ":8080", "--log-level", "loud"}, `invalid --log-level "loud": want debug, info, warn or error`},
		{[]string{"--addr", ":8080", "--store", "s3"}, "--store s3 needs --s3-bucket"},
		{[]string{"--addr", ":8080", "--cluster", "prod"}, "--cluster needs --store s3 (the ConfigMap store holds one cluster's history)"},
		{[]string{"--addr", ":8080", "--authentication", "token"}, `invalid --authentication "token": want kubernetes, self or none`},
		{[]string{"--addr", ":8080", "--tls-cert-file", "c.pem"}, "--tls-cert-file and --tls-private-key-file go together"},
		{[]string{"--addr", ":8080", "--requestheader-client-ca-file", "ca.pem"}, "--requestheader-client-ca-file needs --tls-cert-file and --tls-private-key-file: the front proxy proves itself with a client certificate, which only TLS carries"},
		{[]string{"--addr", ":8080", "--requestheader-client-ca-file", "ca.pem", "--tls-cert-file", "c", "--tls-private-key-file", "k", "--authentication", "self"}, "--requestheader-client-ca-file needs --authentication kubernetes"},
		{[]string{"--addr", ":8080", "--requestheader-allowed-names", "proxy"}, "the --requestheader-* flags need --requestheader-client-ca-file"},
		{[]string{"--addr", ":8080", "--authorization-deny-cache-ttl", "0s"}, "invalid --authorization-deny-cache-ttl 0s: want more than 0 and at most 10m"},
	}
	for _, tt := range bad {
		_, err := parseServeFlags(tt.args, &bytes.Buffer{})
		var usage usageError
		if !errors.As(err, &usage) {
			t.Errorf("%q: %v, want a usage error (exit 2)", tt.args, err)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("%q:\n got %s\nwant %s", tt.args, err, tt.want)
		}
	}
}

func TestServeHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"serve", "--help"}, &bytes.Buffer{}, &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), []byte("--addr is required")) {
		t.Errorf("help:\n%s", out.String())
	}
}

// TestServeStoreS3: ashiato serve gets its store from the store flags as
// history does: with --store s3 every cluster under the prefix, for the pages
// to pick from (the only one implicitly), or the one --cluster names.
func TestServeStoreS3(t *testing.T) {
	awstest.Env(t)
	srv := s3fake.New("hist")
	defer srv.Close()
	at := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Minute)
	write := func(cluster string) {
		t.Helper()
		st, err := s3store.New(t.Context(), s3store.Options{Endpoint: srv.URL, Bucket: "hist", Prefix: "pod-ashiato", Cluster: cluster})
		if err != nil {
			t.Fatal(err)
		}
		in := make(chan record.Placement, 1)
		in <- record.Placement{Namespace: "shop", Pod: "a", Node: "n1", Timestamp: at, Event: record.EventSnapshot}
		close(in)
		s := &sink.Writer{Store: st, Retry: retry.Policy{Backoff: wait.Backoff{Duration: time.Millisecond, Steps: 10}}}
		if err := s.Run(t.Context(), in); err != nil {
			t.Fatal(err)
		}
	}
	log, _ := logtest.NewNullLogger()
	open := func(extra ...string) (storeio.Store, error) {
		c, err := parseServeFlags(append([]string{"--addr", ":0", "--store", "s3", "--s3-endpoint", srv.URL, "--s3-bucket", "hist"}, extra...), &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		return readers.Open(t.Context(), readers.Options{Kube: &c.kube.conn, Store: &c.kube.store, NamespaceGiven: c.kube.nsGiven, Log: log})
	}
	// The pages pick the cluster: the only one, or the one asked for.
	home := func(st storeio.Store, query string) (cluster string, clusters []string) {
		t.Helper()
		s := &serve.Server{Store: st, Retry: retry.Policy{MaxElapsed: time.Second}, Clock: clock.RealClock{}}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/?format=json"+query, nil))
		var out struct {
			Cluster  string   `json:"cluster"`
			Clusters []string `json:"clusters"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || rec.Code != 200 {
			t.Fatalf("home %s: %d %s", query, rec.Code, rec.Body)
		}
		return out.Cluster, out.Clusters
	}
	write("prod")
	st, err := open()
	if err != nil {
		t.Fatal(err)
	}
	if _, several := st.(storeio.Clusters); !several {
		t.Fatalf("the S3 store %s does not offer its clusters", st)
	}
	if cluster, _ := home(st, ""); cluster != "prod" {
		t.Fatalf("one cluster: the page shows %q, want prod", cluster)
	}
	write("staging")
	if _, clusters := home(st, ""); strings.Join(clusters, ",") != "prod,staging" {
		t.Fatalf("two clusters: the page offers %v, want prod, staging", clusters)
	}
	if cluster, _ := home(st, "&cluster=staging"); cluster != "staging" {
		t.Fatalf("?cluster=staging: the page shows %q", cluster)
	}
	st, err = open("--cluster", "staging")
	if err != nil || !strings.HasSuffix(st.String(), "/staging/") {
		t.Fatalf("--cluster staging: %v, %v", st, err)
	}
	rows, _, err := (&history.Reader{Store: st, Retry: retry.Policy{MaxElapsed: time.Second}}).Read(t.Context(), history.At(at))
	if err != nil || len(rows) == 0 {
		t.Fatalf("reading staging's history: %d hours, %v", len(rows), err)
	}
}
