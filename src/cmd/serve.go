package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/utils/clock"

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

Flags:
`

// serveConfig is what `ashiato serve` was asked, validated.
type serveConfig struct {
	kube     config // kubeconfig, context, cm-namespace, QPS: as the main command
	addr     string
	logLevel logrus.Level
	maxReads int
	budget   int64 // bytes
}

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
	return c, nil
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
	}
	srv := serve.NewHTTPServer(cfg.addr, s.Handler())
	log.WithFields(logrus.Fields{"addr": ln.Addr().String(), "store": st.String(), "max_concurrent_reads": cfg.maxReads, "read_budget_mib": cfg.budget >> 20, "version": version}).Info("serving the history view")
	err = serve.Serve(ctx, srv, func() error { return srv.Serve(ln) })
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	log.Info("stopped by signal")
	return nil
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
