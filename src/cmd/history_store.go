package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// clusterReader reads one cluster's history: the ConfigMap store's (cluster
// "") or one cluster's of a store that holds several (S3).
type clusterReader struct {
	*history.Reader
	cluster string
}

// where names a damaged object in a warning line.
func (r clusterReader) where(w store.Warning) string {
	where := r.Store.Location(w.Object)
	if w.Key != "" {
		where += ", key " + w.Key
	}
	return where
}

// storeReaders are the readers the history commands read: the store the
// flags name (storeopen.Open) and, in a store of several clusters
// (storeio.Clusters: S3) without --cluster, one reader per cluster it holds.
// The store is checked first: a wrong endpoint, bucket or credential is a
// usage error. No kubeconfig is needed to read S3. Diagnostics are for a
// person (plain text, warnings and up) on stderr.
func storeReaders(ctx context.Context, kube *config, stderr io.Writer) ([]clusterReader, error) {
	log := &logrus.Logger{Out: stderr, Formatter: &logrus.TextFormatter{DisableTimestamp: true}, Hooks: make(logrus.LevelHooks), Level: logrus.WarnLevel, ExitFunc: func(int) {}}
	policy := retry.Policy{Backoff: retry.DefaultBackoff(), MaxElapsed: historyRetry, Log: log}
	probe := kube.store.Cluster
	if probe == "" {
		probe = defaultCluster
	}
	st, err := openStore(ctx, &kube.store, probe, readerKube(ctx, kube))
	if err != nil {
		return nil, err
	}
	clusters, several := st.(storeio.Clusters)
	if !several || kube.store.Cluster != "" {
		return []clusterReader{{Reader: &history.Reader{Store: st, Retry: policy}, cluster: kube.store.Cluster}}, nil
	}
	names, err := clusters.Clusters(ctx, policy)
	if err != nil {
		return nil, fmt.Errorf("listing the clusters: %w", err)
	}
	readers := make([]clusterReader, 0, len(names))
	for _, name := range names {
		readers = append(readers, clusterReader{Reader: &history.Reader{Store: clusters.WithCluster(name), Retry: policy}, cluster: name})
	}
	return readers, nil
}

// storeName is the store for "nothing found" lines.
func storeName(kube *config, readers []clusterReader) string {
	where := kube.store.Where()
	if !kube.store.S3() {
		return where
	}
	if len(readers) == 0 {
		return where + " (no cluster has hours there)"
	}
	names := make([]string, len(readers))
	for i, r := range readers {
		names[i] = r.cluster
	}
	return where + " (cluster " + strings.Join(names, ", ") + ")"
}
