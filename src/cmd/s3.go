package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/pod-ashiato/ashiato/src/s3store"
	"github.com/pod-ashiato/ashiato/src/storeio"
	"github.com/pod-ashiato/ashiato/src/storeopen"
)

// defaultCluster is --cluster-name when the kubeconfig names no context (in
// a pod, say).
const defaultCluster = storeopen.DefaultCluster

// openStore is the store the flags name, for cluster (storeopen.Open). Every
// failure is a usage error (exit 2), before any work.
func openStore(ctx context.Context, f *storeopen.Flags, cluster string, kube func() (storeopen.Kube, error)) (storeio.Store, error) {
	if f.Warn == nil {
		g := *f
		g.Warn = func(msg string) { fmt.Fprintf(warnOut, "ashiato: warning: %s\n", msg) }
		f = &g
	}
	st, err := f.Open(ctx, cluster, kube)
	if err != nil {
		var usage usageError
		if errors.As(err, &usage) {
			return nil, err
		}
		return nil, usageError{err}
	}
	return st, nil
}

// clusterName is --cluster-name, or the kubeconfig's context made a valid
// name (lowercase; other characters than letters, digits, '-' and '.' become
// '-'), or "default" when there is no context (in a pod).
func clusterName(c *config) string {
	if c.store.Cluster != "" {
		return c.store.Cluster
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = c.kubeconfig
	raw, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: c.context}).RawConfig()
	name := c.context
	if err == nil && name == "" {
		name = raw.CurrentContext
	}
	return sanitizeCluster(name)
}

var notNameChars = regexp.MustCompile(`[^a-z0-9.-]+`)

func sanitizeCluster(context string) string {
	name := notNameChars.ReplaceAllString(strings.ToLower(context), "-")
	if len(name) > 63 {
		name = name[len(name)-63:] // the end of an ARN or a long name tells clusters apart
	}
	name = strings.Trim(name, "-.")
	if s3store.ValidCluster(name) != nil {
		return defaultCluster
	}
	return name
}

// warnOut is where openStore's warnings go when the command set no Warn of
// its own (the readers): stderr, a plain line.
var warnOut io.Writer = os.Stderr
