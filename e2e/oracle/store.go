package oracle

import (
	"context"
	"fmt"
	"sync"

	"github.com/pod-ashiato/ashiato/src/storeio"
)

// refusing is the store of a run on another backend than ConfigMaps (S3):
// it passes every call through, except that while limited it refuses the
// creates beyond the ones allowed, as a ResourceQuota refuses ConfigMaps
// beyond its count, so the burst's write-refused-mid-growth scenario plays
// on either store.
type refusing struct {
	storeio.Store
	mu   sync.Mutex
	left int // creates still allowed; -1 is no limit
}

func newRefusing(objs storeio.Store) *refusing { return &refusing{Store: objs, left: -1} }

// allow lets n more objects be created; -1 lifts the limit.
func (s *refusing) allow(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.left = n
}

func (s *refusing) Create(ctx context.Context, cm *storeio.Shard) (*storeio.Shard, error) {
	s.mu.Lock()
	refused := s.left == 0
	if s.left > 0 {
		s.left--
	}
	s.mu.Unlock()
	if refused {
		return nil, fmt.Errorf("%s: exceeded quota: oracle (the store allows no more objects): %w", cm.Name, storeio.ErrForbidden)
	}
	return s.Store.Create(ctx, cm)
}
