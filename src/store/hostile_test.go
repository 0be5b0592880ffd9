package store

import (
	"runtime"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Hostile store content (issue 23): what a writer controls must not decide
// how much a reader allocates, how much it keeps, or for how long it works.
// These tests measure the process's heap, so none of them runs in parallel.

// allocated is what f allocates on the heap, in bytes.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// trailerBomb is a gzip of s whose trailer claims 4 GiB unpacked.
func trailerBomb(t testing.TB, s string) []byte {
	b := gz(t, s)
	copy(b[len(b)-4:], []byte{0xff, 0xff, 0xff, 0xff})
	return b
}

// TestDecodeTrailerBomb: a gzip value's trailer is the writer's word on its
// unpacked size; a few bytes claiming 4 GiB must not make the reader
// allocate more than the few bytes they unpack to.
func TestDecodeTrailerBomb(t *testing.T) {
	const limit = 1 << 20
	for _, key := range []string{KeyPacked, KeyOwnersPacked, KeyNodesPacked} {
		t.Run(key, func(t *testing.T) {
			cms := []corev1.ConfigMap{{
				ObjectMeta: metav1.ObjectMeta{Name: NameFor(testHour)},
				BinaryData: map[string][]byte{key: trailerBomb(t, "")},
			}}
			Decode(testHour, cms) // warm up what is allocated once per process
			var warnings []Warning
			n := allocated(func() { _, _, warnings = Decode(testHour, cms) })
			if n > limit {
				t.Errorf("decoding %d bytes of gzip allocated %d bytes, want at most %d", len(cms[0].BinaryData[key]), n, limit)
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0].Reason, "bad gzip") {
				t.Errorf("warnings %v, want one bad gzip", warnings)
			}
		})
	}
}
