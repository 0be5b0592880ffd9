// Package s3store is the S3 backend of the history store: the same hour
// shards as the ConfigMap store (package store encodes them), one object
// each, under <prefix>/<cluster>/YYYY/MM/DD/HH/<shard> in a bucket of any
// S3-compatible service. store/doc.go ("S3") is the format; this package
// implements storeio.Store on it, and storeio.Clusters (one bucket holds many
// clusters' hours).
//
// An object's ETag stands for a ConfigMap's resourceVersion: a create is a
// PUT with If-None-Match: *, an update a PUT with If-Match: <ETag>, so two
// writers of one hour race as they do on the API server and the loser reads,
// merges and writes again. S3's answers are turned into storeio's sentinel
// errors and retry's transient mark (errors.go), so the sink and package retry
// handle both stores alike.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// DefaultRegion is the region signed for when neither --s3-region nor the
// AWS chain (AWS_REGION, the shared config) names one: the one most
// S3-compatible servers accept.
const DefaultRegion = "us-east-1"

// Options say where the store is. Credentials are not among them: they come
// from the standard AWS chain only (environment, shared files, web identity).
type Options struct {
	// Endpoint is the service's URL; empty is AWS S3 itself. Without a
	// scheme it is https. A custom endpoint is addressed path-style
	// (https://host/bucket/key), which every S3-compatible server accepts.
	Endpoint string
	// Region signs the requests; empty takes the AWS chain's, else DefaultRegion.
	Region string
	Bucket string
	// Prefix is the key prefix of every cluster's hours; may be empty.
	Prefix string
	// Cluster names the cluster whose hours this store writes and reads.
	Cluster string
}

// Store is one cluster's hours in a bucket.
type Store struct {
	client  *s3.Client
	bucket  string
	prefix  string // without slashes at either end; may be empty
	cluster string
	// checkBackoff is Check's first wait after a 5xx; tests shorten it.
	checkBackoff time.Duration
}

// ParseEndpoint checks a --s3-endpoint and returns it as a URL: https when
// it has no scheme, http or https otherwise, a host, no query or fragment.
//
// User info (user:password@ or user@) is refused: the requests are signed
// with the AWS chain's credentials only, and a password in a URL would end up
// in messages and process listings. No error shows it: each shows the
// endpoint as RedactEndpoint does.
func ParseEndpoint(endpoint string) (string, error) {
	if endpoint == "" {
		return "", nil
	}
	shown := RedactEndpoint(endpoint)
	if shown != endpoint {
		return "", fmt.Errorf("invalid endpoint %q: user info is not used, credentials come from the AWS chain only (AWS_ACCESS_KEY_ID, AWS_PROFILE, web identity): remove it", shown)
	}
	raw := endpoint
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL again
		}
		return "", fmt.Errorf("invalid endpoint %q: %w", endpoint, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("invalid endpoint %q: scheme %q, want https (or http)", endpoint, u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("invalid endpoint %q: no host", endpoint)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "", fmt.Errorf("invalid endpoint %q: want scheme://host[:port][/path] only", endpoint)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("invalid endpoint %q: port %q", endpoint, p)
		}
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// RedactEndpoint is endpoint without its user info, for messages: everything
// between the scheme and the last '@' becomes "***". It works on the text,
// not on a parsed URL, so that a URL too malformed to parse (a '/' in the
// password makes the user part of the host) shows nothing of it either.
func RedactEndpoint(endpoint string) string {
	at := strings.LastIndex(endpoint, "@")
	if at < 0 {
		return endpoint
	}
	scheme := ""
	if i := strings.Index(endpoint, "://"); i >= 0 && i < at {
		scheme = endpoint[:i+3]
	}
	return scheme + "***@" + endpoint[at+1:]
}

// Plaintext reports whether the endpoint (as ParseEndpoint returns it) is
// http: the requests, signed but not encrypted, and the history they carry
// travel in clear text.
func Plaintext(endpoint string) bool { return strings.HasPrefix(endpoint, "http://") }

// ValidBucket checks a bucket name as S3 defines it (3 to 63 lowercase
// letters, digits, dots and hyphens, starting and ending with a letter or
// digit).
func ValidBucket(bucket string) error {
	if len(bucket) < 3 || len(bucket) > 63 {
		return fmt.Errorf("invalid bucket %q: want 3 to 63 characters", bucket)
	}
	for i, r := range bucket {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || (r == '.' || r == '-') && i > 0 && i < len(bucket)-1
		if !ok {
			return fmt.Errorf("invalid bucket %q: lowercase letters, digits, '.' and '-' only, starting and ending with a letter or digit", bucket)
		}
	}
	return nil
}

// ValidCluster checks a cluster name: it is one path segment of every key,
// so a DNS-1123 subdomain (lowercase letters, digits, '-' and '.'), and not
// storeio.FilesFolder, the folder of the tables beside the clusters.
func ValidCluster(name string) error {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("invalid cluster name %q: %s", name, errs[0])
	}
	if name == storeio.FilesFolder {
		return fmt.Errorf("invalid cluster name %q: the folder of the history's tables beside the clusters' hours", name)
	}
	return nil
}

// ValidPrefix checks a key prefix: no empty segment, no "." or "..".
func ValidPrefix(prefix string) error {
	p := strings.Trim(prefix, "/")
	if p == "" {
		return nil
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("invalid prefix %q: empty, '.' or '..' segment", prefix)
		}
	}
	if len(p) > 512 {
		return fmt.Errorf("invalid prefix %q: longer than 512 bytes", prefix)
	}
	return nil
}

// New builds the store's client from the AWS chain (credentials, region,
// AWS_CA_BUNDLE) and opts. It does not touch the network: Check does.
//
// The SDK's own retries are off: every call is one try, and package retry
// decides, as for the API server, what is worth another (an outage is met
// with backoff; a refusal or an untrusted certificate fails at once).
func New(ctx context.Context, opts Options) (*Store, error) {
	endpoint, err := ParseEndpoint(opts.Endpoint)
	if err != nil {
		return nil, err
	}
	if err := ValidBucket(opts.Bucket); err != nil {
		return nil, err
	}
	if err := ValidPrefix(opts.Prefix); err != nil {
		return nil, err
	}
	if err := ValidCluster(opts.Cluster); err != nil {
		return nil, err
	}
	loaders := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if opts.Region != "" {
		loaders = append(loaders, awsconfig.WithRegion(opts.Region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, loaders...)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
		// A checksum only when the operation needs one: many S3-compatible
		// servers do not take the SDK's streamed trailing checksums, and TLS
		// already guards the bytes on the wire.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &Store{client: client, bucket: opts.Bucket, prefix: strings.Trim(opts.Prefix, "/"), cluster: opts.Cluster}, nil
}

// Cluster is the cluster whose hours s reads and writes.
func (s *Store) Cluster() string { return s.cluster }

// ForCluster is the same bucket and prefix, another cluster's hours.
func (s *Store) ForCluster(name string) *Store {
	c := *s
	c.cluster = name
	return &c
}

// WithCluster is ForCluster as a storeio.Store (storeio.Clusters).
func (s *Store) WithCluster(name string) storeio.Store { return s.ForCluster(name) }

func (s *Store) String() string {
	return "s3://" + s.bucket + "/" + s.clusterPrefix()
}

// ErrNoBucket, ErrDenied and ErrUnreachable are what Check finds wrong.
var (
	ErrNoBucket    = errors.New("no such bucket")
	ErrDenied      = errors.New("access denied")
	ErrUnreachable = errors.New("unreachable")
)

// Check asks the service whether the bucket is there and may be used
// (HeadBucket), so a wrong endpoint, bucket, certificate or credential fails
// at start and not at the first flush. Those fail at once: at start a person
// or a restart policy is the better judge. An answer of 5xx or 429 is the
// service having a bad second, not a wrong setting: it is asked again, with
// backoff, until timeout.
func (s *Store) Check(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wait := s.checkBackoff
	if wait <= 0 {
		wait = 250 * time.Millisecond
	}
	for {
		_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)})
		if err == nil {
			return nil
		}
		status, _ := statusOf(err)
		if status < 500 && status != http.StatusTooManyRequests {
			return s.checkError(err, status)
		}
		select {
		case <-ctx.Done():
			return s.checkError(err, status)
		case <-time.After(wait):
			wait = min(2*wait, 2*time.Second)
		}
	}
}

func (s *Store) checkError(err error, status int) error {
	switch {
	case status == 404:
		return fmt.Errorf("bucket %q: %w", s.bucket, ErrNoBucket)
	case status == 403 || status == 401:
		return fmt.Errorf("bucket %q: %w (check the credentials of the AWS chain and the bucket's policy): %v", s.bucket, ErrDenied, short(err))
	case status != 0:
		return fmt.Errorf("bucket %q: HTTP %d: %v", s.bucket, status, short(err))
	default:
		return fmt.Errorf("bucket %q: %w: %w", s.bucket, ErrUnreachable, err)
	}
}

// basePrefix is "<prefix>/" (or "" without a prefix): where the clusters are.
func (s *Store) basePrefix() string {
	if s.prefix == "" {
		return ""
	}
	return s.prefix + "/"
}

// clusterPrefix is "<prefix>/<cluster>/".
func (s *Store) clusterPrefix() string { return s.basePrefix() + s.cluster + "/" }

// hourPrefix is "<prefix>/<cluster>/YYYY/MM/DD/HH/".
func (s *Store) hourPrefix(hour time.Time) string {
	return s.clusterPrefix() + store.HourOf(hour).Format("2006/01/02/15") + "/"
}

// key is the object key of a store name (store.ShardName).
func (s *Store) key(name string) (string, error) {
	hour, shard, ok := store.ParseName(name)
	if !ok {
		return "", fmt.Errorf("%q is not a store object's name", name)
	}
	return s.hourPrefix(hour) + strconv.Itoa(shard), nil
}

// nameOf is the store name of a key under the cluster prefix, and its hour.
func (s *Store) nameOf(key string) (string, time.Time, bool) {
	rest, ok := strings.CutPrefix(key, s.clusterPrefix())
	if !ok {
		return "", time.Time{}, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 5 {
		return "", time.Time{}, false
	}
	hour, err := time.Parse("2006/01/02/15", strings.Join(parts[:4], "/"))
	if err != nil {
		return "", time.Time{}, false
	}
	shard, err := strconv.Atoi(parts[4])
	if err != nil || shard < 0 || shard >= store.MaxShards || strconv.Itoa(shard) != parts[4] {
		return "", time.Time{}, false
	}
	return store.ShardName(hour, shard), hour, true
}

// Location is where the object of name is: "S3 object s3://bucket/key".
func (s *Store) Location(name string) string {
	key, err := s.key(name)
	if err != nil {
		return "S3 object " + s.String() + name
	}
	return "S3 object s3://" + s.bucket + "/" + key
}
