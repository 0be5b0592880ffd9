package access

import (
	"context"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/kubernetes"
)

// Self is the laptop mode (`ashiato serve` or `kubectl ashiato serve` with
// the user's kubeconfig): every request is the kubeconfig's user, and each
// question is asked with a SelfSubjectAccessReview under the user's own
// credentials (client), so the view never shows more than kubectl would.
// No request is authenticated: whoever reaches the port sees what the user
// may, so serve must listen on 127.0.0.1 only. The name shown is the one a
// SelfSubjectReview (kubectl auth whoami) answers.
func Self(ctx context.Context, client kubernetes.Interface, o Options) (*Access, error) {
	o = o.withDefaults()
	name := "the kubeconfig's user"
	if r, err := client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{}); err == nil {
		if n := r.Status.UserInfo.Username; n != "" {
			name = n
		}
	} else {
		// Only the name on the page depends on it: the reviews below do not.
		o.Log.WithError(err).Debug("SelfSubjectReview failed: the page will not name the user")
	}
	authz := newReviewAuthorizer(o, selfSubjectAccessReviews(client.AuthorizationV1().SelfSubjectAccessReviews()))
	v := NewViewer(&user.DefaultInfo{Name: name}, authz)
	return &Access{fixed: v, open: set(o.OpenPaths), log: o.Log}, nil
}
