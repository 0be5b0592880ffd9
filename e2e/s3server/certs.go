package s3server

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/pod-ashiato/ashiato/e2e/testpki"
)

// The TLS files under <dir>/tls. The CA is the private CA a client must be
// told about (AWS_CA_BUNDLE); the server certificate is valid for 127.0.0.1
// and localhost only.
const (
	caFile         = "ca.crt"
	serverCertFile = "server.crt"
	serverKeyFile  = "server.key"
)

// writeTLS makes a CA and a serving certificate signed by it in dir, unless
// all three files are there already: a restarted server keeps its
// certificate, so clients that trusted it before still do.
func writeTLS(dir string) error {
	complete := true
	for _, name := range []string{caFile, serverCertFile, serverKeyFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			complete = false
		}
	}
	if complete {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("tls dir: %w", err)
	}
	caDER, caKey, err := testpki.NewCA("ashiato-s3-test-ca")
	if err != nil {
		return err
	}
	der, keyPEM, err := testpki.NewLeaf(caDER, caKey, pkix.Name{CommonName: "seaweedfs-s3"}, x509.ExtKeyUsageServerAuth,
		[]string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	files := map[string][]byte{
		caFile:         testpki.CertPEM(caDER),
		serverCertFile: testpki.CertPEM(der),
		serverKeyFile:  keyPEM,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}
