package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/store"
)

// TestJoinHours: what storedHours answers for runs that cross the turn of an
// hour, where the store holds a pod in both hours. Needs no cluster.
func TestJoinHours(t *testing.T) {
	h14 := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	h15 := h14.Add(time.Hour)
	type stay struct {
		pod, node string
		at        time.Time
	}
	hour := func(start time.Time, stays ...stay) *store.Hour {
		h := store.NewHour(start)
		for _, s := range stays {
			h.Add(store.PodRef{Namespace: "shop", Name: s.pod}, s.node, s.at)
		}
		return h
	}
	tests := []struct {
		name  string
		hours []*store.Hour
		want  map[string]string
	}{
		{
			name:  "one hour",
			hours: []*store.Hour{hour(h14, stay{"a", "n1", h14.Add(time.Minute)}, stay{"b", "n2", h14.Add(time.Minute)})},
			want:  map[string]string{"shop_a": "n1", "shop_b": "n2"},
		},
		{
			name: "a pod on one node across the turn of the hour",
			hours: []*store.Hour{
				hour(h14, stay{"a", "n1", h14.Add(59 * time.Minute)}),
				hour(h15, stay{"a", "n1", h15.Add(time.Minute)}),
			},
			want: map[string]string{"shop_a": "n1"},
		},
		{
			name: "moved within the first hour, stayed into the next",
			hours: []*store.Hour{
				hour(h14, stay{"a", "n1", h14.Add(10 * time.Minute)}, stay{"a", "n2", h14.Add(50 * time.Minute)}),
				hour(h15, stay{"a", "n2", h15.Add(time.Minute)}),
			},
			want: map[string]string{"shop_a": "n1,n2"},
		},
		{
			name: "moved at the turn of the hour",
			hours: []*store.Hour{
				hour(h14, stay{"a", "n1", h14.Add(59 * time.Minute)}),
				hour(h15, stay{"a", "n2", h15.Add(time.Minute)}),
			},
			want: map[string]string{"shop_a": "n1,n2"},
		},
		{
			name: "back on the first node in the next hour",
			hours: []*store.Hour{
				hour(h14, stay{"a", "n1", h14.Add(10 * time.Minute)}, stay{"a", "n2", h14.Add(50 * time.Minute)}),
				hour(h15, stay{"a", "n1", h15.Add(time.Minute)}),
			},
			want: map[string]string{"shop_a": "n1,n2,n1"},
		},
		{
			name: "a pod only in the second hour",
			hours: []*store.Hour{
				hour(h14, stay{"a", "n1", h14.Add(59 * time.Minute)}),
				hour(h15, stay{"a", "n1", h15.Add(time.Minute)}, stay{"late", "n3", h15.Add(time.Minute)}),
			},
			want: map[string]string{"shop_a": "n1", "shop_late": "n3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := joinHours(tt.hours); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("joinHours = %v, want %v", got, tt.want)
			}
		})
	}
}
