package webview

import (
	"testing"

	"github.com/pod-ashiato/ashiato/src/kubeconn"
)

// TestDefaultAuthentication: kubernetes only with the in-cluster config (in
// a pod, no kubeconfig named); self with a kubeconfig; none only when asked.
func TestDefaultAuthentication(t *testing.T) {
	tests := []struct {
		name, flag, kubeconfig, env, host, want string
	}{
		{"in a pod", "", "", "", "10.0.0.1", Kubernetes},
		{"a kubeconfig in a pod", "", "/kc", "", "10.0.0.1", Self},
		{"$KUBECONFIG in a pod", "", "", "/kc", "10.0.0.1", Self},
		{"a laptop", "", "", "", "", Self},
		{"asked", None, "", "", "10.0.0.1", None},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tt.env)
			t.Setenv("KUBERNETES_SERVICE_HOST", tt.host)
			if got := DefaultAuthentication(tt.flag, &kubeconn.Flags{Kubeconfig: tt.kubeconfig}); got != tt.want {
				t.Errorf("--authentication %s", got)
			}
		})
	}
}
