package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/report"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// acquire takes one of the MaxReads slots for a page's read, or answers 503
// with Retry-After at once: a request beyond the limit waits nowhere, so
// that memory stays what MaxReads reads take.
//
// The slot is given back when the page starts its answer (the writer
// returned wraps w), before the client can see it: a client that asks
// again at once finds it free.
func (s *Server) acquire(w http.ResponseWriter, r *http.Request) (out http.ResponseWriter, release func(), ok bool) {
	select {
	case s.slots <- struct{}{}:
		var once sync.Once
		release = func() { once.Do(func() { <-s.slots }) }
		return releasing{ResponseWriter: w, release: release}, release, true
	default:
		w.Header().Set("Retry-After", retryAfter)
		s.fail(w, r, http.StatusServiceUnavailable, fmt.Sprintf("busy: %d pages are reading the history already; try again in a moment", cap(s.slots)))
		return w, nil, false
	}
}

// releasing gives the read slot back when the answer starts.
type releasing struct {
	http.ResponseWriter
	release func()
}

func (w releasing) WriteHeader(status int) {
	w.release()
	w.ResponseWriter.WriteHeader(status)
}

func (w releasing) Write(b []byte) (int, error) {
	w.release()
	return w.ResponseWriter.Write(b)
}

// source is the store a page reads: the cluster it asked for, and the
// clusters to pick from (none when there is only one, or one is pinned).
type source struct {
	reader   *history.Reader
	cluster  string
	clusters []string
}

// errPickCluster: the store holds several clusters and the page named none.
var errPickCluster = errors.New("pick a cluster")

// source resolves ?cluster=: in a store of several clusters (S3) the one
// asked for, the only one there is, or errPickCluster (with the clusters,
// for the picker); any other store is read as it is.
func (s *Server) source(ctx context.Context, q query) (source, error) {
	budget := s.Budget
	if budget == 0 {
		budget = DefaultBudget
	}
	if budget < 0 {
		budget = 0
	}
	src := source{reader: &history.Reader{Store: s.Store, Retry: s.Retry, Budget: budget}, cluster: s.Cluster}
	clusters, several := s.Store.(storeio.Clusters)
	if !several || s.Cluster != "" {
		if q.Cluster != "" && q.Cluster != s.Cluster {
			return src, badf("no cluster %q here: this view shows %s", q.Cluster, s.where(src))
		}
		return src, nil
	}
	names, err := clusters.Clusters(ctx, s.Retry)
	if err != nil {
		return src, fmt.Errorf("listing the clusters in %s: %w", s.Store, err)
	}
	switch {
	case q.Cluster != "" && !slices.Contains(names, q.Cluster):
		src.clusters = names
		return src, badf("no cluster %q in %s: pick one of %s", q.Cluster, s.Store, strings.Join(names, ", "))
	case q.Cluster != "":
		src.cluster = q.Cluster
	case len(names) == 1:
		src.cluster = names[0]
	case len(names) == 0:
		return src, badf("no cluster has hours in %s yet", s.Store)
	default:
		src.clusters = names
		return src, errPickCluster
	}
	if len(names) > 1 {
		src.clusters = names
	}
	src.reader.Store = clusters.WithCluster(src.cluster)
	return src, nil
}

// where names what a page reads, for its text: "namespace hist",
// "s3://bucket/prefix/cluster/".
func (s *Server) where(src source) string { return src.reader.Store.String() }

// warnings are the read's warnings as the page shows them, each naming its
// object as the store does.
func warningsOf(st storeio.Store, warns []store.Warning) []string {
	return report.WarningsOf(st, warns)
}

// readFailed answers a read's error: a window beyond the budget is the
// user's to narrow (422), a read past its time 504 (never the hours read so
// far as if they were all), the rest the store's (502).
func (s *Server) readFailed(w http.ResponseWriter, r *http.Request, src source, err error) {
	var bad badRequest
	switch {
	case errors.As(err, &bad):
		s.failPick(w, r, http.StatusBadRequest, src, bad.Error())
	case errors.Is(err, errPickCluster):
		s.failPick(w, r, http.StatusBadRequest, src, "this store holds several clusters' history: pick one ("+strings.Join(src.clusters, ", ")+")")
	case errors.Is(err, history.ErrBudget):
		s.failPick(w, r, http.StatusUnprocessableEntity, src, fmt.Sprintf(
			"this window holds more than %d MiB of stored history, more than one page may read: ask for a narrower window", src.reader.Budget>>20))
	case errors.Is(err, context.DeadlineExceeded):
		s.failPick(w, r, http.StatusGatewayTimeout, src, fmt.Sprintf(
			"reading the history took longer than %s: ask for a narrower window, or again later", readTimeout))
	default:
		s.failPick(w, r, http.StatusBadGateway, src, "reading the history: "+err.Error())
	}
}

// linker makes a page's links, keeping the cluster it shows.
type linker struct{ cluster string }

func (l linker) link(path string, kv ...string) string {
	if l.cluster != "" {
		kv = append(kv, "cluster", l.cluster)
	}
	return link(path, kv...)
}

// picker is the clusters to pick from, each a link to the same page of
// that cluster (the home page when the page needs what another cluster may
// not have).
func picker(src source) []clusterLink {
	var out []clusterLink
	for _, c := range src.clusters {
		out = append(out, clusterLink{Name: c, Link: linker{c}.link("/"), Current: c == src.cluster})
	}
	return out
}

type clusterLink struct {
	Name, Link string
	Current    bool
}

// clusterArg is the cluster a page's links name: the one picked, when
// there is a choice.
func (src source) clusterArg() string {
	if len(src.clusters) > 1 {
		return src.cluster
	}
	return ""
}
