package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/sirupsen/logrus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// restConfig resolves the cluster to talk to the way kubectl does: --kubeconfig,
// else $KUBECONFIG, else ~/.kube/config; when none of those exists and the
// process runs in a pod, the in-cluster config. It reads files only: a wrong
// path, an unreadable file or an unknown context is a usage error.
func restConfig(c *config) (*rest.Config, error) {
	if c.kubeconfig != "" {
		if _, err := os.Stat(c.kubeconfig); err != nil {
			return nil, usagef("invalid --kubeconfig: %w", err)
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = c.kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: c.context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, usagef("no cluster to talk to: give --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a pod")
		}
		return nil, usagef("invalid kubeconfig: %w", firstLine(err))
	}
	// Protobuf is several times cheaper than JSON for the API server to encode
	// and for us to decode, which matters when a LIST returns 150,000 pods.
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.QPS = float32(c.kubeQPS)
	cfg.Burst = c.kubeBurst
	cfg.UserAgent = "pod-ashiato/" + version
	return cfg, nil
}

// checkNamespaces tells the user at start-up that a namespace they named does
// not exist, instead of printing nothing forever. It needs `get namespaces`,
// which a least-privilege deployment does not grant: without it, or when the
// API server cannot be reached yet, it says nothing and the run goes on (the
// source retries an unreachable server with backoff).
func checkNamespaces(ctx context.Context, client kubernetes.Interface, log logrus.FieldLogger, names map[string]string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for flagName, ns := range names {
		if ns == "" {
			continue
		}
		_, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		switch {
		case err == nil:
		case apierrors.IsNotFound(err):
			return usagef("invalid --%s %q: namespace not found", flagName, ns)
		case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err), errors.Is(err, context.DeadlineExceeded):
			log.WithField("namespace", ns).Debugf("cannot check that the namespace exists: %v", err)
		default:
			log.WithField("namespace", ns).Warnf("cannot check that the namespace exists: %v", err)
		}
	}
	return nil
}
