package oracle

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/pod-ashiato/ashiato/src/storeio"
)

// refusing is the store of a run on another backend than ConfigMaps (S3):
// it passes every call through, except that while limited it refuses the
// creates beyond the ones allowed, as a ResourceQuota refuses ConfigMaps
// beyond its count, so the burst's write-refused-mid-growth scenario plays
// on either store.
type refusing struct {
	storeio.Objects
	mu   sync.Mutex
	left int // creates still allowed; -1 is no limit
}

func newRefusing(objs storeio.Objects) *refusing { return &refusing{Objects: objs, left: -1} }

// allow lets n more objects be created; -1 lifts the limit.
func (s *refusing) allow(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.left = n
}

func (s *refusing) Create(ctx context.Context, cm *corev1.ConfigMap) (*corev1.ConfigMap, error) {
	s.mu.Lock()
	refused := s.left == 0
	if s.left > 0 {
		s.left--
	}
	s.mu.Unlock()
	if refused {
		return nil, apierrors.NewForbidden(schema.GroupResource{Resource: "objects"}, cm.Name,
			errString("exceeded quota: oracle (the store allows no more objects)"))
	}
	return s.Objects.Create(ctx, cm)
}

type errString string

func (e errString) Error() string { return string(e) }
