package access

import (
	"context"
	"fmt"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// Viewer is what the pages ask about the identity behind a request. The
// answers come from the API server (SubjectAccessReview, or
// SelfSubjectAccessReview on a laptop), cached briefly. An error means the
// API server could not be asked: the page must fail, never show more.
type Viewer interface {
	// Name is who is looking, as the API server knows them, for the page.
	Name() string
	// MayListPods says whether the identity may `list pods` in namespace
	// now; namespace "" asks for every namespace at once (a cluster-wide
	// grant).
	MayListPods(ctx context.Context, namespace string) (bool, error)
	// MayGetNodes says whether the identity may `get nodes`, which the node
	// lifecycle rows need.
	MayGetNodes(ctx context.Context) (bool, error)
}

type viewerKey struct{}

// WithViewer returns ctx carrying v; the middlewares call it for every
// request, and tests of the pages may too.
func WithViewer(ctx context.Context, v Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// FromContext is the request's Viewer. Without one (no middleware ran) it is
// Nobody: a page served by mistake without access control shows nothing.
func FromContext(ctx context.Context) Viewer {
	if v, ok := ctx.Value(viewerKey{}).(Viewer); ok && v != nil {
		return v
	}
	return Nobody
}

// Nobody may see nothing.
var Nobody Viewer = fixed{name: "nobody", allowed: false}

// Everyone may see everything: serve without access control
// (--authentication=none), as before the web view checked identities.
var Everyone Viewer = fixed{name: "anyone (no access control)", allowed: true}

type fixed struct {
	name    string
	allowed bool
}

func (f fixed) Name() string                                      { return f.name }
func (f fixed) MayListPods(context.Context, string) (bool, error) { return f.allowed, nil }
func (f fixed) MayGetNodes(context.Context) (bool, error)         { return f.allowed, nil }

// authorizerViewer asks an authorizer (the delegating SubjectAccessReview
// one, or Self's SelfSubjectAccessReview one) about one user.
type authorizerViewer struct {
	user  user.Info
	authz authorizer.UnconditionalAuthorizer
}

// NewViewer is the Viewer of u as authz decides. The middlewares make one per
// request; it holds no state of its own (the authorizer caches).
func NewViewer(u user.Info, authz authorizer.UnconditionalAuthorizer) Viewer {
	return authorizerViewer{user: u, authz: authz}
}

func (v authorizerViewer) Name() string { return v.user.GetName() }

func (v authorizerViewer) MayListPods(ctx context.Context, namespace string) (bool, error) {
	return v.allowed(ctx, authorizer.AttributesRecord{
		User: v.user, Verb: "list", Namespace: namespace,
		APIGroup: "", APIVersion: "v1", Resource: "pods", ResourceRequest: true,
	})
}

func (v authorizerViewer) MayGetNodes(ctx context.Context) (bool, error) {
	return v.allowed(ctx, authorizer.AttributesRecord{
		User: v.user, Verb: "get",
		APIGroup: "", APIVersion: "v1", Resource: "nodes", ResourceRequest: true,
	})
}

// allowed is true only for DecisionAllow: a denial and "no opinion" (what
// RBAC says when no rule matches) both mean no.
func (v authorizerViewer) allowed(ctx context.Context, a authorizer.AttributesRecord) (bool, error) {
	decision, _, err := v.authz.Authorize(ctx, a)
	if err != nil {
		return false, fmt.Errorf("asking the API server whether %s may %s %s: %w", v.user.GetName(), a.Verb, describe(a), err)
	}
	return decision == authorizer.DecisionAllow, nil
}

func describe(a authorizer.AttributesRecord) string {
	if a.Namespace == "" {
		return a.Resource
	}
	return a.Resource + " in namespace " + a.Namespace
}
