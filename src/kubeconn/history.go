package kubeconn

import (
	"context"
	"os"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pod-ashiato/ashiato/src/store"
)

const (
	// DeployNamespace is where k8s/ deploys the recorder and its history.
	DeployNamespace = "pod-ashiato"
	// OriginalNamespace is the recorder's --cm-namespace default, the
	// original tool's: where a recorder run without the flag writes.
	OriginalNamespace = "default"
)

// serviceAccountNamespace is the file that names a pod's own namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// PodNamespace is the namespace of the pod this process runs in, when it
// talks to its cluster with the in-cluster config; "" otherwise.
func (f *Flags) PodNamespace() string {
	if !f.InCluster() {
		return ""
	}
	b, err := os.ReadFile(serviceAccountNamespace)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// HistoryNamespace is where the readers (history, incident, serve) read the
// ConfigMap history when --cm-namespace is not given, and why, for one info
// line:
//
//  1. in a pod (the in-cluster config), the pod's own namespace
//     (podNamespace): k8s/ deploys serve beside the recorder;
//  2. else DeployNamespace (pod-ashiato) if it holds history hours;
//  3. else OriginalNamespace (default) if it holds history hours: the
//     original tool's place, and the recorder's default;
//  4. else DeployNamespace if that namespace exists, else OriginalNamespace.
//
// A look the API server refuses (RBAC) or does not answer counts as "not
// found there". It reads at most two one-item LISTs and one GET.
func HistoryNamespace(ctx context.Context, client kubernetes.Interface, podNamespace string) (ns, why string) {
	if podNamespace != "" {
		return podNamespace, "this pod's namespace"
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	holdsHours := func(ns string) bool {
		list, err := client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: store.AllSelector(), Limit: 1})
		return err == nil && len(list.Items) > 0
	}
	for _, ns := range []string{DeployNamespace, OriginalNamespace} {
		if holdsHours(ns) {
			return ns, "it holds history hours"
		}
	}
	if _, err := client.CoreV1().Namespaces().Get(ctx, DeployNamespace, metav1.GetOptions{}); err == nil {
		return DeployNamespace, "no history hours found; k8s/ deploys there"
	}
	return OriginalNamespace, "no history hours found and no namespace " + DeployNamespace
}
