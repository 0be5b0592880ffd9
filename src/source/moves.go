package source

import (
	"time"
)

// DefaultMoveMemory is how long Watch remembers the node of a deleted pod, to
// tell a pod that comes back under the same name on another node (moved) from
// a new one (scheduled). A StatefulSet pod is usually back within seconds; an
// hour also covers one that waits for a volume to detach, for capacity or for
// the autoscaler to add a node, while the memory holds only the last hour's
// deletions.
const DefaultMoveMemory = time.Hour

// maxRemembered caps the deleted pods remembered for moves whatever their age,
// so that a deletion storm (a namespace of 150,000 pods deleted at once) costs
// a bounded memory. Past the cap, some moves are reported as scheduled.
const maxRemembered = 100_000

// nodeMemory remembers the node of deleted pods by namespace/name for ttl, at
// most max of them. It is used from the handler's goroutine only.
type nodeMemory struct {
	ttl   time.Duration
	max   int
	nodes map[string]remembered
	swept time.Time
}

type remembered struct {
	node string
	at   time.Time
}

func newNodeMemory(ttl time.Duration, maxEntries int) *nodeMemory {
	return &nodeMemory{ttl: ttl, max: maxEntries, nodes: make(map[string]remembered)}
}

func (m *nodeMemory) remember(key, node string, now time.Time) {
	m.sweep(now)
	m.nodes[key] = remembered{node: node, at: now}
}

// take returns and forgets the node remembered for key, if it is younger than
// ttl: the pod of that name is placed again, so the cache knows its node now.
func (m *nodeMemory) take(key string, now time.Time) (string, bool) {
	r, ok := m.nodes[key]
	if !ok {
		return "", false
	}
	delete(m.nodes, key)
	return r.node, now.Sub(r.at) < m.ttl
}

// sweep forgets expired entries, at most once per ttl unless the memory is
// full; a memory still full of young entries drops arbitrary ones down to 90%,
// so that a storm of deletions does not sweep on every one.
func (m *nodeMemory) sweep(now time.Time) {
	if len(m.nodes) < m.max && now.Sub(m.swept) < m.ttl {
		return
	}
	m.swept = now
	for k, r := range m.nodes {
		if now.Sub(r.at) >= m.ttl {
			delete(m.nodes, k)
		}
	}
	for k := range m.nodes {
		if len(m.nodes) < m.max*9/10 {
			break
		}
		delete(m.nodes, k)
	}
}

func (m *nodeMemory) size() int { return len(m.nodes) }
