package controlplane

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/pod-ashiato/ashiato/e2e/testpki"
)

// The file names of the PKI under <Dir>/pki. They are part of the on-disk layout that
// Load relies on, so they are constants rather than fields of the state file.
const (
	servingCAFile   = "serving-ca.crt"
	servingCertFile = "apiserver.crt"
	servingKeyFile  = "apiserver.key"
	clientCAFile    = "client-ca.crt"
	adminCertFile   = "admin.crt"
	adminKeyFile    = "admin.key"
	saKeyFile       = "sa.key"
	saPubFile       = "sa.pub"
)

// pki is everything the control plane needs to trust and be trusted. It is made in Go
// (no openssl on the path) once per Dir; a restarted API server reuses it, so clients
// built before a restart keep working after it.
type pki struct {
	dir string
	// servingCA is the PEM of the CA that signed the API server's serving cert; it goes
	// into every kubeconfig as certificate-authority-data.
	servingCA []byte
	// adminCert and adminKey are the PEM of the admin client identity (O=system:masters).
	adminCert, adminKey []byte
}

func (p *pki) path(name string) string { return filepath.Join(p.dir, name) }

// loadOrCreatePKI reuses the PKI in dir when it is complete and makes a fresh one
// otherwise. Reuse matters for a restarted detached cluster: the kubeconfig users
// already hold stays valid.
func loadOrCreatePKI(dir string) (*pki, error) {
	p := &pki{dir: dir}
	if err := p.load(); err == nil {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create pki dir: %w", err)
	}
	if err := p.create(); err != nil {
		return nil, fmt.Errorf("create pki in %s: %w", dir, err)
	}
	if err := p.load(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *pki) load() error {
	for _, name := range []string{servingCAFile, servingCertFile, servingKeyFile, clientCAFile, adminCertFile, adminKeyFile, saKeyFile, saPubFile} {
		if _, err := os.Stat(p.path(name)); err != nil {
			return fmt.Errorf("pki: %w", err)
		}
	}
	var err error
	if p.servingCA, err = os.ReadFile(p.path(servingCAFile)); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if p.adminCert, err = os.ReadFile(p.path(adminCertFile)); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if p.adminKey, err = os.ReadFile(p.path(adminKeyFile)); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	return nil
}

func (p *pki) create() error {
	servingCA, servingCAKey, err := testpki.NewCA("ashiato-serving-ca")
	if err != nil {
		return err
	}
	clientCA, clientCAKey, err := testpki.NewCA("ashiato-client-ca")
	if err != nil {
		return err
	}
	// The serving cert is ours rather than the one kube-apiserver would self-sign in
	// --cert-dir: its CA is known before the server starts, so the kubeconfig can be
	// written up front and stays valid across restarts.
	servingCert, servingKey, err := testpki.NewLeaf(servingCA, servingCAKey, pkix.Name{CommonName: "kube-apiserver"},
		x509.ExtKeyUsageServerAuth,
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		[]net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback})
	if err != nil {
		return err
	}
	adminCert, adminKey, err := testpki.NewLeaf(clientCA, clientCAKey,
		pkix.Name{CommonName: "ashiato-admin", Organization: []string{"system:masters"}},
		x509.ExtKeyUsageClientAuth, nil, nil)
	if err != nil {
		return err
	}
	// Service-account tokens are signed with RSA: it is what every Kubernetes version and
	// every token consumer accepts.
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate service-account key: %w", err)
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return fmt.Errorf("marshal service-account public key: %w", err)
	}

	files := []struct {
		name string
		data []byte
	}{
		{servingCAFile, testpki.CertPEM(servingCA)},
		{servingCertFile, testpki.CertPEM(servingCert)},
		{servingKeyFile, servingKey},
		{clientCAFile, testpki.CertPEM(clientCA)},
		{adminCertFile, testpki.CertPEM(adminCert)},
		{adminKeyFile, adminKey},
		{saKeyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)})},
		{saPubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub})},
	}
	for _, f := range files {
		if err := os.WriteFile(p.path(f.name), f.data, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", f.name, err)
		}
	}
	return nil
}
