package access

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

// selfClient is a fake clientset whose user is jane, who may list pods in
// shop only; every review is counted, and fail makes them error.
func selfClient(t *testing.T) (*fake.Clientset, *int, *error) {
	t.Helper()
	c := fake.NewClientset()
	reviews := 0
	var fail error
	c.PrependReactor("create", "selfsubjectreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authenticationv1.SelfSubjectReview{Status: authenticationv1.SelfSubjectReviewStatus{
			UserInfo: authenticationv1.UserInfo{Username: "jane"}}}, nil
	})
	c.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		reviews++
		if fail != nil {
			return true, nil, fail
		}
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).DeepCopy()
		ra := r.Spec.ResourceAttributes
		r.Status.Allowed = ra.Verb == "list" && ra.Resource == "pods" && ra.Namespace == "shop"
		return true, r, nil
	})
	return c, &reviews, &fail
}

func TestSelf(t *testing.T) {
	client, reviews, _ := selfClient(t)
	a, err := Self(t.Context(), client, Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Wrap(echo))
	t.Cleanup(srv.Close)
	// No credentials needed: every request is the kubeconfig's user.
	code, s := get(t, srv.Client(), srv.URL, nil)
	if code != http.StatusOK {
		t.Fatalf("got %d, want 200", code)
	}
	if s.Name != "jane" || s.Pods[""] || !s.Pods["shop"] || s.Pods["other"] || s.Nodes {
		t.Errorf("got %+v, want jane, who may list pods in shop only", s)
	}
	if *reviews != 4 { // every namespace, shop, other, nodes
		t.Errorf("%d SelfSubjectAccessReviews, want 4", *reviews)
	}
	get(t, srv.Client(), srv.URL, nil)
	if *reviews != 4 {
		t.Errorf("the same questions again sent %d more reviews, want 0 (cached)", *reviews-4)
	}
}

func TestSelfCacheExpiresAndKeepsNoErrors(t *testing.T) {
	client, reviews, fail := selfClient(t)
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC))
	authz := newReviewAuthorizer(Options{AllowCacheTTL: 10 * time.Second, DenyCacheTTL: 5 * time.Second, Clock: clk},
		selfSubjectAccessReviews(client.AuthorizationV1().SelfSubjectAccessReviews()))
	v := NewViewer(&user.DefaultInfo{Name: "jane"}, authz)
	ask := func(ns string) (bool, error) { return v.MayListPods(t.Context(), ns) }

	if ok, err := ask("shop"); !ok || err != nil {
		t.Fatalf("shop: %v %v, want allowed", ok, err)
	}
	if ok, err := ask("other"); ok || err != nil {
		t.Fatalf("other: %v %v, want denied", ok, err)
	}
	clk.SetTime(clk.Now().Add(6 * time.Second)) // the denial has expired, the grant not
	ask("shop")
	ask("other")
	if *reviews != 3 {
		t.Errorf("%d reviews after 6 s, want 3 (the denial asked again)", *reviews)
	}
	clk.SetTime(clk.Now().Add(5 * time.Second))
	ask("shop")
	if *reviews != 4 {
		t.Errorf("%d reviews after 11 s, want 4 (the grant asked again)", *reviews)
	}

	*fail = errors.New("connection refused")
	if ok, err := ask("kube-system"); ok || err == nil {
		t.Errorf("failing review: %v %v, want false and an error", ok, err)
	}
	*fail = nil
	if ok, err := ask("kube-system"); ok || err != nil {
		t.Errorf("after the failure: %v %v, want a fresh answer (denied)", ok, err)
	}
	if *reviews != 6 {
		t.Errorf("%d reviews, want 6: an error must not be cached", *reviews)
	}
}
