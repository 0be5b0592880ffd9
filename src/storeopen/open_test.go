package storeopen

import (
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/pod-ashiato/ashiato/src/internal/awstest"
	"github.com/pod-ashiato/ashiato/src/s3store/s3fake"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		args []string
		err  string // contained in the error, or none
	}{
		{nil, ""},
		{[]string{"--cm-namespace", "hist"}, ""},
		{[]string{"--store", "s3", "--s3-bucket", "hist", "--cluster", "prod"}, ""},
		{[]string{"--cm-namespace", "Bad_NS"}, `invalid --cm-namespace "Bad_NS"`},
		{[]string{"--store", "etcd"}, `invalid --store "etcd": want configmap or s3`},
		{[]string{"--s3-region", "eu-west-1"}, "--s3-region needs --store s3"},
		{[]string{"--cluster", "prod"}, "--cluster needs --store s3"},
		{[]string{"--store", "s3"}, "--store s3 needs --s3-bucket"},
		{[]string{"--store", "s3", "--s3-bucket", "hist", "--s3-prefix", "a/../b"}, "invalid --s3-prefix"},
		{[]string{"--store", "s3", "--s3-bucket", "hist", "--cluster", "Prod_1"}, "invalid --cluster"},
		{[]string{"--store", "s3", "--s3-bucket", "hist", "--s3-endpoint", "https://alice:s3cr3t@h"}, `invalid --s3-endpoint: invalid endpoint "https://***@h": user info`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var f Flags
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f.Register(fs, "namespace", "cluster", "cluster")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			f.Parsed(fs)
			err := f.Validate("cluster")
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("Validate = %v, want %q", err, tt.err)
			}
			if f.Explicit != strings.Contains(strings.Join(tt.args, " "), "--store") {
				t.Errorf("Explicit = %v", f.Explicit)
			}
		})
	}
}

// TestOpenConfigMap: the ConfigMap store needs the API server's clients, and
// only it asks for them.
func TestOpenConfigMap(t *testing.T) {
	f := Flags{Kind: ConfigMap, Namespace: "hist"}
	st, err := f.Open(t.Context(), "", func() (Kube, error) { return Kube{ConfigMaps: fake.NewClientset().CoreV1()}, nil })
	if err != nil || st.String() != "namespace hist" {
		t.Fatalf("Open = %v, %v", st, err)
	}
	if _, ok := st.(storeio.Unlabelled); !ok {
		t.Error("the ConfigMap store does not list the original tool's objects")
	}
	refused := errors.New("no kubeconfig")
	if _, err := f.Open(context.Background(), "", func() (Kube, error) { return Kube{}, refused }); !errors.Is(err, refused) {
		t.Fatalf("Open with no clients = %v, want the clients' error", err)
	}
}

// TestOpenWarnsOfPlainHTTP: an http endpoint opens, with one warning that
// names it; an https one (or AWS S3) opens without.
func TestOpenWarnsOfPlainHTTP(t *testing.T) {
	awstest.Env(t)
	srv := s3fake.New("hist")
	defer srv.Close()
	var warnings []string
	f := Flags{Kind: S3, Endpoint: srv.URL, Bucket: "hist", Prefix: "p", Warn: func(msg string) { warnings = append(warnings, msg) }}
	st, err := f.Open(t.Context(), "prod", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ListHour(t.Context(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], srv.URL) || !strings.Contains(warnings[0], "clear text") {
		t.Fatalf("warnings %q, want one naming %s", warnings, srv.URL)
	}
	if strings.Contains(st.String(), "@") || strings.Contains(st.Location("pod-ashiato-2026112614"), "@") {
		t.Errorf("the store's names show user info: %s, %s", st, st.Location("pod-ashiato-2026112614"))
	}
}
