// Package readers opens the history for the commands that read it
// (history, incident, serve) and fans a store of several clusters (S3) out
// into one reader per cluster.
package readers

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/client-go/transport"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/kubeconn"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
	"github.com/pod-ashiato/ashiato/src/storeopen"
	"github.com/pod-ashiato/ashiato/src/usage"
)

// Options say which store to read and how to reach it.
type Options struct {
	Kube  *kubeconn.Flags
	Store *storeopen.Flags
	// NamespaceGiven is whether --cm-namespace was given; when not, the
	// ConfigMap store is found by kubeconn.HistoryNamespace, and Info is
	// told where, in one line.
	NamespaceGiven bool
	Info           func(line string)
	// Wrap, when set, wraps the cluster client's transport (serve.ReadOnly).
	Wrap transport.WrapperFunc
	Log  logrus.FieldLogger // the namespace check's notes
}

// Open is the store the flags name (storeopen.Open), for reading: for the
// ConfigMap store, the namespace found and checked. No kubeconfig is needed
// to read S3. Every failure is a usage error (exit 2), before any work.
func Open(ctx context.Context, o Options) (storeio.Store, error) {
	probe := o.Store.Cluster
	if probe == "" {
		probe = storeopen.DefaultCluster
	}
	st, err := o.Store.Open(ctx, probe, func() (storeopen.Kube, error) {
		client, meta, err := o.Kube.Clients(o.Wrap)
		if err != nil {
			return storeopen.Kube{}, err
		}
		if !o.NamespaceGiven {
			ns, why := kubeconn.HistoryNamespace(ctx, client, o.Kube.PodNamespace())
			o.Store.Namespace = ns
			if o.Info != nil {
				o.Info(fmt.Sprintf("reading the history in namespace %s (%s; --cm-namespace to choose)", ns, why))
			}
		}
		if err := kubeconn.CheckNamespaces(ctx, client, o.Log, map[string][]string{"cm-namespace": {o.Store.Namespace}}); err != nil {
			return storeopen.Kube{}, err
		}
		// The metadata client lets the store list the stored hours by name
		// only (storeio.Store.ListRefs).
		return storeopen.Kube{ConfigMaps: client.CoreV1(), Metadata: meta}, nil
	})
	return st, usage.Wrap(err)
}

// ForPerson is the readers of the store the flags name for a person at a
// terminal: Open, then Split. The namespace found, and warnings, are plain
// "ashiato: " lines on w; a read waits at most maxElapsed for the store.
func ForPerson(ctx context.Context, kube *kubeconn.Flags, f *storeopen.Flags, namespaceGiven bool, maxElapsed time.Duration, w io.Writer) ([]Reader, error) {
	log := &logrus.Logger{Out: w, Formatter: &logrus.TextFormatter{DisableTimestamp: true}, Hooks: make(logrus.LevelHooks), Level: logrus.WarnLevel, ExitFunc: func(int) {}}
	quiet := &logrus.Logger{Out: io.Discard, Formatter: new(logrus.TextFormatter), Hooks: make(logrus.LevelHooks), Level: logrus.PanicLevel}
	say := func(line string) { fmt.Fprintf(w, "ashiato: %s\n", line) }
	f.Warn = func(msg string) { say("warning: " + msg) }
	st, err := Open(ctx, Options{Kube: kube, Store: f, NamespaceGiven: namespaceGiven, Log: quiet, Info: say})
	if err != nil {
		return nil, err
	}
	return Split(ctx, st, f.Cluster, retry.Policy{Backoff: retry.DefaultBackoff(), MaxElapsed: maxElapsed, Log: log})
}

// Reader reads one cluster's history: the ConfigMap store's (cluster "")
// or one cluster's of a store that holds several (S3).
type Reader struct {
	*history.Reader
	Cluster string
}

// Where names a damaged object in a warning line.
func (r Reader) Where(w store.Warning) string {
	where := r.Store.Location(w.Object)
	if w.Key != "" {
		where += ", key " + w.Key
	}
	return where
}

// Split is the readers of st: st itself, or in a store of several
// clusters (storeio.Clusters: S3) without a cluster named, one reader per
// cluster it holds, in name order.
func Split(ctx context.Context, st storeio.Store, cluster string, policy retry.Policy) ([]Reader, error) {
	clusters, several := st.(storeio.Clusters)
	if !several || cluster != "" {
		return []Reader{{Reader: &history.Reader{Store: st, Retry: policy}, Cluster: cluster}}, nil
	}
	names, err := clusters.Clusters(ctx, policy)
	if err != nil {
		return nil, fmt.Errorf("listing the clusters: %w", err)
	}
	readers := make([]Reader, 0, len(names))
	for _, name := range names {
		readers = append(readers, Reader{Reader: &history.Reader{Store: clusters.WithCluster(name), Retry: policy}, Cluster: name})
	}
	return readers, nil
}

// Names lists the readers' clusters for a message.
func Names(readers []Reader) string {
	names := make([]string, len(readers))
	for i, r := range readers {
		names[i] = r.Cluster
	}
	return strings.Join(names, ", ")
}

// StoreName is the store for "nothing found" lines.
func StoreName(f *storeopen.Flags, readers []Reader) string {
	where := f.Where()
	if !f.S3() {
		return where
	}
	if len(readers) == 0 {
		return where + " (no cluster has hours there)"
	}
	return where + " (cluster " + Names(readers) + ")"
}
