// Package kubeconn is how every command reaches the cluster: the
// --kubeconfig and --context flags (defined here once), the REST config
// resolved as kubectl does, the namespace checks made at start, and where
// the readers find the history when no --cm-namespace is given
// (HistoryNamespace).
package kubeconn

import (
	"flag"
	"os"
	"regexp"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/transport"

	"github.com/pod-ashiato/ashiato/src/s3store"
	"github.com/pod-ashiato/ashiato/src/storeopen"
	"github.com/pod-ashiato/ashiato/src/usage"
)

// Flags say which cluster to talk to and how hard.
type Flags struct {
	Kubeconfig string  // --kubeconfig
	Context    string  // --context
	QPS        float64 // client-side limit of requests per second
	Burst      int
	UserAgent  string
}

// Register adds --kubeconfig and --context to fs; every command shares them.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Kubeconfig, "kubeconfig", "", "path to a kubeconfig file (default: $KUBECONFIG, else the in-cluster config when running in a pod, else ~/.kube/config)")
	fs.StringVar(&f.Context, "context", "", "kubeconfig context to use (default: the current context)")
}

// RestConfig resolves the cluster to talk to the way kubectl does:
// --kubeconfig, else $KUBECONFIG, else ~/.kube/config; when none of those
// exists and the process runs in a pod, the in-cluster config. It reads
// files only: a wrong path, an unreadable file or an unknown context is a
// usage error.
func (f *Flags) RestConfig() (*rest.Config, error) {
	if f.Kubeconfig != "" {
		if _, err := os.Stat(f.Kubeconfig); err != nil {
			return nil, usage.Errorf("invalid --kubeconfig: %w", err)
		}
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(f.rules(), &clientcmd.ConfigOverrides{CurrentContext: f.Context}).ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, usage.Errorf("no cluster to talk to: give --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a pod")
		}
		return nil, usage.Errorf("invalid kubeconfig: %w", usage.FirstLine(err))
	}
	// Protobuf is several times cheaper than JSON for the API server to encode
	// and for us to decode, which matters when a LIST returns 150,000 pods.
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.QPS = float32(f.QPS)
	cfg.Burst = f.Burst
	cfg.UserAgent = f.UserAgent
	return cfg, nil
}

func (f *Flags) rules() *clientcmd.ClientConfigLoadingRules {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.Kubeconfig
	return rules
}

// Clients are the typed and the metadata client of the cluster; wrap, when
// set, wraps their transport (serve.ReadOnly, access.ReviewsOnly).
func (f *Flags) Clients(wrap transport.WrapperFunc) (kubernetes.Interface, metadata.Interface, error) {
	cfg, err := f.RestConfig()
	if err != nil {
		return nil, nil, err
	}
	if wrap != nil {
		cfg.Wrap(wrap)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, usage.Errorf("invalid kubeconfig: %w", err)
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, nil, usage.Errorf("invalid kubeconfig: %w", err)
	}
	return client, meta, nil
}

// InCluster reports whether RestConfig is the in-cluster config: no
// --kubeconfig, no $KUBECONFIG, in a pod.
func (f *Flags) InCluster() bool {
	return f.Kubeconfig == "" && os.Getenv("KUBECONFIG") == "" && os.Getenv("KUBERNETES_SERVICE_HOST") != ""
}

// ClusterName is the cluster's name: given (--cluster-name) when set, else
// the kubeconfig's context made a valid cluster name (lowercase; other
// characters than letters, digits, '-' and '.' become '-'), or
// storeopen.DefaultCluster when there is no context (in a pod).
func (f *Flags) ClusterName(given string) string {
	if given != "" {
		return given
	}
	raw, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(f.rules(), &clientcmd.ConfigOverrides{CurrentContext: f.Context}).RawConfig()
	name := f.Context
	if err == nil && name == "" {
		name = raw.CurrentContext
	}
	return SanitizeCluster(name)
}

var notNameChars = regexp.MustCompile(`[^a-z0-9.-]+`)

// SanitizeCluster makes a kubeconfig context a cluster name.
func SanitizeCluster(context string) string {
	name := notNameChars.ReplaceAllString(strings.ToLower(context), "-")
	if len(name) > 63 {
		name = name[len(name)-63:] // the end of an ARN or a long name tells clusters apart
	}
	name = strings.Trim(name, "-.")
	if s3store.ValidCluster(name) != nil {
		return storeopen.DefaultCluster
	}
	return name
}
