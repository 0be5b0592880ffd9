package access

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// TestReviewsOnly: through the wrapped transport the four reviews reach the
// server, and a read or a write of anything else never leaves the process.
func TestReviewsOnly(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	cfg := &rest.Config{Host: srv.URL}
	cfg.Wrap(ReviewsOnly)
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, create := t.Context(), metav1.CreateOptions{}
	if _, err := c.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{}, create); err != nil {
		t.Errorf("TokenReview: %v", err)
	}
	if _, err := c.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, create); err != nil {
		t.Errorf("SelfSubjectReview: %v", err)
	}
	if _, err := c.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{}, create); err != nil {
		t.Errorf("SubjectAccessReview: %v", err)
	}
	if _, err := c.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{}, create); err != nil {
		t.Errorf("SelfSubjectAccessReview: %v", err)
	}
	if _, err := c.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{}); err == nil || !strings.Contains(err.Error(), "only asks reviews") {
		t.Errorf("listing Secrets: %v, want refused", err)
	}
	if err := c.CoreV1().ConfigMaps("default").Delete(ctx, "x", metav1.DeleteOptions{}); err == nil {
		t.Error("deleting a ConfigMap went through")
	}
	if len(paths) != 4 {
		t.Errorf("the server saw %v, want the four reviews only", paths)
	}
}
