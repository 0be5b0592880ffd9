// Package storeopen picks the history store from the flags: it defines the
// store flags every command shares (--store, --cm-namespace, the --s3-*
// flags and the cluster flag), validates them once, and Open returns the
// storeio.Store they name. Nothing else knows which backends there are: the
// commands take the Store it returns (external-dns' provider factory is the
// model).
package storeopen

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"

	"github.com/pod-ashiato/ashiato/src/configmapstore"
	"github.com/pod-ashiato/ashiato/src/s3store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// Store kinds (--store).
const (
	ConfigMap = "configmap"
	S3        = "s3"
)

// DefaultCluster is the cluster a store is opened for when nothing names
// one (a recorder in a pod without a kubeconfig context; a reader that lists
// the clusters).
const DefaultCluster = "default"

// checkTimeout bounds the S3 HeadBucket at start.
const checkTimeout = 10 * time.Second

// Flags say which store holds the history and where.
type Flags struct {
	Kind     string // --store
	Explicit bool   // --store was given (Parsed)
	// Namespace is --cm-namespace: the ConfigMap store's namespace.
	Namespace string
	Endpoint  string // --s3-endpoint
	Bucket    string // --s3-bucket
	Prefix    string // --s3-prefix
	Region    string // --s3-region
	// Cluster is --cluster-name (the recorder, store copy) or --cluster (the
	// readers): the cluster whose hours an S3 store holds.
	Cluster string
	// Warn, when set, is told once by Open what is allowed but unwise (an
	// http endpoint).
	Warn func(msg string)
}

// Register adds --store, --cm-namespace, the --s3-* flags and the cluster
// flag to fs: clusterFlag is its name (cluster-name for writers, cluster for
// readers), clusterHelp its help, namespaceHelp --cm-namespace's.
func (f *Flags) Register(fs *flag.FlagSet, namespaceHelp, clusterFlag, clusterHelp string) {
	fs.StringVar(&f.Kind, "store", ConfigMap, "where the history is kept: configmap (hourly ConfigMaps in --cm-namespace) or s3 (objects in --s3-bucket); the recorder stores only when --store or --store-in-cm is given")
	fs.StringVar(&f.Namespace, "cm-namespace", "default", namespaceHelp)
	fs.StringVar(&f.Endpoint, "s3-endpoint", "", "with --store s3: the S3-compatible service's URL (default: AWS S3; without a scheme, https)")
	fs.StringVar(&f.Bucket, "s3-bucket", "", "with --store s3: the bucket (required)")
	fs.StringVar(&f.Prefix, "s3-prefix", "pod-ashiato", "with --store s3: key prefix; objects are <prefix>/<cluster>/YYYY/MM/DD/HH/<shard>")
	fs.StringVar(&f.Region, "s3-region", "", "with --store s3: region to sign for (default: the AWS chain's, e.g. AWS_REGION, else "+s3store.DefaultRegion+")")
	fs.StringVar(&f.Cluster, clusterFlag, "", clusterHelp)
}

// Parsed notes, after fs.Parse, whether --store was given.
func (f *Flags) Parsed(fs *flag.FlagSet) {
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "store" {
			f.Explicit = true
		}
	})
}

// S3 reports whether the flags name the S3 store.
func (f *Flags) S3() bool { return f.Kind == S3 }

// Validate checks the flags without touching the network; clusterFlag names
// the cluster flag in messages. Every error is the user's to fix.
func (f *Flags) Validate(clusterFlag string) error {
	if errs := validation.IsDNS1123Label(f.Namespace); len(errs) > 0 {
		return fmt.Errorf("invalid --cm-namespace %q: %s", f.Namespace, errs[0])
	}
	switch f.Kind {
	case ConfigMap:
		for _, fl := range []struct{ name, v string }{{"s3-endpoint", f.Endpoint}, {"s3-bucket", f.Bucket}, {"s3-region", f.Region}} {
			if fl.v != "" {
				return fmt.Errorf("--%s needs --store s3", fl.name)
			}
		}
		if f.Cluster != "" {
			return fmt.Errorf("--%s needs --store s3 (the ConfigMap store holds one cluster's history)", clusterFlag)
		}
		return nil
	case S3:
	default:
		return fmt.Errorf("invalid --store %q: want configmap or s3", f.Kind)
	}
	if f.Bucket == "" {
		return errors.New("--store s3 needs --s3-bucket")
	}
	if err := s3store.ValidBucket(f.Bucket); err != nil {
		return fmt.Errorf("invalid --s3-bucket: %w", err)
	}
	if _, err := s3store.ParseEndpoint(f.Endpoint); err != nil {
		return fmt.Errorf("invalid --s3-endpoint: %w", err)
	}
	if err := s3store.ValidPrefix(f.Prefix); err != nil {
		return fmt.Errorf("invalid --s3-prefix: %w", err)
	}
	if f.Cluster != "" {
		if err := s3store.ValidCluster(f.Cluster); err != nil {
			return fmt.Errorf("invalid --%s: %w", clusterFlag, err)
		}
	}
	return nil
}

// Kube is what the ConfigMap store needs of the API server.
type Kube struct {
	ConfigMaps corev1client.ConfigMapsGetter
	// Metadata, when set, lets the store watch for objects deleted by
	// others (storeio.DeletionWatcher).
	Metadata metadata.Interface
}

// Open returns the store the flags name: the ConfigMaps of --cm-namespace,
// through the clients kube builds (called for the ConfigMap store only, so
// reading S3 needs no kubeconfig), or cluster's hours in the bucket, which
// it checks at once (HeadBucket), so a wrong endpoint, bucket, certificate
// or credential fails before any work. An S3 store is a storeio.Clusters:
// WithCluster gives another cluster's hours. Every error is the user's to
// fix (or the kubeconfig's, from kube).
func (f *Flags) Open(ctx context.Context, cluster string, kube func() (Kube, error)) (storeio.Store, error) {
	if !f.S3() {
		k, err := kube()
		if err != nil {
			return nil, err
		}
		return &configmapstore.Store{Client: k.ConfigMaps, Namespace: f.Namespace, Metadata: k.Metadata}, nil
	}
	endpoint, err := s3store.ParseEndpoint(f.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("invalid --s3-endpoint: %w", err)
	}
	st, err := s3store.New(ctx, s3store.Options{Endpoint: endpoint, Region: f.Region, Bucket: f.Bucket, Prefix: f.Prefix, Cluster: cluster})
	if err != nil {
		return nil, fmt.Errorf("--store s3: %w", err)
	}
	if s3store.Plaintext(endpoint) && f.Warn != nil {
		f.Warn(fmt.Sprintf("--s3-endpoint %s is plain http: the signed requests and the history travel in clear text; use https", endpoint))
	}
	if err := st.Check(ctx, checkTimeout); err != nil {
		where := endpoint
		if where == "" {
			where = "AWS S3"
		}
		switch {
		case errors.Is(err, s3store.ErrNoBucket):
			return nil, fmt.Errorf("invalid --s3-bucket %q: no such bucket at %s", f.Bucket, where)
		case errors.Is(err, s3store.ErrDenied):
			return nil, fmt.Errorf("--store s3: %s refused access: %w", where, err)
		default:
			return nil, fmt.Errorf("--store s3: cannot use %s: %w", where, firstLine(err))
		}
	}
	return st, nil
}

// Where names the store the flags name, for messages: "namespace NS", or
// "s3://bucket/prefix".
func (f *Flags) Where() string {
	if f.S3() {
		return "s3://" + f.Bucket + "/" + strings.Trim(f.Prefix, "/")
	}
	return "namespace " + f.Namespace
}

// Describe is the store for log lines.
func (f *Flags) Describe() string {
	if f.S3() {
		return fmt.Sprintf("s3 bucket %s prefix %s", f.Bucket, f.Prefix)
	}
	return "configmaps in " + f.Namespace
}

// firstLine keeps an error to one line.
func firstLine(err error) error {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return errors.New(msg)
}
