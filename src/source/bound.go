package source

// PodsOn counts, for each of nodes, the pods of the cache bound to it (the
// lost-node metrics). It reads the cache, not the API server: one pass over
// every pod, which the metrics make only while some node is lost. Nodes
// without pods are absent from the answer, as is everything when Run is not
// running.
func (w *Watch) PodsOn(nodes map[string]bool) map[string]int {
	counts := map[string]int{}
	store := w.podCache.Load()
	if store == nil || len(nodes) == 0 {
		return counts
	}
	for _, obj := range (*store).List() {
		if c, ok := obj.(*cachedPod); ok && c.node() != "" && nodes[c.node()] {
			counts[c.node()]++
		}
	}
	return counts
}
