package main

import (
	"flag"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pod-ashiato/ashiato/src/source"
)

// nodeLabelsFlag is --node-labels: the allow-list of node labels the node
// records carry and the store keeps per hour.
type nodeLabelsFlag struct {
	raw  string
	keys []string
}

func (n *nodeLabelsFlag) register(fs *flag.FlagSet) {
	fs.StringVar(&n.raw, "node-labels", strings.Join(source.DefaultNodeLabels, ","),
		"comma-separated node labels that node records carry and the history keeps (for history incident --node-selector); at most 16, \"\" for none")
}

// validate parses the list: label keys, at most source.MaxNodeLabels.
func (n *nodeLabelsFlag) validate() error {
	n.keys = nil
	for k := range strings.SplitSeq(n.raw, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return usagef("invalid --node-labels key %q: %s", k, errs[0])
		}
		n.keys = append(n.keys, k)
	}
	if len(n.keys) > source.MaxNodeLabels {
		return usagef("invalid --node-labels: %d keys, at most %d", len(n.keys), source.MaxNodeLabels)
	}
	return nil
}
