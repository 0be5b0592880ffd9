// Package serve is `ashiato serve`: a small read-only web view of the
// history store. Pages are rendered on the server (html/template, inline CSS,
// the timeline SVG inline), so it needs nothing from the internet; every page
// has a JSON twin (?format=json) and a picture twin (?format=svg).
//
// Each page shows only what the request's viewer may see (Auth, package
// access: the pods of the namespaces it may list, the node events if it may
// get nodes) and says what it left out (visible.go).
//
// It is safe by construction: it answers GET and HEAD only (405 otherwise),
// escapes everything it echoes, sends a Content-Security-Policy that allows
// no script at all, bounds every request in time and size, and reads the
// store through history's streaming reads, which only read. ReadOnly guards
// the client's transport as well, so that no code path can write to the
// cluster.
//
// Every page reads as a stream (package history: one hour's objects at a
// time, each decoded with only what the page keeps), at most MaxReads pages
// at once (beyond that an immediate 503 with Retry-After, never a queue),
// and each within a budget of stored bytes decoded (beyond it a 422 that asks
// for a narrower window). docs/serve.md has the figures.
package serve

import (
	"context"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/utils/clock"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// Limits of a request.
const (
	// MaxRange is the longest window a page may ask for: a week of history
	// (the default retention) and a day to spare.
	MaxRange = 8 * 24 * time.Hour
	// readTimeout bounds one page's reading of the store.
	readTimeout = 30 * time.Second
	// DefaultMaxReads and DefaultBudget are --max-concurrent-reads and
	// --read-budget's defaults, sized for the serve component's 512Mi
	// (docs/serve.md, "Limits").
	DefaultMaxReads = 8
	DefaultBudget   = 256 << 20
	// retryAfter is what a 503 asks a client to wait, in seconds.
	retryAfter = "2"
)

// Server holds what the pages need.
type Server struct {
	// Store is the history (storeopen.Open's). In a store of several
	// clusters (storeio.Clusters) the pages take ?cluster= and show a
	// picker, unless Cluster pins one.
	Store   storeio.Store
	Cluster string
	Retry   retry.Policy
	// MaxReads is how many pages may read the store at once (0:
	// DefaultMaxReads); Budget the stored bytes one page may decode (0:
	// DefaultBudget; negative: no bound).
	MaxReads int
	Budget   int64
	Clock    clock.PassiveClock
	Log      logrus.FieldLogger
	// Auth finds out who sent a request and puts its access.Viewer in the
	// request's context (access.Access.Wrap); the pages show only what that
	// viewer may see. nil: no viewer, and the pages show nothing
	// (access.Nobody).
	Auth func(http.Handler) http.Handler

	slots chan struct{} // one per read under way
}

// Handler is every page, behind Auth, behind the method check and the
// security headers: a POST is 405 whoever sends it, before any token is
// looked at.
func (s *Server) Handler() http.Handler {
	s.slots = make(chan struct{}, cmpOr(s.MaxReads, DefaultMaxReads))
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", s.home)
	mux.HandleFunc("/node", s.node)
	mux.HandleFunc("/pod", s.pod)
	mux.HandleFunc("/incident", s.incident)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, "no such page: "+r.URL.Path)
	})
	if s.Auth == nil {
		return guard(mux)
	}
	return guard(s.Auth(mux))
}

// guard refuses every method but GET and HEAD and sets the headers every
// answer carries.
func guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: this view only reads", http.StatusMethodNotAllowed)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// NewHTTPServer is the http.Server for h on addr, with every timeout set: a
// slow or idle client cannot hold a connection, and a page that takes too
// long to write is cut.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      readTimeout + 15*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
	}
}

// Serve runs srv on the listener until ctx ends, then shuts it down, giving
// requests in flight a few seconds of their own.
func Serve(ctx context.Context, srv *http.Server, serve func() error) error {
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; err != http.ErrServerClosed {
		return err
	}
	return nil
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}
