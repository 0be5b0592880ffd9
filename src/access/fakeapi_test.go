package access

import (
	"errors"
	"sync"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// fakeAPI answers TokenReviews and SubjectAccessReviews as an API server
// with RBAC would, from two tables, through reactors of client-go's fake
// clientset.
type fakeAPI struct {
	// tokens: token → user (and groups).
	tokens map[string]authenticationv1.UserInfo
	// grants: user → "verb resource namespace" allowed; namespace "*" is a
	// cluster-wide grant, which also answers the cluster-wide question.
	grants map[string][]string

	mu      sync.Mutex
	reviews map[string]int // resource → requests
	fail    bool           // every review fails as if the server were down
	lastSAR authorizationv1.SubjectAccessReviewSpec
}

func newFakeAPI(t *testing.T, tokens map[string]authenticationv1.UserInfo, grants map[string][]string) (*fakeAPI, kubernetes.Interface) {
	t.Helper()
	f := &fakeAPI{tokens: tokens, grants: grants, reviews: map[string]int{}}
	c := fake.NewClientset()
	c.PrependReactor("create", "tokenreviews", f.tokenReview)
	c.PrependReactor("create", "subjectaccessreviews", f.subjectAccessReview)
	return f, c
}

func (f *fakeAPI) setFail(fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
}

func (f *fakeAPI) count(resource string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reviews[resource]
}

var errDown = errors.New("connection refused")

func (f *fakeAPI) tokenReview(a k8stesting.Action) (bool, runtime.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reviews["tokenreviews"]++
	if f.fail {
		return true, nil, errDown
	}
	tr := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenReview).DeepCopy()
	if u, ok := f.tokens[tr.Spec.Token]; ok {
		tr.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: u, Audiences: tr.Spec.Audiences}
	} else {
		tr.Status = authenticationv1.TokenReviewStatus{Error: "invalid bearer token"}
	}
	return true, tr, nil
}

func (f *fakeAPI) subjectAccessReview(a k8stesting.Action) (bool, runtime.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reviews["subjectaccessreviews"]++
	if f.fail {
		return true, nil, errDown
	}
	sar := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview).DeepCopy()
	f.lastSAR = sar.Spec
	ra := sar.Spec.ResourceAttributes
	for _, g := range f.grants[sar.Spec.User] {
		if g == ra.Verb+" "+ra.Resource+" *" || (ra.Namespace != "" && g == ra.Verb+" "+ra.Resource+" "+ra.Namespace) {
			sar.Status.Allowed = true
		}
	}
	return true, sar, nil
}
