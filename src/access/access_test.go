package access

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pod-ashiato/ashiato/e2e/testpki"
)

// seen is what the test handler saw of a request.
type seen struct {
	Name    string          `json:"name"`
	Pods    map[string]bool `json:"pods"` // namespace ("" every one) → may list
	Nodes   bool            `json:"nodes"`
	Headers http.Header     `json:"headers"`
}

// echo answers with what the request's viewer may do.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	v := FromContext(r.Context())
	s := seen{Name: v.Name(), Pods: map[string]bool{}, Headers: r.Header}
	for _, ns := range []string{"", "shop", "other"} {
		ok, err := v.MayListPods(r.Context(), ns)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		s.Pods[ns] = ok
	}
	var err error
	if s.Nodes, err = v.MayGetNodes(r.Context()); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s)
})

var (
	testTokens = map[string]authenticationv1.UserInfo{
		"reader-token": {Username: "system:serviceaccount:ops:reader"},
		"shop-token":   {Username: "system:serviceaccount:shop:viewer"},
		"nobody-token": {Username: "system:serviceaccount:default:nobody"},
	}
	testGrants = map[string][]string{
		"system:serviceaccount:ops:reader":  {"list pods *", "get nodes *"},
		"system:serviceaccount:shop:viewer": {"list pods shop"},
		"proxied-user":                      {"list pods other"},
	}
)

// pki is a request-header CA with a proxy certificate, and an impostor CA.
type pki struct {
	caPEM  []byte
	proxy  tls.Certificate // CN front-proxy, signed by the CA
	other  tls.Certificate // CN intruder, signed by the CA
	rogue  tls.Certificate // CN front-proxy, signed by another CA
	server tls.Certificate
	roots  *x509.CertPool // trusts server
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	caDER, caKey, err := testpki.NewCA("request-header-ca")
	if err != nil {
		t.Fatal(err)
	}
	rogueDER, rogueKey, err := testpki.NewCA("rogue-ca")
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(ca []byte, key crypto.Signer, cn string, usage x509.ExtKeyUsage) tls.Certificate {
		der, keyPEM, err := testpki.NewLeaf(ca, key, pkix.Name{CommonName: cn}, usage, []string{"localhost"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := tls.X509KeyPair(testpki.CertPEM(der), keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	p := &pki{caPEM: testpki.CertPEM(caDER)}
	p.proxy = leaf(caDER, caKey, "front-proxy", x509.ExtKeyUsageClientAuth)
	p.other = leaf(caDER, caKey, "intruder", x509.ExtKeyUsageClientAuth)
	p.rogue = leaf(rogueDER, rogueKey, "front-proxy", x509.ExtKeyUsageClientAuth)
	p.server = leaf(caDER, caKey, "localhost", x509.ExtKeyUsageServerAuth)
	p.roots = x509.NewCertPool()
	ca, _ := x509.ParseCertificate(caDER)
	p.roots.AddCert(ca)
	return p
}

// startTLS serves h over TLS asking for (not requiring) a client certificate,
// as ServerTLS configures serve.
func startTLS(t *testing.T, p *pki, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.server}, ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func clientWith(p *pki, cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: p.roots, ServerName: "localhost"}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
}

func get(t *testing.T, c *http.Client, url string, header http.Header) (int, seen) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s seen
	if resp.StatusCode == http.StatusOK && resp.Header.Get("Content-Type") == "application/json" {
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			t.Fatalf("decoding the answer: %v", err)
		}
	}
	return resp.StatusCode, s
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func forged(user string, groups ...string) http.Header {
	h := http.Header{"X-Remote-User": {user}, "X-Remote-Extra-Scopes": {"all"}}
	for _, g := range groups {
		h.Add("X-Remote-Group", g)
	}
	return h
}

func TestDelegatedTokens(t *testing.T) {
	api, client := newFakeAPI(t, testTokens, testGrants)
	a, err := Delegated(client, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", echo)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	srv := httptest.NewServer(a.Wrap(mux))
	t.Cleanup(srv.Close)
	c := srv.Client()

	t.Run("healthz needs no identity", func(t *testing.T) {
		resp, err := c.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("/healthz: %d, want 200", resp.StatusCode)
		}
	})
	t.Run("no identity is 401", func(t *testing.T) {
		if code, _ := get(t, c, srv.URL+"/node", nil); code != http.StatusUnauthorized {
			t.Errorf("got %d, want 401", code)
		}
	})
	t.Run("an invalid token is 401", func(t *testing.T) {
		if code, _ := get(t, c, srv.URL+"/node", bearer("stolen")); code != http.StatusUnauthorized {
			t.Errorf("got %d, want 401", code)
		}
	})
	t.Run("a cluster-wide reader sees everything", func(t *testing.T) {
		code, s := get(t, c, srv.URL+"/node", bearer("reader-token"))
		if code != http.StatusOK {
			t.Fatalf("got %d, want 200", code)
		}
		if s.Name != "system:serviceaccount:ops:reader" || !s.Pods[""] || !s.Pods["shop"] || !s.Pods["other"] || !s.Nodes {
			t.Errorf("got %+v, want every namespace and nodes", s)
		}
		if s.Headers.Get("Authorization") != "" {
			t.Error("the page saw the Authorization header")
		}
	})
	t.Run("a reader of shop sees only shop", func(t *testing.T) {
		code, s := get(t, c, srv.URL+"/pod", bearer("shop-token"))
		if code != http.StatusOK {
			t.Fatalf("got %d, want 200", code)
		}
		want := map[string]bool{"": false, "shop": true, "other": false}
		for ns, ok := range want {
			if s.Pods[ns] != ok {
				t.Errorf("may list pods in %q: %v, want %v", ns, s.Pods[ns], ok)
			}
		}
		if s.Nodes {
			t.Error("may get nodes, want not")
		}
	})
	t.Run("answers are cached", func(t *testing.T) {
		trs, sars := api.count("tokenreviews"), api.count("subjectaccessreviews")
		get(t, c, srv.URL+"/pod", bearer("shop-token"))
		if got := api.count("tokenreviews"); got != trs {
			t.Errorf("a second request with the same token sent %d more TokenReviews, want 0", got-trs)
		}
		if got := api.count("subjectaccessreviews"); got != sars {
			t.Errorf("the same questions again sent %d more SubjectAccessReviews, want 0", got-sars)
		}
	})
	t.Run("identity headers are ignored without a front proxy", func(t *testing.T) {
		if code, _ := get(t, c, srv.URL+"/node", forged("system:admin", "system:masters")); code != http.StatusUnauthorized {
			t.Errorf("forged headers: %d, want 401", code)
		}
		// With a valid token too: the token's identity, the headers gone.
		code, s := get(t, c, srv.URL+"/node", func() http.Header {
			h := forged("system:admin", "system:masters")
			h.Set("Authorization", "Bearer shop-token")
			return h
		}())
		if code != http.StatusOK || s.Name != "system:serviceaccount:shop:viewer" || s.Pods["other"] {
			t.Errorf("token and forged headers: %d %+v, want the token's identity", code, s)
		}
		if s.Headers.Get("X-Remote-User") != "" || s.Headers.Get("X-Remote-Group") != "" || s.Headers.Get("X-Remote-Extra-Scopes") != "" {
			t.Errorf("the page saw identity headers: %v", s.Headers)
		}
	})
	t.Run("a failing API server is 401, never access", func(t *testing.T) {
		api.setFail(true)
		t.Cleanup(func() { api.setFail(false) })
		if code, _ := get(t, c, srv.URL+"/node", bearer("never-seen-token")); code != http.StatusUnauthorized {
			t.Errorf("got %d, want 401", code)
		}
	})
}

func TestDelegatedFrontProxy(t *testing.T) {
	p := newPKI(t)
	_, client := newFakeAPI(t, testTokens, testGrants)
	a, err := Delegated(client, Options{RequestHeader: &RequestHeader{ClientCA: p.caPEM, AllowedNames: []string{"front-proxy"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := startTLS(t, p, a.Wrap(echo))

	t.Run("the proxy's certificate makes the headers the identity", func(t *testing.T) {
		code, s := get(t, clientWith(p, &p.proxy), srv.URL, forged("proxied-user", "team-a"))
		if code != http.StatusOK {
			t.Fatalf("got %d, want 200", code)
		}
		if s.Name != "proxied-user" || !s.Pods["other"] || s.Pods["shop"] || s.Pods[""] {
			t.Errorf("got %+v, want proxied-user who may list pods in other only", s)
		}
		if s.Headers.Get("X-Remote-User") != "" || s.Headers.Get("X-Remote-Extra-Scopes") != "" {
			t.Errorf("the page saw identity headers: %v", s.Headers)
		}
	})
	refused := []struct {
		name string
		cert *tls.Certificate
	}{
		{"no client certificate", nil},
		{"a certificate of another CA", &p.rogue},
		{"a certificate of the CA with a name not allowed", &p.other},
	}
	for _, tc := range refused {
		t.Run("forged headers with "+tc.name+" are ignored", func(t *testing.T) {
			if code, _ := get(t, clientWith(p, tc.cert), srv.URL, forged("system:admin", "system:masters")); code != http.StatusUnauthorized {
				t.Errorf("got %d, want 401", code)
			}
		})
	}
	t.Run("a token still works without the certificate", func(t *testing.T) {
		code, s := get(t, clientWith(p, nil), srv.URL, bearer("reader-token"))
		if code != http.StatusOK || s.Name != "system:serviceaccount:ops:reader" {
			t.Errorf("got %d %+v, want the reader", code, s)
		}
	})
}

func TestDelegatedNeedsAClient(t *testing.T) {
	if _, err := Delegated(nil, Options{}); err == nil {
		t.Error("Delegated(nil) succeeded")
	}
	if _, err := Delegated(fakeClientOnly(t), Options{RequestHeader: &RequestHeader{ClientCA: []byte("not a PEM")}}); err == nil || !strings.Contains(err.Error(), "request-header") {
		t.Errorf("a bad request-header CA: %v, want an error naming it", err)
	}
}

func fakeClientOnly(t *testing.T) kubernetes.Interface {
	_, c := newFakeAPI(t, nil, nil)
	return c
}

func TestOpenAndNobody(t *testing.T) {
	srv := httptest.NewServer(Open().Wrap(echo))
	t.Cleanup(srv.Close)
	code, s := get(t, srv.Client(), srv.URL, nil)
	if code != http.StatusOK || !s.Pods[""] || !s.Nodes {
		t.Errorf("Open: %d %+v, want everything", code, s)
	}
	// A page reached without any middleware shows nothing.
	bare := httptest.NewServer(echo)
	t.Cleanup(bare.Close)
	code, s = get(t, bare.Client(), bare.URL, nil)
	if code != http.StatusOK || s.Pods[""] || s.Pods["shop"] || s.Nodes || s.Name != "nobody" {
		t.Errorf("no middleware: %d %+v, want nothing visible", code, s)
	}
}

func TestDelegatedAskAboutTheWholeIdentity(t *testing.T) {
	p := newPKI(t)
	api, client := newFakeAPI(t, testTokens, testGrants)
	a, err := Delegated(client, Options{RequestHeader: &RequestHeader{ClientCA: p.caPEM}})
	if err != nil {
		t.Fatal(err)
	}
	srv := startTLS(t, p, a.Wrap(echo))
	h := forged("proxied-user", "team-a", "team-b")
	h.Set("X-Remote-Uid", "1234")
	if code, _ := get(t, clientWith(p, &p.proxy), srv.URL, h); code != http.StatusOK {
		t.Fatalf("got %d, want 200", code)
	}
	api.mu.Lock()
	spec := api.lastSAR
	api.mu.Unlock()
	want := []string{"team-a", "team-b", "system:authenticated"}
	if spec.User != "proxied-user" || spec.UID != "1234" || strings.Join(spec.Groups, ",") != strings.Join(want, ",") || len(spec.Extra["scopes"]) != 1 {
		t.Errorf("SubjectAccessReview asked about %+v, want proxied-user, uid 1234, groups %v and extra scopes", spec, want)
	}
}

func TestDelegatedAudiences(t *testing.T) {
	_, client := newFakeAPI(t, testTokens, testGrants)
	// The fake API server answers the audiences asked: the token is for them.
	a, err := Delegated(client, Options{Audiences: []string{"ashiato"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Wrap(echo))
	t.Cleanup(srv.Close)
	if code, _ := get(t, srv.Client(), srv.URL, bearer("reader-token")); code != http.StatusOK {
		t.Errorf("a token for the audience: %d, want 200", code)
	}
	// A server that answers with no audience (it did not check them) is not
	// taken for a yes.
	c := client.(*fake.Clientset)
	c.PrependReactor("create", "tokenreviews", func(act k8stesting.Action) (bool, runtime.Object, error) {
		tr := act.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenReview).DeepCopy()
		tr.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: testTokens["reader-token"]}
		return true, tr, nil
	})
	if code, _ := get(t, srv.Client(), srv.URL, bearer("another-reader-token")); code != http.StatusUnauthorized {
		t.Errorf("a token with no audience in the answer: %d, want 401", code)
	}
}

func TestHugeIdentitiesAreNotCached(t *testing.T) {
	api, client := newFakeAPI(t, nil, map[string][]string{"big": {"list pods *"}})
	authz := newReviewAuthorizer(Options{}.withDefaults(), subjectAccessReviews(client.AuthorizationV1().SubjectAccessReviews()))
	groups := make([]string, 2000)
	for i := range groups {
		groups[i] = fmt.Sprintf("group-%04d", i)
	}
	v := NewViewer(&user.DefaultInfo{Name: "big", Groups: groups}, authz)
	for range 2 {
		if ok, err := v.MayListPods(t.Context(), ""); !ok || err != nil {
			t.Fatalf("MayListPods: %v %v", ok, err)
		}
	}
	if n := api.count("subjectaccessreviews"); n != 2 {
		t.Errorf("%d reviews for a question of more than %d bytes asked twice, want 2 (not cached)", n, maxCachedKey)
	}
}

func TestServerTLS(t *testing.T) {
	if _, err := ServerTLS("/nonexistent/tls.crt", "/nonexistent/tls.key"); err == nil {
		t.Error("ServerTLS with missing files succeeded")
	}
}
