package kubeconn

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pod-ashiato/ashiato/src/store"
)

// TestHistoryNamespace: without --cm-namespace the readers find the history
// where it is: a pod's own namespace, else the namespace that holds hours
// (pod-ashiato first), else pod-ashiato if it exists, else default.
func TestHistoryNamespace(t *testing.T) {
	ns := func(name string) runtime.Object {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	hour := func(namespace string) runtime.Object {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pod-ashiato-2026120600", Namespace: namespace,
			Labels: map[string]string{store.LabelApp: store.LabelAppValue, store.LabelType: store.LabelTypeValue}}}
	}
	unlabelled := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: DeployNamespace}}
	tests := []struct {
		name      string
		pod       string
		objects   []runtime.Object
		forbidden bool // listing ConfigMaps is refused
		want      string
	}{
		{"in a pod: its namespace", "tools", []runtime.Object{ns(DeployNamespace), hour(DeployNamespace)}, false, "tools"},
		{"hours in pod-ashiato", "", []runtime.Object{ns(DeployNamespace), hour(DeployNamespace), hour("default")}, false, DeployNamespace},
		{"hours in default only (the original tool)", "", []runtime.Object{ns(DeployNamespace), unlabelled, hour("default")}, false, "default"},
		{"no hours, pod-ashiato exists", "", []runtime.Object{ns(DeployNamespace), unlabelled}, false, DeployNamespace},
		{"no hours, no pod-ashiato", "", []runtime.Object{ns("default")}, false, "default"},
		{"listing refused, pod-ashiato exists", "", []runtime.Object{ns(DeployNamespace), hour("default")}, true, DeployNamespace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.objects...)
			if tt.forbidden {
				client.PrependReactor("list", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewForbidden(corev1.Resource("configmaps"), "", fmt.Errorf("no"))
				})
			}
			got, why := HistoryNamespace(t.Context(), client, tt.pod)
			if got != tt.want || why == "" {
				t.Errorf("HistoryNamespace = %q (%q), want %q", got, why, tt.want)
			}
		})
	}
}
