package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/utils/clock"

	"github.com/pod-ashiato/ashiato/src/access"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/serve"
	"github.com/pod-ashiato/ashiato/src/storeio"
	"github.com/pod-ashiato/ashiato/src/storeopen"
)

const serveUsage = `Usage:
  ashiato serve --addr ADDR [flags]

A read-only web view of the history that ashiato --store-in-cm (or --store)
keeps: search a node or a pod, pick a time, see the timeline and the table.
Every page has a JSON twin (?format=json) and a picture (?format=svg). It
only reads the store: the ConfigMaps in --cm-namespace, or with --store s3
--s3-bucket B the clusters' hours in S3 (the pages offer the clusters under
--s3-prefix; --cluster shows one only). It answers GET and HEAD only.

Each page reads the store as a stream. At most --max-concurrent-reads pages
read at once (the next gets 503 with Retry-After), and each decodes at most
--read-budget-mib of stored history (beyond it, 422: ask for a narrower
window). docs/serve.md sizes both.

--addr is required: it binds there and nowhere else (127.0.0.1:8080 for this
machine only, :8080 for every interface).

Each page shows only the pods of the namespaces where whoever looks may
list pods, and node events if they may get nodes, and says what it hid.
--authentication decides who that is:
  kubernetes  every request authenticates: a bearer token (TokenReview) or
              a trusted front proxy's identity headers (--requestheader-*,
              over TLS); none: 401. Default in a pod (in-cluster config).
  self        the kubeconfig's user, asked with SelfSubjectAccessReview: the
              view shows what kubectl would. Default with a kubeconfig; bind
              --addr to 127.0.0.1.
  none        no access control: everyone sees everything. Only for a
              trusted network or behind kubectl port-forward; never default.
docs/serve.md, "Who sees what".

Flags:
`

// serveConfig is what `ashiato serve` was asked, validated.
type serveConfig struct {
	kube     config // kubeconfig, context, cm-namespace, QPS: as the main command
	addr     string
	logLevel logrus.Level
	maxReads int
	budget   int64 // bytes

	authn           string // kubernetes, self or none; "" until defaulted
	access          access.Options
	tlsCert, tlsKey string
	requestHeaderCA string
	requestHeader   access.RequestHeader
	authnCacheTTL   time.Duration
	allowCacheTTL   time.Duration
	denyCacheTTL    time.Duration
}

// The --authentication modes.
const (
	authnKubernetes = "kubernetes"
	authnSelf       = "self"
	authnNone       = "none"
)

func parseServeFlags(args []string, stderr io.Writer) (*serveConfig, error) {
	c := &serveConfig{kube: config{kubeQPS: 20, kubeBurst: 40}}
	fs := flag.NewFlagSet("ashiato serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.addr, "addr", "", "address to listen on, e.g. 127.0.0.1:8080 or :8080 (required)")
	fs.StringVar(&c.kube.kubeconfig, "kubeconfig", "", "path to a kubeconfig file (default: $KUBECONFIG, else the in-cluster config when running in a pod, else ~/.kube/config)")
	fs.StringVar(&c.kube.context, "context", "", "kubeconfig context to use (default: the current context)")
	c.kube.store.Register(fs, "namespace of the history ConfigMaps (--store configmap)", "cluster", "with --store s3: the cluster whose history to show (default: the only cluster under --s3-prefix)")
	logLevel := fs.String("log-level", "info", "diagnostics on stderr: debug, info, warn or error")
	fs.IntVar(&c.maxReads, "max-concurrent-reads", serve.DefaultMaxReads, "pages that may read the store at once; beyond them a page is answered 503 with Retry-After at once")
	budgetMiB := fs.Int64("read-budget-mib", serve.DefaultBudget>>20, "MiB of stored history one page may decode; a wider window is answered 422 (ask for a narrower window)")
	fs.StringVar(&c.authn, "authentication", "", "who sees what: kubernetes (each request's bearer token or front-proxy identity), self (the kubeconfig's user) or none (everyone sees everything: a trusted network only) (default: kubernetes in a pod with the in-cluster config, else self)")
	fs.StringVar(&c.tlsCert, "tls-cert-file", "", "serve HTTPS with this certificate (PEM; with --tls-private-key-file)")
	fs.StringVar(&c.tlsKey, "tls-private-key-file", "", "the key of --tls-cert-file")
	fs.StringVar(&c.requestHeaderCA, "requestheader-client-ca-file", "", "trust the identity headers of a front proxy whose client certificate this CA bundle signs (needs --authentication kubernetes and TLS); never the cluster's CA")
	allowedNames := fs.String("requestheader-allowed-names", "", "comma-separated common names the front proxy's certificate may carry (default: any the CA signed)")
	userHeaders := fs.String("requestheader-username-headers", strings.Join(access.DefaultUsernameHeaders, ","), "comma-separated headers that carry the front proxy's user name")
	groupHeaders := fs.String("requestheader-group-headers", strings.Join(access.DefaultGroupHeaders, ","), "comma-separated headers that carry the front proxy's user's groups")
	extraPrefixes := fs.String("requestheader-extra-headers-prefix", strings.Join(access.DefaultExtraHeaderPrefixes, ","), "comma-separated prefixes of the headers that carry the front proxy's user's extra attributes")
	audiences := fs.String("authentication-audiences", "", "comma-separated token audiences accepted (kubectl create token NAME --audience A); default: the API server's own")
	fs.DurationVar(&c.authnCacheTTL, "authentication-token-cache-ttl", access.DefaultTokenCacheTTL, "how long a TokenReview's answer is reused for the same token")
	fs.DurationVar(&c.allowCacheTTL, "authorization-allow-cache-ttl", access.DefaultAllowCacheTTL, "how long an access review's 'allowed' is reused for the same question")
	fs.DurationVar(&c.denyCacheTTL, "authorization-deny-cache-ttl", access.DefaultDenyCacheTTL, "how long an access review's 'denied' is reused for the same question")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), serveUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
			return nil, err
		}
		return nil, usageError{firstLine(err)}
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q (see ashiato serve --help)", fs.Arg(0))
	}
	if c.addr == "" {
		return nil, usagef("ashiato serve needs --addr, e.g. --addr 127.0.0.1:8080 (this machine only) or --addr :8080 (every interface)")
	}
	host, port, err := net.SplitHostPort(c.addr)
	if err != nil {
		return nil, usagef("invalid --addr %q: want HOST:PORT or :PORT", c.addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return nil, usagef("invalid --addr %q: port %q is not a number from 0 to 65535", c.addr, port)
	}
	if host != "" && net.ParseIP(host) == nil && len(validation.IsDNS1123Subdomain(host)) > 0 {
		return nil, usagef("invalid --addr %q: %q is neither an IP address nor a host name", c.addr, host)
	}
	if err := c.kube.store.Validate("cluster"); err != nil {
		return nil, usageError{err}
	}
	if c.maxReads < 1 {
		return nil, usagef("invalid --max-concurrent-reads %d: want 1 or more", c.maxReads)
	}
	if *budgetMiB < 1 || *budgetMiB > 1<<20 {
		return nil, usagef("invalid --read-budget-mib %d: want 1 to %d", *budgetMiB, 1<<20)
	}
	c.budget = *budgetMiB << 20
	level, err := logrus.ParseLevel(*logLevel)
	if err != nil {
		return nil, usagef("invalid --log-level %q: want debug, info, warn or error", *logLevel)
	}
	c.logLevel = level
	if err := c.validateAccess(fs, *audiences, *allowedNames, *userHeaders, *groupHeaders, *extraPrefixes); err != nil {
		return nil, err
	}
	return c, nil
}

// validateAccess checks the access flags and fills c.access; the default
// mode is decided later (defaultAuthentication), when the config is known.
func (c *serveConfig) validateAccess(fs *flag.FlagSet, audiences, allowedNames, userHeaders, groupHeaders, extraPrefixes string) error {
	switch c.authn {
	case "", authnKubernetes, authnSelf, authnNone:
	default:
		return usagef("invalid --authentication %q: want kubernetes, self or none", c.authn)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return usagef("--tls-cert-file and --tls-private-key-file go together")
	}
	for name, d := range map[string]time.Duration{"authentication-token-cache-ttl": c.authnCacheTTL, "authorization-allow-cache-ttl": c.allowCacheTTL, "authorization-deny-cache-ttl": c.denyCacheTTL} {
		if d <= 0 || d > 10*time.Minute {
			return usagef("invalid --%s %s: want more than 0 and at most 10m", name, d)
		}
	}
	c.access = access.Options{TokenCacheTTL: c.authnCacheTTL, AllowCacheTTL: c.allowCacheTTL, DenyCacheTTL: c.denyCacheTTL, Audiences: splitList(audiences)}
	requestHeaderFlags := false
	fs.Visit(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "requestheader-") {
			requestHeaderFlags = true
		}
	})
	if c.requestHeaderCA == "" {
		if requestHeaderFlags {
			return usagef("the --requestheader-* flags need --requestheader-client-ca-file")
		}
		return nil
	}
	if c.tlsCert == "" {
		return usagef("--requestheader-client-ca-file needs --tls-cert-file and --tls-private-key-file: the front proxy proves itself with a client certificate, which only TLS carries")
	}
	if c.authn != authnKubernetes && c.authn != "" {
		return usagef("--requestheader-client-ca-file needs --authentication kubernetes")
	}
	ca, err := os.ReadFile(c.requestHeaderCA)
	if err != nil {
		return usagef("invalid --requestheader-client-ca-file: %w", err)
	}
	c.requestHeader = access.RequestHeader{ClientCA: ca, AllowedNames: splitList(allowedNames),
		UsernameHeaders: splitList(userHeaders), GroupHeaders: splitList(groupHeaders), ExtraHeaderPrefixes: splitList(extraPrefixes)}
	c.access.RequestHeader = &c.requestHeader
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// defaultAuthentication is --authentication when not given: kubernetes
// when the client is the in-cluster config (no --kubeconfig, no
// $KUBECONFIG, in a pod), else self.
func defaultAuthentication(c *serveConfig) string {
	if c.authn != "" {
		return c.authn
	}
	if c.kube.kubeconfig == "" && os.Getenv("KUBECONFIG") == "" && os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		return authnKubernetes
	}
	return authnSelf
}

// runServe is `ashiato serve`: the web view until the signal.
func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parseServeFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := newDiagnostics(stderr, cfg.logLevel)
	routeKlog(log)
	policy := retry.Policy{Backoff: retry.DefaultBackoff(), MaxElapsed: historyRetry, Log: log}
	st, err := serveStore(ctx, &cfg.kube, log)
	if err != nil {
		return err
	}
	a, mode, err := serveAccess(ctx, cfg, log)
	if err != nil {
		return err
	}
	var tlsCfg *tls.Config
	if cfg.tlsCert != "" {
		if tlsCfg, err = access.ServerTLS(cfg.tlsCert, cfg.tlsKey); err != nil {
			return usagef("invalid --tls-cert-file or --tls-private-key-file: %w", err)
		}
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return usagef("invalid --addr %q: %w", cfg.addr, err)
	}
	s := &serve.Server{
		Store:    st,
		Cluster:  cfg.kube.store.Cluster,
		Retry:    policy,
		MaxReads: cfg.maxReads,
		Budget:   cfg.budget,
		Clock:    clock.RealClock{},
		Log:      log,
		Auth:     a.Wrap,
	}
	srv := serve.NewHTTPServer(cfg.addr, s.Handler())
	srv.TLSConfig = tlsCfg
	log.WithFields(logrus.Fields{"addr": ln.Addr().String(), "tls": tlsCfg != nil, "authentication": mode, "front_proxy": cfg.access.RequestHeader != nil,
		"store": st.String(), "max_concurrent_reads": cfg.maxReads, "read_budget_mib": cfg.budget >> 20, "version": version}).Info("serving the history view")
	err = serve.Serve(ctx, srv, func() error {
		if tlsCfg != nil {
			return srv.ServeTLS(ln, "", "")
		}
		return srv.Serve(ln)
	})
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	log.Info("stopped by signal")
	return nil
}

// serveAccess is the check in front of the pages, as --authentication
// asks. Its client is a copy of the cluster's config made before
// serve.ReadOnly wraps the store's (a review is a POST), which sends the
// reviews and nothing else (access.ReviewsOnly).
func serveAccess(ctx context.Context, cfg *serveConfig, log logrus.FieldLogger) (*access.Access, string, error) {
	mode := defaultAuthentication(cfg)
	opts := cfg.access
	opts.Log = log
	if mode == authnNone {
		log.Warn("--authentication none: no access control, whoever reaches --addr sees every namespace's pods")
		return access.Open(), mode, nil
	}
	restCfg, err := restConfig(&cfg.kube)
	if err != nil {
		if cfg.authn == "" {
			return nil, mode, usagef("%w (serve asks the cluster who may see what; --authentication none shows everything to everyone)", err)
		}
		return nil, mode, err
	}
	restCfg.Wrap(access.ReviewsOnly)
	reviews, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, mode, usagef("invalid kubeconfig: %w", err)
	}
	if mode == authnSelf {
		if host, _, _ := net.SplitHostPort(cfg.addr); host == "" || !isLoopback(host) {
			log.WithField("addr", cfg.addr).Warn("--authentication self on an address other machines reach: they all see what the kubeconfig's user may")
		}
		a, err := access.Self(ctx, reviews, opts)
		return a, mode, err
	}
	a, err := access.Delegated(reviews, opts)
	if err != nil {
		return nil, mode, usageError{err}
	}
	return a, mode, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// serveStore is the store the view reads (storeopen.Open): for the ConfigMap
// store a client that can only read (serve.ReadOnly, whatever RBAC allows)
// and the namespace checked; in a store of several clusters (S3) the one
// --cluster names, or all of them, for the pages to pick from.
func serveStore(ctx context.Context, kube *config, log logrus.FieldLogger) (storeio.Store, error) {
	probe := kube.store.Cluster
	if probe == "" {
		probe = defaultCluster
	}
	return openStore(ctx, &kube.store, probe, func() (storeopen.Kube, error) {
		restCfg, err := restConfig(kube)
		if err != nil {
			return storeopen.Kube{}, err
		}
		restCfg.Wrap(serve.ReadOnly)
		client, err := kubernetes.NewForConfig(restCfg)
		if err != nil {
			return storeopen.Kube{}, usagef("invalid kubeconfig: %w", err)
		}
		meta, err := metadata.NewForConfig(restCfg)
		if err != nil {
			return storeopen.Kube{}, usagef("invalid kubeconfig: %w", err)
		}
		if err := checkNamespaces(ctx, client, log, map[string][]string{"cm-namespace": {kube.store.Namespace}}); err != nil {
			return storeopen.Kube{}, err
		}
		return storeopen.Kube{ConfigMaps: client.CoreV1(), Metadata: meta}, nil
	})
}
