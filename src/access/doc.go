// Package access decides who is looking at `ashiato serve` and what they may
// see, the way Kubernetes components do it (metrics-server, kube-rbac-proxy,
// controller-runtime's metrics filters): the API server answers both
// questions, with TokenReview and SubjectAccessReview, and a front proxy is
// trusted only as k8s.io/apiserver's request-header authentication trusts
// one. The request side is k8s.io/apiserver's own code, composed as its
// authenticatorfactory composes it (headerrequest with the x509 CA verifier,
// bearertoken, the token cache, union, the system:authenticated group); the
// two reviews are sent with client-go's typed clients instead of the
// library's webhook plugins, whose dependencies (gRPC, OpenTelemetry
// exporters, CEL) would grow every ashiato binary by 15 MB (review.go).
//
// Who (authentication), in the cluster, by Delegated's middleware:
//
//   - a bearer token, checked with a TokenReview; answers are cached for
//     TokenCacheTTL (10 s by default, as kube-apiserver's delegating options);
//   - or the identity headers (X-Remote-User, X-Remote-Group,
//     X-Remote-Extra-*) of a trusted front proxy such as oauth2-proxy, honoured
//     only when the connection presents a client certificate signed by the
//     configured request-header CA (and, when names are configured, with one
//     of those common names). Headers from any other caller are ignored, and
//     removed before the page sees the request.
//
// A request with neither is answered 401; so is an invalid token. The open
// paths (/healthz) are served without identity, for probes.
//
// What (authorization): a Viewer, taken from the request's context, answers
// "may this identity list pods in namespace N" and "may it get nodes" with a
// SubjectAccessReview (cached: allowed for AllowCacheTTL, denied for
// DenyCacheTTL, 10 s each by default, in a least-recently-used cache of at
// most 8192 answers, as the library's webhook authorizer caches). A failed
// review is an error, never a yes, and is not cached. On a laptop, Self asks the same questions with
// SelfSubjectAccessReview under the user's own kubeconfig credentials, so
// the web view never shows more than kubectl would.
//
// The pages use a Filter per request: it asks the cluster-wide question once,
// then each namespace once, and counts what it hid, so a page can say "12
// pods in 3 namespaces you may not list are not shown" instead of silently
// showing less.
//
// What this cannot protect: whoever reads the history's ConfigMaps or bucket
// directly reads every namespace's placements (docs/security.md).
package access
