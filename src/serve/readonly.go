package serve

import (
	"fmt"
	"net/http"
)

// ReadOnly wraps a client's transport so that it sends GET and HEAD requests
// only (a LIST or a WATCH is a GET); anything else fails before it leaves the
// process. Give it to rest.Config.WrapTransport: the view then cannot write
// to the cluster whatever its credentials allow.
func ReadOnly(rt http.RoundTripper) http.RoundTripper { return readOnly{rt} }

type readOnly struct{ next http.RoundTripper }

func (r readOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return nil, fmt.Errorf("ashiato serve only reads: refused %s %s", req.Method, req.URL.Path)
	}
	return r.next.RoundTrip(req)
}
