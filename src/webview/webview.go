// Package webview runs `ashiato serve`: package serve's pages behind the
// access check the options ask for, over TLS when given a certificate,
// until ctx ends.
package webview

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/pod-ashiato/ashiato/src/access"
	"github.com/pod-ashiato/ashiato/src/kubeconn"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/serve"
	"github.com/pod-ashiato/ashiato/src/storeio"
	"github.com/pod-ashiato/ashiato/src/usage"
)

// The --authentication modes.
const (
	Kubernetes = "kubernetes" // each request's bearer token or front-proxy identity
	Self       = "self"       // the kubeconfig's user
	None       = "none"       // no access control
)

// Options say what to serve, where, and to whom.
type Options struct {
	Addr     string
	Store    storeio.Store
	Cluster  string // the store's one cluster to show; "" offers them all
	MaxReads int
	Budget   int64 // bytes one page may decode
	// Authentication is the mode; "" is DefaultAuthentication's.
	Authentication  string
	Access          access.Options
	TLSCert, TLSKey string
	Kube            *kubeconn.Flags // the cluster that answers the access reviews
	Retry           time.Duration   // how long a page waits for the store
	Log             logrus.FieldLogger
	Version         string
}

// DefaultAuthentication is --authentication when not given: kubernetes
// when the client is the in-cluster config (no --kubeconfig, no
// $KUBECONFIG, in a pod), else self.
func DefaultAuthentication(given string, kube *kubeconn.Flags) string {
	if given != "" {
		return given
	}
	if kube.InCluster() {
		return Kubernetes
	}
	return Self
}

// Run serves the web view until ctx ends.
func Run(ctx context.Context, o Options) error {
	acc, mode, err := check(ctx, o)
	if err != nil {
		return err
	}
	var tlsCfg *tls.Config
	if o.TLSCert != "" {
		if tlsCfg, err = access.ServerTLS(o.TLSCert, o.TLSKey); err != nil {
			return usage.Errorf("invalid --tls-cert-file or --tls-private-key-file: %w", err)
		}
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return usage.Errorf("invalid --addr %q: %w", o.Addr, err)
	}
	s := &serve.Server{
		Store:    o.Store,
		Cluster:  o.Cluster,
		Retry:    retry.Policy{Backoff: retry.DefaultBackoff(), MaxElapsed: o.Retry, Log: o.Log},
		MaxReads: o.MaxReads,
		Budget:   o.Budget,
		Clock:    clock.RealClock{},
		Log:      o.Log,
		Auth:     acc.Wrap,
	}
	srv := serve.NewHTTPServer(o.Addr, s.Handler())
	srv.TLSConfig = tlsCfg
	o.Log.WithFields(logrus.Fields{"addr": ln.Addr().String(), "tls": tlsCfg != nil, "authentication": mode, "front_proxy": o.Access.RequestHeader != nil,
		"store": o.Store.String(), "max_concurrent_reads": o.MaxReads, "read_budget_mib": o.Budget >> 20, "version": o.Version}).Info("serving the history view")
	err = serve.Serve(ctx, srv, func() error {
		if tlsCfg != nil {
			return srv.ServeTLS(ln, "", "")
		}
		return srv.Serve(ln)
	})
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	o.Log.Info("stopped by signal")
	return nil
}

// check is the check in front of the pages, as the mode asks. Its client
// is a copy of the cluster's config made apart from the store's, which
// serve.ReadOnly wraps (a review is a POST); it sends the reviews and
// nothing else (access.ReviewsOnly).
func check(ctx context.Context, o Options) (*access.Access, string, error) {
	mode := DefaultAuthentication(o.Authentication, o.Kube)
	opts := o.Access
	opts.Log = o.Log
	if mode == None {
		o.Log.Warn("--authentication none: no access control, whoever reaches --addr sees every namespace's pods")
		return access.Open(), mode, nil
	}
	restCfg, err := o.Kube.RestConfig()
	if err != nil {
		if o.Authentication == "" {
			return nil, mode, usage.Errorf("%w (serve asks the cluster who may see what; --authentication none shows everything to everyone)", err)
		}
		return nil, mode, err
	}
	restCfg.Wrap(access.ReviewsOnly)
	reviews, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, mode, usage.Errorf("invalid kubeconfig: %w", err)
	}
	if mode == Self {
		if host, _, _ := net.SplitHostPort(o.Addr); host == "" || !isLoopback(host) {
			o.Log.WithField("addr", o.Addr).Warn("--authentication self on an address other machines reach: they all see what the kubeconfig's user may")
		}
		a, err := access.Self(ctx, reviews, opts)
		return a, mode, err
	}
	a, err := access.Delegated(reviews, opts)
	return a, mode, usage.Wrap(err)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
