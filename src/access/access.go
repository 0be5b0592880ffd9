package access

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/group"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/request/headerrequest"
	"k8s.io/apiserver/pkg/authentication/request/union"
	tokencache "k8s.io/apiserver/pkg/authentication/token/cache"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// The defaults are kube-apiserver's delegating options' (the ones
// metrics-server and kube-rbac-proxy run with), written out here rather
// than imported from k8s.io/apiserver/pkg/server/options, which would bring
// in the whole generic API server.
const (
	DefaultTokenCacheTTL = 10 * time.Second
	DefaultAllowCacheTTL = 10 * time.Second
	DefaultDenyCacheTTL  = 10 * time.Second
)

// The request-header defaults: the names kube-apiserver's
// --requestheader-*-headers flags are usually given.
var (
	DefaultUsernameHeaders     = []string{"X-Remote-User"}
	DefaultUIDHeaders          = []string{"X-Remote-Uid"}
	DefaultGroupHeaders        = []string{"X-Remote-Group"}
	DefaultExtraHeaderPrefixes = []string{"X-Remote-Extra-"}
)

// DefaultOpenPaths are served without identity: the probes'.
var DefaultOpenPaths = []string{"/healthz"}

// Options configure Delegated and Self. The zero value is the defaults.
type Options struct {
	// TokenCacheTTL is how long a TokenReview's answer is reused for the
	// same token (Delegated only).
	TokenCacheTTL time.Duration
	// AllowCacheTTL and DenyCacheTTL are how long an allowed or a denied
	// access review's answer is reused for the same question.
	AllowCacheTTL, DenyCacheTTL time.Duration
	// Audiences, when set, are the token audiences accepted (a token for
	// another audience is unauthenticated); empty accepts the API server's
	// own audiences, as kube-rbac-proxy does by default.
	Audiences []string
	// RequestHeader, when set, trusts a front proxy's identity headers.
	RequestHeader *RequestHeader
	// OpenPaths are served without identity. Default DefaultOpenPaths.
	OpenPaths []string
	// Clock drives Self's cache of answers (the library's caches keep
	// their own). Default: the real clock.
	Clock clock.PassiveClock
	// Log receives a line per refused request (debug) and per failed
	// review (warning). Default: discarded.
	Log logrus.FieldLogger
}

// RequestHeader is the front proxy trusted to say who is behind it.
type RequestHeader struct {
	// ClientCA is the PEM bundle of the CAs that sign the proxy's client
	// certificate; required. It must not be the cluster's CA: any client
	// certificate it signed could then claim any identity.
	ClientCA []byte
	// AllowedNames are the common names the proxy's certificate may carry;
	// empty allows any certificate ClientCA signed.
	AllowedNames []string
	// The header names; empty takes the defaults above.
	UsernameHeaders, UIDHeaders, GroupHeaders, ExtraHeaderPrefixes []string
}

func (h *RequestHeader) withDefaults() *RequestHeader {
	c := *h
	or := func(v, d []string) []string {
		if len(v) == 0 {
			return d
		}
		return v
	}
	c.UsernameHeaders = or(c.UsernameHeaders, DefaultUsernameHeaders)
	c.UIDHeaders = or(c.UIDHeaders, DefaultUIDHeaders)
	c.GroupHeaders = or(c.GroupHeaders, DefaultGroupHeaders)
	c.ExtraHeaderPrefixes = or(c.ExtraHeaderPrefixes, DefaultExtraHeaderPrefixes)
	return &c
}

func (o Options) withDefaults() Options {
	if o.TokenCacheTTL == 0 {
		o.TokenCacheTTL = DefaultTokenCacheTTL
	}
	if o.AllowCacheTTL == 0 {
		o.AllowCacheTTL = DefaultAllowCacheTTL
	}
	if o.DenyCacheTTL == 0 {
		o.DenyCacheTTL = DefaultDenyCacheTTL
	}
	if o.OpenPaths == nil {
		o.OpenPaths = DefaultOpenPaths
	}
	if o.RequestHeader != nil {
		o.RequestHeader = o.RequestHeader.withDefaults()
	}
	if o.Log == nil {
		l := logrus.New()
		l.Out = discard{}
		o.Log = l
	}
	return o
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Access is the middleware in front of the pages: it finds out who sent a
// request and puts that identity's Viewer in the request's context.
type Access struct {
	authn     authenticator.Request // nil: every request is the same viewer
	authz     authorizer.UnconditionalAuthorizer
	fixed     Viewer // the viewer when authn is nil
	audiences authenticator.Audiences
	rh        *RequestHeader
	open      map[string]bool
	log       logrus.FieldLogger
}

// Delegated authenticates every request with the API server that client
// talks to and authorizes with SubjectAccessReview, as
// authenticatorfactory.DelegatingAuthenticatorConfig composes it: the front
// proxy's headers first (honoured only with a client certificate the
// request-header CA signed), then the bearer token (TokenReview, behind the
// library's token cache); every identity also gets the group
// system:authenticated. client is the server's own (in a pod, its
// ServiceAccount's): it needs `create` on tokenreviews.authentication.k8s.io
// and subjectaccessreviews.authorization.k8s.io, and nothing more for this.
func Delegated(client kubernetes.Interface, o Options) (*Access, error) {
	if client == nil {
		return nil, errors.New("access: no client to ask the API server with")
	}
	o = o.withDefaults()
	var authns []authenticator.Request
	if rh := o.RequestHeader; rh != nil {
		ca, err := dynamiccertificates.NewStaticCAContent("request-header-client-ca", rh.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("access: request-header client CA: %w", err)
		}
		authns = append(authns, headerrequest.NewDynamicVerifyOptionsSecure(ca.VerifyOptions,
			headerrequest.StaticStringSlice(rh.AllowedNames),
			headerrequest.StaticStringSlice(rh.UsernameHeaders), headerrequest.StaticStringSlice(rh.UIDHeaders),
			headerrequest.StaticStringSlice(rh.GroupHeaders), headerrequest.StaticStringSlice(rh.ExtraHeaderPrefixes)))
	}
	reviewer := &tokenReviewer{reviews: client.AuthenticationV1().TokenReviews(), audiences: o.Audiences}
	// Errors are not cached: an API server that could not be asked is asked
	// again at the next request.
	authns = append(authns, bearertoken.New(tokencache.New(reviewer, false, o.TokenCacheTTL, o.TokenCacheTTL)))
	return &Access{
		authn:     group.NewAuthenticatedGroupAdder(union.New(authns...)),
		authz:     newReviewAuthorizer(o, subjectAccessReviews(client.AuthorizationV1().SubjectAccessReviews())),
		audiences: o.Audiences,
		rh:        o.RequestHeader,
		open:      set(o.OpenPaths),
		log:       o.Log,
	}, nil
}

// Open is serve without access control (--authentication=none): every
// request sees everything, as before identities were checked.
func Open() *Access {
	return &Access{fixed: Everyone, open: set(DefaultOpenPaths), log: Options{}.withDefaults().Log}
}

func set(paths []string) map[string]bool {
	m := make(map[string]bool, len(paths))
	for _, p := range paths {
		m[p] = true
	}
	return m
}

// Wrap puts the check in front of next. A request on an open path passes as
// it is (with Nobody as its viewer); any other is authenticated: no identity,
// or a token the API server rejects, is 401. The Authorization header and the
// identity headers are removed before next sees the request.
func (a *Access) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.open[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		if a.authn == nil {
			next.ServeHTTP(w, r.WithContext(WithViewer(r.Context(), a.fixed)))
			return
		}
		if len(a.audiences) > 0 {
			r = r.WithContext(authenticator.WithAudiences(r.Context(), a.audiences))
		}
		resp, ok, err := a.authn.AuthenticateRequest(r)
		a.clearCredentials(r)
		if err != nil || !ok {
			if err != nil {
				a.log.WithError(err).WithField("path", r.URL.Path).Debug("request not authenticated")
			}
			unauthorized(w)
			return
		}
		v := NewViewer(resp.User, a.authz)
		next.ServeHTTP(w, r.WithContext(WithViewer(r.Context(), v)))
	})
}

// clearCredentials drops what identified the request, as kube-apiserver's
// authentication filter does, so no page can echo or forward a token or
// act on identity headers the check did not honour.
func (a *Access) clearCredentials(r *http.Request) {
	r.Header.Del("Authorization")
	rh := a.rh
	if rh == nil { // not trusted, but still not for the pages to see
		rh = (&RequestHeader{}).withDefaults()
	}
	headerrequest.ClearAuthenticationHeaders(r.Header,
		headerrequest.StaticStringSlice(rh.UsernameHeaders), headerrequest.StaticStringSlice(rh.UIDHeaders),
		headerrequest.StaticStringSlice(rh.GroupHeaders), headerrequest.StaticStringSlice(rh.ExtraHeaderPrefixes))
}

func unauthorized(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("WWW-Authenticate", `Bearer realm="ashiato"`)
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte("401 Unauthorized: send a bearer token (kubectl create token ...) or come through the login proxy\n"))
}
