package storeopen

import (
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

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
