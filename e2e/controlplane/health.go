package controlplane

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"k8s.io/client-go/rest"
)

// insecureClient reads the /healthz of kube-scheduler and kube-controller-manager. They
// serve it on loopback with a certificate they sign themselves at start, so there is
// nothing to verify it against; the answer only tells us the process is up.
var insecureClient = &http.Client{Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback health probe, see above
}}

func (cp *ControlPlane) checkEtcd(ctx context.Context) error {
	url := "http://127.0.0.1:" + strconv.Itoa(cp.st.Ports.EtcdClient) + "/health"
	body, err := get(ctx, http.DefaultClient, url)
	if err != nil {
		return err
	}
	if !strings.Contains(body, `"health":"true"`) {
		return fmt.Errorf("GET %s: %s", url, body)
	}
	return nil
}

// checkAPIServer asks /readyz as the admin: ready means etcd is reachable and the
// post-start hooks (RBAC bootstrap roles, system namespaces) are done.
func (cp *ControlPlane) checkAPIServer(ctx context.Context) error {
	client, err := rest.HTTPClientFor(cp.RESTConfig())
	if err != nil {
		return fmt.Errorf("readyz client: %w", err)
	}
	defer client.CloseIdleConnections()
	return checkHTTP(ctx, client, cp.APIServerURL()+"/readyz")
}

func checkLocalHealthz(ctx context.Context, port int) error {
	return checkHTTP(ctx, insecureClient, "https://127.0.0.1:"+strconv.Itoa(port)+"/healthz")
}

func checkHTTP(ctx context.Context, client *http.Client, url string) error {
	_, err := get(ctx, client, url)
	return err
}

// get returns the body of a 200 answer and an error for anything else.
func get(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}
