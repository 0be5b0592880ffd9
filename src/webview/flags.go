package webview

import (
	"flag"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pod-ashiato/ashiato/src/access"
	"github.com/pod-ashiato/ashiato/src/serve"
	"github.com/pod-ashiato/ashiato/src/usage"
)

// Flags are `ashiato serve`'s own flags, defined here with the options they
// set, as package storeopen defines the store's; the cluster and store
// flags are the ones every command shares.
type Flags struct {
	Options
	LogLevel logrus.Level

	logLevel                    string
	budgetMiB                   int64
	requestHeaderCA             string
	requestHeader               access.RequestHeader
	allowedNames, userHeaders   string
	groupHeaders, extraPrefixes string
	audiences                   string
	tokenTTL, allowTTL, denyTTL time.Duration
}

// Register adds the flags to fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Addr, "addr", "", "address to listen on, e.g. 127.0.0.1:8080 or :8080 (required)")
	fs.StringVar(&f.logLevel, "log-level", "info", "diagnostics on stderr: debug, info, warn or error")
	fs.IntVar(&f.MaxReads, "max-concurrent-reads", serve.DefaultMaxReads, "pages that may read the store at once; beyond them a page is answered 503 with Retry-After at once")
	fs.Int64Var(&f.budgetMiB, "read-budget-mib", serve.DefaultBudget>>20, "MiB of stored history one page may decode; a wider window is answered 422 (ask for a narrower window)")
	fs.StringVar(&f.Authentication, "authentication", "", "who sees what: kubernetes (each request's bearer token or front-proxy identity), self (the kubeconfig's user) or none (everyone sees everything: a trusted network only) (default: kubernetes in a pod with the in-cluster config, else self)")
	fs.StringVar(&f.TLSCert, "tls-cert-file", "", "serve HTTPS with this certificate (PEM; with --tls-private-key-file)")
	fs.StringVar(&f.TLSKey, "tls-private-key-file", "", "the key of --tls-cert-file")
	fs.StringVar(&f.requestHeaderCA, "requestheader-client-ca-file", "", "trust the identity headers of a front proxy whose client certificate this CA bundle signs (needs --authentication kubernetes and TLS); never the cluster's CA")
	fs.StringVar(&f.allowedNames, "requestheader-allowed-names", "", "comma-separated common names the front proxy's certificate may carry (default: any the CA signed)")
	fs.StringVar(&f.userHeaders, "requestheader-username-headers", strings.Join(access.DefaultUsernameHeaders, ","), "comma-separated headers that carry the front proxy's user name")
	fs.StringVar(&f.groupHeaders, "requestheader-group-headers", strings.Join(access.DefaultGroupHeaders, ","), "comma-separated headers that carry the front proxy's user's groups")
	fs.StringVar(&f.extraPrefixes, "requestheader-extra-headers-prefix", strings.Join(access.DefaultExtraHeaderPrefixes, ","), "comma-separated prefixes of the headers that carry the front proxy's user's extra attributes")
	fs.StringVar(&f.audiences, "authentication-audiences", "", "comma-separated token audiences accepted (kubectl create token NAME --audience A); default: the API server's own")
	fs.DurationVar(&f.tokenTTL, "authentication-token-cache-ttl", access.DefaultTokenCacheTTL, "how long a TokenReview's answer is reused for the same token")
	fs.DurationVar(&f.allowTTL, "authorization-allow-cache-ttl", access.DefaultAllowCacheTTL, "how long an access review's 'allowed' is reused for the same question")
	fs.DurationVar(&f.denyTTL, "authorization-deny-cache-ttl", access.DefaultDenyCacheTTL, "how long an access review's 'denied' is reused for the same question")
}

// Validate checks the flags and fills Options; given tells which flags were
// given. Every error is a usage error.
func (f *Flags) Validate(given func(flag string) bool) error {
	if f.Addr == "" {
		return usage.Errorf("ashiato serve needs --addr, e.g. --addr 127.0.0.1:8080 (this machine only) or --addr :8080 (every interface)")
	}
	host, port, err := net.SplitHostPort(f.Addr)
	if err != nil {
		return usage.Errorf("invalid --addr %q: want HOST:PORT or :PORT", f.Addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return usage.Errorf("invalid --addr %q: port %q is not a number from 0 to 65535", f.Addr, port)
	}
	if host != "" && net.ParseIP(host) == nil && len(validation.IsDNS1123Subdomain(host)) > 0 {
		return usage.Errorf("invalid --addr %q: %q is neither an IP address nor a host name", f.Addr, host)
	}
	if f.MaxReads < 1 {
		return usage.Errorf("invalid --max-concurrent-reads %d: want 1 or more", f.MaxReads)
	}
	if f.budgetMiB < 1 || f.budgetMiB > 1<<20 {
		return usage.Errorf("invalid --read-budget-mib %d: want 1 to %d", f.budgetMiB, 1<<20)
	}
	f.Budget = f.budgetMiB << 20
	level, err := logrus.ParseLevel(f.logLevel)
	if err != nil {
		return usage.Errorf("invalid --log-level %q: want debug, info, warn or error", f.logLevel)
	}
	f.LogLevel = level
	return f.validateAccess(given)
}

// validateAccess checks the access flags and fills f.Access; the default
// mode is decided later (DefaultAuthentication), when the cluster is known.
func (f *Flags) validateAccess(given func(flag string) bool) error {
	switch f.Authentication {
	case "", Kubernetes, Self, None:
	default:
		return usage.Errorf("invalid --authentication %q: want kubernetes, self or none", f.Authentication)
	}
	if (f.TLSCert == "") != (f.TLSKey == "") {
		return usage.Errorf("--tls-cert-file and --tls-private-key-file go together")
	}
	for name, d := range map[string]time.Duration{"authentication-token-cache-ttl": f.tokenTTL, "authorization-allow-cache-ttl": f.allowTTL, "authorization-deny-cache-ttl": f.denyTTL} {
		if d <= 0 || d > 10*time.Minute {
			return usage.Errorf("invalid --%s %s: want more than 0 and at most 10m", name, d)
		}
	}
	f.Access = access.Options{TokenCacheTTL: f.tokenTTL, AllowCacheTTL: f.allowTTL, DenyCacheTTL: f.denyTTL, Audiences: splitList(f.audiences)}
	requestHeaderFlags := false
	for _, name := range []string{"requestheader-allowed-names", "requestheader-username-headers", "requestheader-group-headers", "requestheader-extra-headers-prefix"} {
		requestHeaderFlags = requestHeaderFlags || given(name)
	}
	if f.requestHeaderCA == "" {
		if requestHeaderFlags {
			return usage.Errorf("the --requestheader-* flags need --requestheader-client-ca-file")
		}
		return nil
	}
	if f.TLSCert == "" {
		return usage.Errorf("--requestheader-client-ca-file needs --tls-cert-file and --tls-private-key-file: the front proxy proves itself with a client certificate, which only TLS carries")
	}
	if f.Authentication != Kubernetes && f.Authentication != "" {
		return usage.Errorf("--requestheader-client-ca-file needs --authentication kubernetes")
	}
	ca, err := os.ReadFile(f.requestHeaderCA)
	if err != nil {
		return usage.Errorf("invalid --requestheader-client-ca-file: %w", err)
	}
	f.requestHeader = access.RequestHeader{ClientCA: ca, AllowedNames: splitList(f.allowedNames),
		UsernameHeaders: splitList(f.userHeaders), GroupHeaders: splitList(f.groupHeaders), ExtraHeaderPrefixes: splitList(f.extraPrefixes)}
	f.Access.RequestHeader = &f.requestHeader
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
