package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/utils/clock"
)

// The two reviews are sent with client-go's typed clients rather than
// through k8s.io/apiserver's webhook plugins (plugin/pkg/authenticator/token/
// webhook, plugin/pkg/authorizer/webhook, which authenticatorfactory and
// authorizerfactory wrap): those bring gRPC, OpenTelemetry's exporters and
// CEL into the binary (+15 MB, +22 MB of resident memory at start for every
// ashiato process, the recorder included; docs/security.md has the
// figures). The request is the same TokenReview and SubjectAccessReview, and
// the answers are cached as those plugins cache them.

const (
	// reviewTimeout bounds one review.
	reviewTimeout = 10 * time.Second
	// answerCacheSize bounds the cached access answers, as the webhook
	// authorizer's (8192).
	answerCacheSize = 8192
	// maxCachedKey: an answer whose question is larger than this (a user with
	// thousands of groups) is not cached, as the webhook authorizer does, so
	// that no identity can fill the cache with a few huge entries.
	maxCachedKey = 10000
)

// tokenReviewer is an authenticator.Token that asks the API server with a
// TokenReview. The library's token cache (token/cache) goes in front of it.
type tokenReviewer struct {
	reviews   authenticationclient.TokenReviewInterface
	audiences []string
}

func (t *tokenReviewer) AuthenticateToken(ctx context.Context, token string) (*authenticator.Response, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, reviewTimeout)
	defer cancel()
	r, err := t.reviews.Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: t.audiences},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, false, fmt.Errorf("TokenReview: %w", err)
	}
	st := r.Status
	if !st.Authenticated {
		if st.Error != "" {
			return nil, false, errors.New(st.Error)
		}
		return nil, false, nil
	}
	var auds authenticator.Audiences
	if len(t.audiences) > 0 {
		// The API server answers with the audiences the token is valid for
		// among those asked; a server that ignored them answers none.
		auds = authenticator.Audiences(t.audiences).Intersect(st.Audiences)
		if len(auds) == 0 {
			return nil, false, nil
		}
	}
	var extra map[string][]string
	if len(st.User.Extra) > 0 {
		extra = make(map[string][]string, len(st.User.Extra))
		for k, v := range st.User.Extra {
			extra[k] = v
		}
	}
	return &authenticator.Response{
		User:      &user.DefaultInfo{Name: st.User.Username, UID: st.User.UID, Groups: st.User.Groups, Extra: extra},
		Audiences: auds,
	}, true, nil
}

// reviewAuthorizer answers authorizer questions with an access review of the
// API server, caching each answer: allowed for allowTTL, denied for denyTTL,
// errors not at all.
type reviewAuthorizer struct {
	ask               func(context.Context, authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error)
	answers           *cache.LRUExpireCache
	allowTTL, denyTTL time.Duration
}

func newReviewAuthorizer(o Options, ask func(context.Context, authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error)) *reviewAuthorizer {
	var clk cache.Clock = clock.RealClock{}
	if o.Clock != nil {
		clk = o.Clock
	}
	return &reviewAuthorizer{ask: ask, answers: cache.NewLRUExpireCacheWithClock(answerCacheSize, clk),
		allowTTL: o.AllowCacheTTL, denyTTL: o.DenyCacheTTL}
}

// subjectAccessReviews asks about the attributes' user
// (SubjectAccessReview, with the server's own credentials).
func subjectAccessReviews(c authorizationclient.SubjectAccessReviewInterface) func(context.Context, authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
	return func(ctx context.Context, spec authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
		ctx, cancel := context.WithTimeout(ctx, reviewTimeout)
		defer cancel()
		r, err := c.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
		if err != nil {
			return authorizationv1.SubjectAccessReviewStatus{}, fmt.Errorf("SubjectAccessReview: %w", err)
		}
		return r.Status, nil
	}
}

// selfSubjectAccessReviews asks about the client's own identity
// (SelfSubjectAccessReview); the spec's user is ignored.
func selfSubjectAccessReviews(c authorizationclient.SelfSubjectAccessReviewInterface) func(context.Context, authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
	return func(ctx context.Context, spec authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
		ctx, cancel := context.WithTimeout(ctx, reviewTimeout)
		defer cancel()
		r, err := c.Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: spec.ResourceAttributes},
		}, metav1.CreateOptions{})
		if err != nil {
			return authorizationv1.SubjectAccessReviewStatus{}, fmt.Errorf("SelfSubjectAccessReview: %w", err)
		}
		return r.Status, nil
	}
}

func (r *reviewAuthorizer) Authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	spec := authorizationv1.SubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: a.GetNamespace(), Verb: a.GetVerb(), Group: a.GetAPIGroup(), Version: a.GetAPIVersion(),
			Resource: a.GetResource(), Subresource: a.GetSubresource(), Name: a.GetName(),
		},
	}
	if u := a.GetUser(); u != nil {
		spec.User, spec.UID, spec.Groups = u.GetName(), u.GetUID(), u.GetGroups()
		if extra := u.GetExtra(); len(extra) > 0 {
			spec.Extra = make(map[string]authorizationv1.ExtraValue, len(extra))
			for k, v := range extra {
				spec.Extra[k] = v
			}
		}
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return authorizer.DecisionNoOpinion, "", err
	}
	key := string(raw)
	if d, ok := r.answers.Get(key); ok {
		return d.(authorizer.Decision), "", nil
	}
	st, err := r.ask(ctx, spec)
	if err != nil {
		return authorizer.DecisionNoOpinion, "", err
	}
	d, ttl := authorizer.DecisionNoOpinion, r.denyTTL
	switch {
	case st.Allowed:
		d, ttl = authorizer.DecisionAllow, r.allowTTL
	case st.Denied:
		d = authorizer.DecisionDeny
	}
	if len(key) <= maxCachedKey {
		r.answers.Add(key, d, ttl)
	}
	return d, st.Reason, nil
}
