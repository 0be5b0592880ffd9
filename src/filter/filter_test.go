package filter

import (
	"strings"
	"testing"

	"github.com/pod-ashiato/ashiato/src/record"
)

func TestChainRun(t *testing.T) {
	pods := []record.Placement{
		{Namespace: "a", Pod: "web-1"},
		{Namespace: "a", Pod: "web-2"},
		{Namespace: "b", Pod: "db-0"},
		{Namespace: "b", Pod: "webhook-0"},
	}
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"no filter keeps all", Options{}, []string{"web-1", "web-2", "db-0", "webhook-0"}},
		{"prefix", Options{NamePrefix: "web-"}, []string{"web-1", "web-2"}},
		{"prefix of several", Options{NamePrefix: "web"}, []string{"web-1", "web-2", "webhook-0"}},
		{"prefix matching nothing", Options{NamePrefix: "x"}, nil},
		// Namespace and labels are the API server's job: the chain must not drop on them.
		{"server-side filters add nothing", Options{Namespace: "a", LabelSelector: "app=x"}, []string{"web-1", "web-2", "db-0", "webhook-0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := make(chan record.Placement, len(pods))
			out := make(chan record.Placement, len(pods))
			for _, p := range pods {
				in <- p
			}
			close(in)
			if err := tt.opts.Chain().Run(t.Context(), in, out); err != nil {
				t.Fatal(err)
			}
			var got []string
			for p := range out { // Run closed out, or this would hang
				got = append(got, p.Pod)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("kept %v, want %v", got, tt.want)
			}
		})
	}
}

func TestChainHoldsOnlyAskedFilters(t *testing.T) {
	if n := len((Options{Namespace: "a", LabelSelector: "x=y"}).Chain()); n != 0 {
		t.Errorf("chain has %d filters, want 0", n)
	}
	if n := len((Options{NamePrefix: "a"}).Chain()); n != 1 {
		t.Errorf("chain has %d filters, want 1", n)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"empty", Options{}, ""},
		{"all valid", Options{Namespace: "kube-system", NamePrefix: "coredns-", LabelSelector: "app in (a,b),!canary"}, ""},
		{"dotted prefix", Options{NamePrefix: "web.v1"}, ""},
		{"namespace with capitals", Options{Namespace: "Prod"}, "invalid --namespace"},
		{"namespace with underscore", Options{Namespace: "my_ns"}, "invalid --namespace"},
		{"namespace too long", Options{Namespace: strings.Repeat("a", 64)}, "invalid --namespace"},
		{"prefix with capitals", Options{NamePrefix: "Web"}, "invalid --name"},
		{"prefix with slash", Options{NamePrefix: "ns/web"}, "invalid --name"},
		{"prefix too long", Options{NamePrefix: strings.Repeat("a", 254)}, "invalid --name"},
		{"bad selector", Options{LabelSelector: "app=x=y"}, "invalid --label"},
		{"bad selector operator", Options{LabelSelector: "app in a"}, "invalid --label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
}
