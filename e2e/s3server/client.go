package s3server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/pod-ashiato/ashiato/e2e/proclog"
)

// Client is an S3 client of the server's identity, trusting its CA, with
// path-style addressing (the bucket in the path: 127.0.0.1 has no bucket
// subdomains). It takes nothing from the environment or ~/.aws.
func (s *Server) Client() (*s3.Client, error) {
	pool, err := s.CertPool()
	if err != nil {
		return nil, err
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	})
	cfg := aws.Config{
		Region:      s.Region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, "")),
		HTTPClient:  httpClient,
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint)
		o.UsePathStyle = true
	}), nil
}

// CertPool holds the server's CA.
func (s *Server) CertPool() (*x509.CertPool, error) {
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		return nil, fmt.Errorf("s3server CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("s3server CA %s: no certificate", s.CAFile)
	}
	return pool, nil
}

// probeKey is the object the readiness check writes and deletes; it is
// outside any prefix the store uses.
const probeKey = ".s3server-ready"

// waitReady polls until the bucket exists and an object can be written, read
// and deleted, or the process dies, or ctx ends. A healthy /healthz alone is
// not enough: the gateway answers before the filer has a volume to write to.
func (s *Server) waitReady(ctx context.Context, logOffset int64) error {
	client, err := s.Client()
	if err != nil {
		return err
	}
	// One attempt per request: the loop is the retry.
	noRetry := func(o *s3.Options) { o.RetryMaxAttempts = 1 }
	check := func(ctx context.Context) error {
		_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s.Bucket}, noRetry)
		var owned *types.BucketAlreadyOwnedByYou
		var exists *types.BucketAlreadyExists
		if err != nil && !errors.As(err, &owned) && !errors.As(err, &exists) {
			return fmt.Errorf("create bucket %s: %w", s.Bucket, err)
		}
		body := "ready " + time.Now().String()
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.Bucket, Key: aws.String(probeKey), Body: strings.NewReader(body)}, noRetry); err != nil {
			return fmt.Errorf("put probe object: %w", err)
		}
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.Bucket, Key: aws.String(probeKey)}, noRetry)
		if err != nil {
			return fmt.Errorf("get probe object: %w", err)
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			return fmt.Errorf("read probe object: %w", err)
		}
		if string(got) != body {
			return fmt.Errorf("probe object reads %q, want %q", got, body)
		}
		if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.Bucket, Key: aws.String(probeKey)}, noRetry); err != nil {
			return fmt.Errorf("delete probe object: %w", err)
		}
		return nil
	}
	start := proclog.Start{
		Name: "seaweedfs", Log: s.proc.log, Offset: logOffset,
		Alive: s.proc.alive, ExitErr: s.proc.exitErr,
		CheckTimeout: 5 * time.Second, Every: 200 * time.Millisecond,
	}
	return start.WaitReady(ctx, check)
}
