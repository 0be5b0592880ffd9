package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"regexp"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/pod-ashiato/ashiato/src/s3store"
)

// Store kinds (--store).
const (
	storeConfigMap = "configmap"
	storeS3        = "s3"
)

// defaultCluster is --cluster-name when the kubeconfig names no context (in
// a pod, say).
const defaultCluster = "default"

// s3CheckTimeout bounds the HeadBucket at start.
const s3CheckTimeout = 10 * time.Second

// storeFlags say which store holds the history and, for S3, where.
type storeFlags struct {
	kind     string
	explicit bool // --store was given
	endpoint string
	bucket   string
	prefix   string
	region   string
	cluster  string // --cluster-name (recorder) or --cluster (history)
}

// register adds --store and the --s3-* flags to fs; clusterFlag is the name
// of the cluster flag (cluster-name for the recorder, cluster for history).
func (f *storeFlags) register(fs *flag.FlagSet, clusterFlag, clusterHelp string) {
	fs.StringVar(&f.kind, "store", storeConfigMap, "where the history is kept: configmap (hourly ConfigMaps in --cm-namespace) or s3 (objects in --s3-bucket); the recorder stores only when --store or --store-in-cm is given")
	fs.StringVar(&f.endpoint, "s3-endpoint", "", "with --store s3: the S3-compatible service's URL (default: AWS S3; without a scheme, https)")
	fs.StringVar(&f.bucket, "s3-bucket", "", "with --store s3: the bucket (required)")
	fs.StringVar(&f.prefix, "s3-prefix", "pod-ashiato", "with --store s3: key prefix; objects are <prefix>/<cluster>/YYYY/MM/DD/HH/<shard>")
	fs.StringVar(&f.region, "s3-region", "", "with --store s3: region to sign for (default: the AWS chain's, e.g. AWS_REGION, else "+s3store.DefaultRegion+")")
	fs.StringVar(&f.cluster, clusterFlag, "", clusterHelp)
}

// seen notes whether --store was given (after fs.Parse).
func (f *storeFlags) seen(fs *flag.FlagSet) {
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "store" {
			f.explicit = true
		}
	})
}

func (f *storeFlags) s3() bool { return f.kind == storeS3 }

// validate checks the flags without touching the network; clusterFlag names
// the cluster flag in messages.
func (f *storeFlags) validate(clusterFlag string) error {
	switch f.kind {
	case storeConfigMap:
		for name, v := range map[string]string{"s3-endpoint": f.endpoint, "s3-bucket": f.bucket, "s3-region": f.region} {
			if v != "" {
				return usagef("--%s needs --store s3", name)
			}
		}
		if f.cluster != "" {
			return usagef("--%s needs --store s3 (the ConfigMap store holds one cluster's history)", clusterFlag)
		}
		return nil
	case storeS3:
	default:
		return usagef("invalid --store %q: want configmap or s3", f.kind)
	}
	if f.bucket == "" {
		return usagef("--store s3 needs --s3-bucket")
	}
	if err := s3store.ValidBucket(f.bucket); err != nil {
		return usagef("invalid --s3-bucket: %w", err)
	}
	if _, err := s3store.ParseEndpoint(f.endpoint); err != nil {
		return usagef("invalid --s3-endpoint: %w", err)
	}
	if err := s3store.ValidPrefix(f.prefix); err != nil {
		return usagef("invalid --s3-prefix: %w", err)
	}
	if f.cluster != "" {
		if err := s3store.ValidCluster(f.cluster); err != nil {
			return usagef("invalid --%s: %w", clusterFlag, err)
		}
	}
	return nil
}

// openS3 builds the S3 store of cluster and checks at once that the bucket
// can be reached and used: every failure is a usage error (exit 2), before
// any work.
func (f *storeFlags) openS3(ctx context.Context, cluster string) (*s3store.Store, error) {
	st, err := s3store.New(ctx, s3store.Options{Endpoint: f.endpoint, Region: f.region, Bucket: f.bucket, Prefix: f.prefix, Cluster: cluster})
	if err != nil {
		return nil, usagef("--store s3: %w", err)
	}
	if err := st.Check(ctx, s3CheckTimeout); err != nil {
		where := f.endpoint
		if where == "" {
			where = "AWS S3"
		}
		switch {
		case errors.Is(err, s3store.ErrNoBucket):
			return nil, usagef("invalid --s3-bucket %q: no such bucket at %s", f.bucket, where)
		case errors.Is(err, s3store.ErrDenied):
			return nil, usagef("--store s3: %s refused access: %w", where, err)
		default:
			return nil, usagef("--store s3: cannot use %s: %w", where, firstLine(err))
		}
	}
	return st, nil
}

// clusterName is --cluster-name, or the kubeconfig's context made a valid
// name (lowercase; other characters than letters, digits, '-' and '.' become
// '-'), or "default" when there is no context (in a pod).
func clusterName(c *config) string {
	if c.store.cluster != "" {
		return c.store.cluster
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = c.kubeconfig
	raw, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: c.context}).RawConfig()
	name := c.context
	if err == nil && name == "" {
		name = raw.CurrentContext
	}
	return sanitizeCluster(name)
}

var notNameChars = regexp.MustCompile(`[^a-z0-9.-]+`)

func sanitizeCluster(context string) string {
	name := notNameChars.ReplaceAllString(strings.ToLower(context), "-")
	if len(name) > 63 {
		name = name[len(name)-63:] // the end of an ARN or a long name tells clusters apart
	}
	name = strings.Trim(name, "-.")
	if s3store.ValidCluster(name) != nil {
		return defaultCluster
	}
	return name
}

// describe is the store for log lines.
func (f *storeFlags) describe(namespace string) string {
	if f.s3() {
		return fmt.Sprintf("s3 bucket %s prefix %s", f.bucket, f.prefix)
	}
	return "configmaps in " + namespace
}
