package store

import (
	"testing"
)

// TestSize stores the hours we plan for, checks that every object fits the API
// server and etcd (roundTrip checks names, keys and sizes), and reports what an
// hour costs: the raw values the API server counts and the JSON request bodies
// (binaryData in base64). Run with -v to see the figures.
func TestSize(t *testing.T) {
	if testing.Short() {
		t.Skip("large hours")
	}
	t.Parallel()
	tests := []struct {
		name string
		hour func() *Hour
	}{
		{"10,000 realistic pods", func() *Hour { return realistic(10000, 1) }},
		{"150,000 realistic pods", func() *Hour { return realistic(150000, 1) }},
		{"20,000 pods with 200-253 char names", func() *Hour { return longNames(20000, 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := tt.hour()
			cms := roundTrip(t, h, 0)
			raw, req, placements, biggest := 0, 0, 0, 0
			for _, cm := range cms {
				raw += rawSize(cm)
				req += requestSize(t, cm)
				biggest = max(biggest, requestSize(t, cm))
			}
			for _, seen := range h.Pods {
				placements += len(seen)
			}
			t.Logf("%d placements: %s, %d shard(s), raw values %d bytes (%.1f per pod), JSON requests %d bytes (largest %d)",
				placements, cms[0].Annotations[AnnotationFormat], len(cms), raw, float64(raw)/float64(h.Len()), req, biggest)
		})
	}
}
