package kubeconn

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sirupsen/logrus/hooks/test"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// TestCheckNamespaces: a namespace that does not exist is a usage error,
// checked with one GET each for a few names and one LIST for many; without
// the permission, nothing is said.
func TestCheckNamespaces(t *testing.T) {
	var existing []runtime.Object
	var many []string
	for i := range maxNamespaceGets + 2 {
		name := fmt.Sprintf("ns-%d", i)
		existing = append(existing, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
		many = append(many, name)
	}
	tests := []struct {
		name      string
		names     map[string][]string
		forbidden bool
		want      string // "" is no error
		verbs     string
	}{
		{"few, all there", map[string][]string{"namespace": {"ns-0", "ns-1"}, "cm-namespace": {"ns-2"}}, false, "", "get get get"},
		{"few, one missing", map[string][]string{"namespace": {"ns-0", "nope"}}, false, `invalid --namespace "nope": namespace not found`, "get get"},
		{"many, all there", map[string][]string{"namespace": many}, false, "", "list"},
		{"many, one missing", map[string][]string{"namespace": append(many[1:], "nope")}, false, `invalid --namespace "nope": namespace not found`, "list"},
		{"many, forbidden", map[string][]string{"namespace": append(many[1:], "nope")}, true, "", "list"},
		{"few, forbidden", map[string][]string{"namespace": {"nope"}}, true, "", "get"},
		{"none", map[string][]string{"namespace": nil}, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(existing...)
			if tt.forbidden {
				client.PrependReactor("*", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewForbidden(corev1.Resource("namespaces"), "", fmt.Errorf("no"))
				})
			}
			log, _ := test.NewNullLogger()
			err := CheckNamespaces(t.Context(), client, log, tt.names)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			var verbs []string
			for _, a := range client.Actions() {
				verbs = append(verbs, a.GetVerb())
			}
			if got := strings.Join(verbs, " "); got != tt.verbs {
				t.Errorf("requests %q, want %q", got, tt.verbs)
			}
		})
	}
}
