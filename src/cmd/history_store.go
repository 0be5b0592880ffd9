package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/s3store"
	"github.com/pod-ashiato/ashiato/src/store"
)

// clusterReader reads one cluster's history: the ConfigMap store's (cluster
// "") or one cluster's under the S3 prefix.
type clusterReader struct {
	*history.Reader
	cluster string
	s3      *s3store.Store // nil for the ConfigMap store
	ns      string         // the ConfigMap store's namespace
}

// where names a damaged object in a warning line.
func (r clusterReader) where(w store.Warning) string {
	where := r.Store.Location(w.Object)
	if w.Key != "" {
		where += ", key " + w.Key
	}
	return where
}

// storeReaders are the readers the history commands read: the ConfigMaps of
// --cm-namespace, or with --store s3 the cluster --cluster names, else every
// cluster under the prefix (a listing with delimiter "/"). With S3 the
// bucket is checked first: a wrong endpoint, bucket or credential is a usage
// error. No kubeconfig is needed to read S3.
func storeReaders(ctx context.Context, kube *config, stderr io.Writer) ([]clusterReader, error) {
	if !kube.store.s3() {
		r, err := storeReader(ctx, kube, stderr)
		if err != nil {
			return nil, err
		}
		return []clusterReader{{Reader: r, ns: kube.cmNamespace}}, nil
	}
	log := &logrus.Logger{Out: stderr, Formatter: &logrus.TextFormatter{DisableTimestamp: true}, Hooks: make(logrus.LevelHooks), Level: logrus.WarnLevel, ExitFunc: func(int) {}}
	policy := retry.Policy{Backoff: retry.DefaultBackoff(), MaxElapsed: historyRetry, Log: log}
	probe := kube.store.cluster
	if probe == "" {
		probe = defaultCluster
	}
	st, err := kube.store.openS3(ctx, probe)
	if err != nil {
		return nil, err
	}
	names := []string{kube.store.cluster}
	if kube.store.cluster == "" {
		if names, err = st.Clusters(ctx, policy); err != nil {
			return nil, fmt.Errorf("listing the clusters: %w", err)
		}
	}
	readers := make([]clusterReader, 0, len(names))
	for _, name := range names {
		c := st.ForCluster(name)
		readers = append(readers, clusterReader{Reader: &history.Reader{Store: c, Retry: policy}, cluster: name, s3: c})
	}
	return readers, nil
}

// storeName is the store for "nothing found" lines.
func storeName(kube *config, readers []clusterReader) string {
	if !kube.store.s3() {
		return "namespace " + kube.cmNamespace
	}
	where := "s3://" + kube.store.bucket + "/" + strings.Trim(kube.store.prefix, "/")
	if len(readers) == 0 {
		return where + " (no cluster has hours there)"
	}
	names := make([]string, len(readers))
	for i, r := range readers {
		names[i] = r.cluster
	}
	return where + " (cluster " + strings.Join(names, ", ") + ")"
}
