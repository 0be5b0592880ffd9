package access

import (
	"fmt"
	"net/http"
)

// reviewPaths are the only requests the reviews client sends: creating a
// review (a POST that writes nothing; the API server only answers it).
var reviewPaths = map[string]bool{
	"/apis/authentication.k8s.io/v1/tokenreviews":            true,
	"/apis/authentication.k8s.io/v1/selfsubjectreviews":      true,
	"/apis/authorization.k8s.io/v1/subjectaccessreviews":     true,
	"/apis/authorization.k8s.io/v1/selfsubjectaccessreviews": true,
}

// ReviewsOnly wraps the transport of the client given to Delegated or Self
// so that it sends nothing but the reviews: a POST to one of the four review
// resources. Everything else fails before it leaves the process, as
// serve.ReadOnly does for the store's client, whose GET-only rule a review
// (a create) cannot pass. Give it to rest.Config.Wrap of a copy of the
// config made before ReadOnly wraps it.
func ReviewsOnly(rt http.RoundTripper) http.RoundTripper { return reviewsOnly{rt} }

type reviewsOnly struct{ next http.RoundTripper }

func (r reviewsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || !reviewPaths[req.URL.Path] {
		return nil, fmt.Errorf("ashiato serve's review client only asks reviews: refused %s %s", req.Method, req.URL.Path)
	}
	return r.next.RoundTrip(req)
}
