package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/pod-ashiato/ashiato/e2e/fixture"
	"github.com/pod-ashiato/ashiato/e2e/testpki"
	"github.com/pod-ashiato/ashiato/src/access"
	"github.com/pod-ashiato/ashiato/src/leader"
)

// The identities of the access tests. ServiceAccounts live in accessNS; the
// namespaced reader may list pods in shop only; the proxied user is known
// to RBAC only by name (a RoleBinding in accessOther), as an OIDC user is.
const (
	accessNS     = "access-e2e"
	accessShop   = "shop"
	accessOther  = "access-other"
	proxiedUser  = "oidc:jane@example.com"
	proxiedGroup = "oidc:access-e2e-readers"
)

// accessRows are the rows of the test page: pods of three namespaces.
var accessRows = []struct{ ns, pod string }{
	{accessShop, "web-0"}, {accessShop, "web-1"},
	{accessOther, "api-0"}, {accessOther, "api-1"}, {accessOther, "api-2"},
	{"kube-system", "dns-0"},
}

// accessPage is what the test handler answers: the rows a page would show
// to the request's viewer, and what it says it hid.
type accessPage struct {
	Viewer string        `json:"viewer"`
	Shown  []string      `json:"shown"`
	Nodes  bool          `json:"nodes"`
	Hidden access.Hidden `json:"hidden"`
	Text   string        `json:"text"`
}

// accessHandler is a trivial page that uses the package as serve's pages
// will: a Filter per request, every row asked, one node event.
var accessHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, err := access.NewFilter(ctx, access.FromContext(ctx))
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	nss := make([]string, 0, len(accessRows))
	for _, row := range accessRows {
		nss = append(nss, row.ns)
	}
	if err := f.Prefetch(ctx, nss); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	p := accessPage{Viewer: f.Viewer().Name(), Shown: []string{}}
	for _, row := range accessRows {
		ok, err := f.Pod(ctx, row.ns, row.pod)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		if ok {
			p.Shown = append(p.Shown, row.ns+"/"+row.pod)
		}
	}
	if p.Nodes, err = f.NodeEvent(ctx); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	p.Hidden, p.Text = f.Hidden(), f.Hidden().String()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(p)
})

// accessSetup creates the namespaces, the identities and their RBAC, applies
// the serve component's RBAC as k8s/ ships it, and returns the serve
// ServiceAccount's client and a token per identity.
func accessSetup(t *testing.T) (serveClient kubernetes.Interface, tokens map[string]string) {
	t.Helper()
	ctx := t.Context()
	if err := fixture.CreateNamespaces(ctx, client, accessNS, accessShop, accessOther); err != nil {
		t.Fatal(err)
	}
	kubectl(t, render(t, "base"), "apply", "--server-side", "-f", "-")
	kubectl(t, serveRBAC(t), "apply", "--server-side", "-f", "-")

	rbac := []any{
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "access-e2e-reader"}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}},
			{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get"}},
		}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "access-e2e-reader"},
			RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "access-e2e-reader"},
			Subjects: []rbacv1.Subject{
				{Kind: "ServiceAccount", Name: "reader", Namespace: accessNS},
				{Kind: "Group", APIGroup: "rbac.authorization.k8s.io", Name: proxiedGroup},
			}},
	}
	for _, ns := range []string{accessShop, accessOther} {
		rbac = append(rbac, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "access-e2e-pods", Namespace: ns}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}},
		}})
	}
	rbac = append(rbac,
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "access-e2e-pods", Namespace: accessShop},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "access-e2e-pods"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "shop-viewer", Namespace: accessNS}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "access-e2e-pods", Namespace: accessOther},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "access-e2e-pods"},
			Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: proxiedUser}}},
	)
	var manifest []byte
	for _, o := range rbac {
		b, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		kind := fmt.Sprintf("%T", o)[len("*v1."):]
		manifest = append(manifest, []byte("apiVersion: rbac.authorization.k8s.io/v1\nkind: "+kind+"\n")...)
		manifest = append(append(manifest, b...), []byte("---\n")...)
	}
	kubectl(t, manifest, "apply", "--server-side", "-f", "-")

	tokens = map[string]string{}
	for _, sa := range []string{"reader", "shop-viewer", "nobody"} {
		_, err := client.CoreV1().ServiceAccounts(accessNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		expiry := int64(3600)
		tok, err := client.CoreV1().ServiceAccounts(accessNS).CreateToken(ctx, sa,
			&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("TokenRequest for %s: %v", sa, err)
		}
		tokens[sa] = tok.Status.Token
	}
	// RBAC reaches the authorizer through an informer: wait until the API
	// server says yes to the last grant, so the answers the test caches are
	// the final ones.
	for _, sar := range []authorizationv1.SubjectAccessReviewSpec{
		{User: "system:serviceaccount:" + accessNS + ":shop-viewer", ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: accessShop, Verb: "list", Resource: "pods"}},
		{User: proxiedUser, ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: accessOther, Verb: "list", Resource: "pods"}},
		{User: "x", Groups: []string{proxiedGroup}, ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Resource: "nodes"}},
		{User: "system:serviceaccount:" + deployNS + ":pod-ashiato-serve", ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "create", Group: "authorization.k8s.io", Resource: "subjectaccessreviews"}},
	} {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			r, err := client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: sar}, metav1.CreateOptions{})
			return err == nil && r.Status.Allowed, nil
		})
		if err != nil {
			t.Fatalf("RBAC for %s not in effect: %v", sar.User, err)
		}
	}
	path, _ := accountKubeconfig(t, "pod-ashiato-serve")
	return reviewsClient(t, path), tokens
}

// reviewsClient is a client of kubeconfig path that can send reviews and
// nothing else (access.ReviewsOnly), as serve's will be.
func reviewsClient(t *testing.T, path string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Wrap(access.ReviewsOnly)
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// serveRBAC is the RBAC of components/serve as an overlay renders it: the
// objects of overlays/kind named pod-ashiato-serve*.
func serveRBAC(t *testing.T) []byte {
	t.Helper()
	var out []byte
	for _, doc := range renderedObjects(t, render(t, "overlays/kind")) {
		if strings.HasPrefix(doc.name, "pod-ashiato-serve") && slices.Contains([]string{"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}, doc.kind) {
			out = append(append(out, doc.raw...), []byte("\n---\n")...)
		}
	}
	if !bytes.Contains(out, []byte("kind: ClusterRole\n")) {
		t.Fatalf("overlays/kind has no ClusterRole pod-ashiato-serve-*:\n%s", out)
	}
	return out
}

// accessPKI is the front proxy's CA, its client certificate and the web
// view's serving certificate (files, as serve would read them).
type accessPKI struct {
	caPEM                   []byte
	proxy, impostor         tls.Certificate
	roots                   *x509.CertPool
	servingCert, servingKey string
}

func newAccessPKI(t *testing.T) *accessPKI {
	t.Helper()
	caDER, caKey, err := testpki.NewCA("front-proxy-ca")
	if err != nil {
		t.Fatal(err)
	}
	otherDER, otherKey, err := testpki.NewCA("impostor-ca")
	if err != nil {
		t.Fatal(err)
	}
	p := &accessPKI{caPEM: testpki.CertPEM(caDER), roots: x509.NewCertPool()}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	p.roots.AddCert(ca)
	pair := func(der []byte, key []byte) tls.Certificate {
		c, err := tls.X509KeyPair(testpki.CertPEM(der), key)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	der, key, err := testpki.NewLeaf(caDER, caKey, pkix.Name{CommonName: "front-proxy"}, x509.ExtKeyUsageClientAuth, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.proxy = pair(der, key)
	der, key, err = testpki.NewLeaf(otherDER, otherKey, pkix.Name{CommonName: "front-proxy"}, x509.ExtKeyUsageClientAuth, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.impostor = pair(der, key)
	der, key, err = testpki.NewLeaf(caDER, caKey, pkix.Name{CommonName: "pod-ashiato-serve"}, x509.ExtKeyUsageServerAuth, []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p.servingCert, p.servingKey = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(p.servingCert, testpki.CertPEM(der), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.servingKey, key, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *accessPKI) client(cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: p.roots, MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
}

// accessGet asks the test page with header and returns the status and, on
// 200, the page.
func accessGet(t *testing.T, c *http.Client, url string, header http.Header) (int, accessPage) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p accessPage
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
			t.Fatalf("decoding the page: %v", err)
		}
	}
	return resp.StatusCode, p
}

func bearerHeader(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func identityHeaders(user string, groups ...string) http.Header {
	h := http.Header{"X-Remote-User": {user}}
	for _, g := range groups {
		h.Add("X-Remote-Group", g)
	}
	return h
}

// TestAccessDelegated: the middleware of src/access, on a TLS server as
// serve will run it, against the real API server: tokens are checked with
// TokenReview, rights with SubjectAccessReview, identity headers only with
// the front proxy's certificate.
func TestAccessDelegated(t *testing.T) {
	requireCluster(t)
	serveClient, tokens := accessSetup(t)
	p := newAccessPKI(t)
	a, err := access.Delegated(serveClient, access.Options{
		RequestHeader: &access.RequestHeader{ClientCA: p.caPEM, AllowedNames: []string{"front-proxy"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := access.ServerTLS(p.servingCert, p.servingKey)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", accessHandler)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	srv := httptest.NewUnstartedServer(a.Wrap(mux))
	srv.TLS = tlsCfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/node"
	plain := p.client(nil)

	allShown := []string{"shop/web-0", "shop/web-1", accessOther + "/api-0", accessOther + "/api-1", accessOther + "/api-2", "kube-system/dns-0"}
	cases := []struct {
		name   string
		client *http.Client
		header http.Header
		code   int
		want   accessPage // Viewer, Shown, Nodes, Text
	}{
		{"no token", plain, nil, http.StatusUnauthorized, accessPage{}},
		{"an invalid token", plain, bearerHeader("not-a-token"), http.StatusUnauthorized, accessPage{}},
		{"a cluster-wide reader sees every pod", plain, bearerHeader(tokens["reader"]), http.StatusOK, accessPage{
			Viewer: "system:serviceaccount:" + accessNS + ":reader", Shown: allShown, Nodes: true}},
		{"a reader of shop sees only shop's pods", plain, bearerHeader(tokens["shop-viewer"]), http.StatusOK, accessPage{
			Viewer: "system:serviceaccount:" + accessNS + ":shop-viewer", Shown: []string{"shop/web-0", "shop/web-1"},
			Text: "4 pods in 2 namespaces you may not list are not shown; 1 node lifecycle event is not shown: you may not get nodes"}},
		{"an identity with no rights sees nothing, and is told", plain, bearerHeader(tokens["nobody"]), http.StatusOK, accessPage{
			Viewer: "system:serviceaccount:" + accessNS + ":nobody", Shown: []string{},
			Text: "6 pods in 3 namespaces you may not list are not shown; 1 node lifecycle event is not shown: you may not get nodes"}},
		{"forged identity headers without the proxy's certificate are ignored", plain, identityHeaders("system:admin", "system:masters"), http.StatusUnauthorized, accessPage{}},
		{"forged identity headers with another CA's certificate are ignored", p.client(&p.impostor), identityHeaders("system:admin", "system:masters"), http.StatusUnauthorized, accessPage{}},
		{"the front proxy's headers are the identity", p.client(&p.proxy), identityHeaders(proxiedUser), http.StatusOK, accessPage{
			Viewer: proxiedUser, Shown: []string{accessOther + "/api-0", accessOther + "/api-1", accessOther + "/api-2"},
			Text: "3 pods in 2 namespaces you may not list are not shown; 1 node lifecycle event is not shown: you may not get nodes"}},
		{"the front proxy's groups count", p.client(&p.proxy), identityHeaders("oidc:joe@example.com", proxiedGroup), http.StatusOK, accessPage{
			Viewer: "oidc:joe@example.com", Shown: allShown, Nodes: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, page := accessGet(t, tc.client, url, tc.header)
			if code != tc.code {
				t.Fatalf("status %d, want %d", code, tc.code)
			}
			if code != http.StatusOK {
				return
			}
			if page.Viewer != tc.want.Viewer || strings.Join(page.Shown, " ") != strings.Join(tc.want.Shown, " ") || page.Nodes != tc.want.Nodes || page.Text != tc.want.Text {
				t.Errorf("page %+v\nwant viewer %q, shown %v, nodes %v, text %q", page, tc.want.Viewer, tc.want.Shown, tc.want.Nodes, tc.want.Text)
			}
		})
	}
	t.Run("healthz is open", func(t *testing.T) {
		resp, err := plain.Get(strings.TrimSuffix(url, "/node") + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("/healthz without identity: %d, want 200", resp.StatusCode)
		}
	})
}

// TestAccessSelf: the laptop mode, with a kubeconfig whose user may list
// pods in shop only: the page shows shop's pods and says what it hid,
// every question a SelfSubjectAccessReview with the user's own token.
func TestAccessSelf(t *testing.T) {
	requireCluster(t)
	accessSetup(t)
	path, _ := accountKubeconfigIn(t, accessNS, "shop-viewer")
	a, err := access.Self(t.Context(), reviewsClient(t, path), access.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Wrap(accessHandler))
	t.Cleanup(srv.Close)
	code, page := accessGet(t, srv.Client(), srv.URL, nil)
	if code != http.StatusOK {
		t.Fatalf("status %d, want 200", code)
	}
	want := accessPage{Viewer: "system:serviceaccount:" + accessNS + ":shop-viewer", Shown: []string{"shop/web-0", "shop/web-1"},
		Text: "4 pods in 2 namespaces you may not list are not shown; 1 node lifecycle event is not shown: you may not get nodes"}
	if page.Viewer != want.Viewer || strings.Join(page.Shown, " ") != strings.Join(want.Shown, " ") || page.Nodes || page.Text != want.Text {
		t.Errorf("page %+v\nwant %+v", page, want)
	}
}

// renderedObject is one document of kubectl kustomize's output.
type renderedObject struct {
	kind, name string
	raw        []byte
}

func renderedObjects(t *testing.T, rendered []byte) []renderedObject {
	t.Helper()
	var out []renderedObject
	for _, doc := range bytes.Split(rendered, []byte("\n---\n")) {
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, doc)
		}
		if meta.Kind != "" {
			out = append(out, renderedObject{kind: meta.Kind, name: meta.Metadata.Name, raw: doc})
		}
	}
	return out
}

// grant is one verb on one resource (and name) of one API group, as a row of
// docs/security.md's table or a rendered rule allows it. name "" is every
// name.
type grant struct{ role, kind, group, resource, name, verb string }

// docGrant is a row of the table, expanded.
type docGrant struct {
	grant
	store string // any, configmap, s3
}

// securityDocGrants parses the table between the grants markers of
// docs/security.md.
func securityDocGrants(t *testing.T) []docGrant {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(repoRoot(), "docs", "security.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := bytes.Cut(doc, []byte("<!-- grants:begin -->"))
	table, _, ok2 := bytes.Cut(rest, []byte("<!-- grants:end -->"))
	if !ok || !ok2 {
		t.Fatal("docs/security.md has no grants table between <!-- grants:begin --> and <!-- grants:end -->")
	}
	list := func(cell string) []string {
		var out []string
		for _, s := range strings.Split(cell, ",") {
			s = strings.TrimSpace(strings.Trim(strings.TrimSpace(s), "`"))
			if s == `""` {
				s = ""
			}
			out = append(out, s)
		}
		return out
	}
	var grants []docGrant
	for i, line := range strings.Split(strings.TrimSpace(string(table)), "\n") {
		if i < 2 { // header and separator
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if len(cells) != 8 {
			t.Fatalf("docs/security.md grants row %q: %d cells, want 8", line, len(cells))
		}
		role, kind, store := strings.TrimSpace(cells[0]), strings.TrimSpace(cells[1]), strings.TrimSpace(cells[2])
		names := []string{""}
		if strings.TrimSpace(cells[5]) != "" {
			names = list(cells[5])
		}
		for _, group := range list(cells[3]) {
			for _, res := range list(cells[4]) {
				for _, name := range names {
					for _, verb := range list(cells[6]) {
						grants = append(grants, docGrant{grant{role, kind, group, res, name, verb}, store})
					}
				}
			}
		}
	}
	if len(grants) == 0 {
		t.Fatal("docs/security.md's grants table is empty")
	}
	return grants
}

// renderedGrants expands every rule of every Role and ClusterRole.
func renderedGrants(t *testing.T, rendered []byte) []grant {
	t.Helper()
	var out []grant
	for _, o := range renderedObjects(t, rendered) {
		if o.kind != "Role" && o.kind != "ClusterRole" {
			continue
		}
		var r rbacv1.ClusterRole // a Role has the same fields
		if err := yaml.Unmarshal(o.raw, &r); err != nil {
			t.Fatal(err)
		}
		if r.AggregationRule != nil {
			t.Errorf("%s %s aggregates other roles: its grants cannot be checked", o.kind, o.name)
		}
		for _, rule := range r.Rules {
			if len(rule.NonResourceURLs) > 0 {
				out = append(out, grant{o.name, o.kind, "", "nonResourceURLs:" + strings.Join(rule.NonResourceURLs, ","), "", strings.Join(rule.Verbs, ",")})
			}
			names := rule.ResourceNames
			if len(names) == 0 {
				names = []string{""}
			}
			for _, g := range rule.APIGroups {
				for _, res := range rule.Resources {
					for _, n := range names {
						for _, v := range rule.Verbs {
							out = append(out, grant{o.name, o.kind, g, res, n, v})
						}
					}
				}
			}
		}
	}
	return out
}

// combination is a folder of k8s/ with components added.
type combination struct {
	root       string
	components []string
}

// accessCombinations are the base and both overlays, each with every
// combination of the components it does not have yet.
func accessCombinations() []combination {
	comps := []string{"serve", "s3", "s3-irsa", "monitoring"}
	var out []combination
	for _, root := range []string{"base", "overlays/kind", "overlays/production"} {
		for mask := 0; mask < 1<<len(comps); mask++ {
			var cs []string
			for i, c := range comps {
				if mask&(1<<i) != 0 {
					cs = append(cs, c)
				}
			}
			if root == "overlays/kind" && slices.Contains(cs, "serve") { // it has serve already
				continue
			}
			out = append(out, combination{root, cs})
		}
	}
	return out
}

// renderCombination renders root with components, through a kustomization
// of its own in a copy of k8s/.
func renderCombination(t *testing.T, k8s, root string, components []string) []byte {
	t.Helper()
	name := strings.NewReplacer("/", "-").Replace(root) + "+" + strings.Join(components, "+")
	dir := filepath.Join(k8s, "combinations", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	k := "resources:\n  - ../../" + root + "\n"
	if len(components) > 0 {
		k += "components:\n"
		for _, c := range components {
			k += "  - ../../components/" + c + "\n"
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	return kubectl(t, nil, "kustomize", dir)
}

// TestAccessManifestGrants: no Role or ClusterRole of any overlay or
// component combination grants more than docs/security.md lists, and every
// row of the list is granted by some combination. With components/s3 the
// recorder keeps no ConfigMap rule. Needs kubectl, not a cluster.
func TestAccessManifestGrants(t *testing.T) {
	documented := securityDocGrants(t)
	k8s := copyDir(t, filepath.Join(repoRoot(), "k8s"))
	used := map[docGrant]bool{}
	for _, combo := range accessCombinations() {
		store := "configmap"
		if slices.Contains(combo.components, "s3") {
			store = "s3"
		}
		label := combo.root + " + [" + strings.Join(combo.components, " ") + "]"
		rendered := renderCombination(t, k8s, combo.root, combo.components)
		for _, g := range renderedGrants(t, rendered) {
			allowed := false
			for _, d := range documented {
				if d.store != "any" && d.store != store {
					continue
				}
				if d.role == g.role && d.kind == g.kind && d.group == g.group && d.resource == g.resource && d.verb == g.verb &&
					(d.name == "" || d.name == g.name) {
					allowed = true
					if d.name == g.name {
						used[d] = true
					}
				}
			}
			if !allowed {
				what := g.resource
				if g.name != "" {
					what += "/" + g.name
				} else {
					what += " (any name)"
				}
				t.Errorf("%s: %s %s grants %s on %s of group %q, which docs/security.md does not list (store %s)",
					label, g.kind, g.role, g.verb, what, g.group, store)
			}
			if store == "s3" && g.role == "pod-ashiato" && g.resource == "configmaps" {
				t.Errorf("%s: with components/s3 the recorder's Role still grants %s on configmaps", label, g.verb)
			}
		}
	}
	var stale []string
	for _, d := range documented {
		if !used[d] {
			stale = append(stale, fmt.Sprintf("%s %s (%s): %s %s/%s of %q", d.kind, d.role, d.store, d.verb, d.resource, d.name, d.group))
		}
	}
	sort.Strings(stale)
	for _, s := range stale {
		t.Errorf("docs/security.md lists a grant no rendering has: %s", s)
	}
}

// TestAccessManifestsDryRun: the overlays with their NetworkPolicies (and
// the serve component's reviews ClusterRole, and the s3 component's Role
// patch) pass a server-side dry run on the real API server.
func TestAccessManifestsDryRun(t *testing.T) {
	requireCluster(t)
	k8s := copyDir(t, filepath.Join(repoRoot(), "k8s"))
	// A dry run cannot create objects inside a namespace it only pretends to
	// create, so the base goes in for real first (as TestManifests does).
	kubectl(t, render(t, "base"), "apply", "--server-side", "-f", "-")
	for _, combo := range []combination{
		{"overlays/kind", nil},
		{"overlays/production", nil},
		{"overlays/kind", []string{"s3"}},
		{"overlays/production", []string{"serve", "s3", "s3-irsa"}},
		{"base", []string{"serve"}},
	} {
		t.Run(combo.root+"+"+strings.Join(combo.components, "+"), func(t *testing.T) {
			out := kubectl(t, renderCombination(t, k8s, combo.root, combo.components), "apply", "--server-side", "--dry-run=server", "-f", "-")
			want := []string{"networkpolicy.networking.k8s.io/pod-ashiato-metrics", "role.rbac.authorization.k8s.io/pod-ashiato"}
			if combo.root == "overlays/kind" || slices.Contains(combo.components, "serve") {
				want = append(want, "networkpolicy.networking.k8s.io/pod-ashiato-serve", "clusterrole.rbac.authorization.k8s.io/pod-ashiato-serve-reviews",
					"clusterrolebinding.rbac.authorization.k8s.io/pod-ashiato-serve-reviews")
			}
			for _, w := range want {
				if !bytes.Contains(out, []byte(w)) {
					t.Errorf("dry run did not apply %s:\n%s", w, out)
				}
			}
		})
	}
}

// TestAccessLeaseGrants: with the Lease rules naming the Lease, leader
// election as the recorder runs it (src/leader, client-go's Lease lock)
// still creates, reads, renews and releases its Lease under the recorder's
// own ServiceAccount, and that ServiceAccount may update no other Lease.
func TestAccessLeaseGrants(t *testing.T) {
	requireCluster(t)
	ctx := t.Context()
	kubectl(t, render(t, "base"), "apply", "--server-side", "-f", "-")
	leases := client.CoordinationV1().Leases(deployNS)
	// Start without the Lease, so that its creation is exercised (no other
	// test holds it: the suite runs its tests one at a time).
	if err := leases.Delete(ctx, "pod-ashiato", metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	_, sa := serviceAccountKubeconfig(t)
	e := &leader.Elector{Client: sa, Namespace: deployNS, Name: "pod-ashiato", Identity: "access-e2e",
		LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: time.Second}
	runCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	led := false
	err := e.Run(runCtx, func(ctx context.Context) error {
		led = true
		l, err := leases.Get(ctx, "pod-ashiato", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != "access-e2e" {
			return fmt.Errorf("lease holder %v, want access-e2e", l.Spec.HolderIdentity)
		}
		cancel() // as a signal does: the elector releases the Lease
		return nil
	})
	if err != nil || !led {
		t.Fatalf("leader election under the recorder's ServiceAccount: led %v, %v", led, err)
	}
	l, err := leases.Get(ctx, "pod-ashiato", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" {
		t.Errorf("the Lease was not released (an update): holder %q", *l.Spec.HolderIdentity)
	}
	for _, c := range []struct {
		verb, name string
		want       bool
	}{
		{"get", "pod-ashiato", true}, {"update", "pod-ashiato", true}, {"create", "", true},
		{"get", "another-lease", false}, {"update", "another-lease", false}, {"delete", "pod-ashiato", false}, {"list", "", false},
	} {
		r, err := sa.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: deployNS, Verb: c.verb, Group: "coordination.k8s.io", Resource: "leases", Name: c.name}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status.Allowed != c.want {
			t.Errorf("may %s lease %q: %v, want %v", c.verb, c.name, r.Status.Allowed, c.want)
		}
	}
}
