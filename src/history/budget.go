package history

import (
	"errors"
	"fmt"

	"github.com/pod-ashiato/ashiato/src/storeio"
)

// ErrBudget is what a read returns, wrapped, when the window holds more
// stored history than the Reader's Budget lets one read decode: the caller
// asks for a narrower window rather than the reader growing.
var ErrBudget = errors.New("the window holds more history than one read may decode")

// meter counts the stored bytes (storeio.Shard.Size: the values as stored,
// packed) that one read hands the codec, against the Reader's Budget. Each
// decode of an object counts again: the work is in the decoding.
type meter struct {
	budget, used int64
}

func (r *Reader) meter() *meter { return &meter{budget: r.Budget} }

// add counts objs, or returns ErrBudget when they would take the read past
// its budget.
func (m *meter) add(objs ...storeio.Shard) error {
	for i := range objs {
		m.used += int64(objs[i].Size())
	}
	if m.budget > 0 && m.used > m.budget {
		return fmt.Errorf("%w (more than %d MiB)", ErrBudget, m.budget>>20)
	}
	return nil
}
