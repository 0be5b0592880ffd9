package access

import (
	"crypto/tls"
	"fmt"
)

// ServerTLS is the TLS configuration of a server behind which a front proxy
// authenticates: it serves certFile/keyFile and asks every client for a
// certificate without requiring or verifying one. The TLS layer cannot
// verify it: a browser or a client with a token has none, and the
// request-header authenticator checks it against its own CA (RequestHeader),
// which is not the serving certificate's.
func ServerTLS(certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("access: serving certificate: %w", err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequestClientCert,
		MinVersion:   tls.VersionTLS12,
	}, nil
}
