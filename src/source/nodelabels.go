package source

// DefaultNodeLabels is the allow-list of node labels a node record carries
// unless --node-labels says otherwise: where the node is (zone, region),
// what it is (instance type), and its node pool on EKS, GKE and AKS. They
// let `history incident --node-selector` find a zone's or a pool's nodes.
var DefaultNodeLabels = []string{
	"topology.kubernetes.io/zone",
	"topology.kubernetes.io/region",
	"node.kubernetes.io/instance-type",
	"eks.amazonaws.com/nodegroup",
	"cloud.google.com/gke-nodepool",
	"kubernetes.azure.com/agentpool",
}

// MaxNodeLabels bounds the allow-list, as the store bounds the labels it
// keeps of a node (store.MaxNodeLabels).
const MaxNodeLabels = 16

// keepLabels is the allow-listed labels of a node, sharing the table's copy
// of each string (zones and pools repeat across nodes); nil when none.
// Callers hold t.mu.
func (t *nodeTrimmer) keepLabels(labels map[string]string) map[string]string {
	var kept map[string]string
	for _, k := range t.labels {
		if v, ok := labels[k]; ok {
			if kept == nil {
				kept = make(map[string]string, len(t.labels))
			}
			kept[t.intern(k)] = t.intern(v)
		}
	}
	return kept
}
