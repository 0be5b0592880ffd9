package kubeconn

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pod-ashiato/ashiato/src/usage"
)

// maxNamespaceGets is the most namespaces checked one GET each; more are
// checked with one LIST.
const maxNamespaceGets = 10

// CheckNamespaces tells the user at start-up that a namespace they named does
// not exist, instead of printing nothing forever. It needs `get namespaces`
// (one GET each) or, for more than maxNamespaceGets names, `list namespaces`
// (one LIST), which a least-privilege deployment does not grant: without it,
// or when the API server cannot be reached yet, it says nothing and the run
// goes on (the source retries an unreachable server with backoff). names maps
// a flag to the namespaces it names.
func CheckNamespaces(ctx context.Context, client kubernetes.Interface, log logrus.FieldLogger, names map[string][]string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	flags := slices.Sorted(maps.Keys(names))
	total := 0
	for _, f := range flags {
		total += len(names[f])
	}
	exists := func(ns string) error {
		_, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return err
	}
	if total > maxNamespaceGets {
		list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			logCheckError(log, "", err)
			return nil
		}
		have := make(map[string]bool, len(list.Items))
		for _, ns := range list.Items {
			have[ns.Name] = true
		}
		exists = func(ns string) error {
			if !have[ns] {
				return apierrors.NewNotFound(corev1.Resource("namespaces"), ns)
			}
			return nil
		}
	}
	for _, flagName := range flags {
		for _, ns := range names[flagName] {
			err := exists(ns)
			if apierrors.IsNotFound(err) {
				return usage.Errorf("invalid --%s %q: namespace not found", flagName, ns)
			}
			if err != nil {
				logCheckError(log, ns, err)
			}
		}
	}
	return nil
}

func logCheckError(log logrus.FieldLogger, ns string, err error) {
	l := log.WithField("namespace", ns)
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) || errors.Is(err, context.DeadlineExceeded) {
		l.Debugf("cannot check that the namespace exists: %v", err)
		return
	}
	l.Warnf("cannot check that the namespace exists: %v", err)
}
