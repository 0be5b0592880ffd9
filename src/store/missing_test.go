package store

import (
	"slices"
	"strings"
	"testing"

	"github.com/pod-ashiato/ashiato/src/storeio"
)

// TestDecodeWarnsOfMissingShards: a reader that finds fewer shards than shard
// 0 promises says so, naming the hour and the missing shards; what is there
// is still read.
func TestDecodeWarnsOfMissingShards(t *testing.T) {
	h := NewHour(testHour)
	for i := range 64 {
		h.Add(PodRef{Namespace: "ns", Name: "pod" + strings.Repeat("x", i)}, "n1", at(i))
	}
	four := values(mustEncode(t, h, 4))
	if len(four) != 4 {
		t.Fatalf("%d shards, want 4", len(four))
	}
	without := func(drop ...int) []storeio.Shard {
		var out []storeio.Shard
		for i, cm := range four {
			if !slices.Contains(drop, i) {
				out = append(out, cm)
			}
		}
		return out
	}
	tests := []struct {
		name string
		objs []storeio.Shard
		want string // "" for no warning
	}{
		{"all there", four, ""},
		{"one missing", without(2), "hour " + hourLabel(testHour) + ": shard(s) 2 of 4 missing (shard 0 says 4)"},
		{"two missing", without(1, 3), "shard(s) 1, 3 of 4 missing"},
		{"shard 0 missing", without(0), "shard(s) 0 of 1 missing (shard 0 holds the count)"},
		{"nothing stored", nil, ""},
		{"more than promised: a growth under way", append(values(mustEncode(t, h, 1)), four[1]), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, warnings := Decode(t.Context(), testHour, tt.objs)
			var missing []Warning
			for _, w := range warnings {
				if strings.Contains(w.Reason, "missing") {
					missing = append(missing, w)
				}
			}
			if len(warnings) != len(missing) {
				t.Errorf("other warnings: %v", warnings)
			}
			switch {
			case tt.want == "" && len(missing) > 0:
				t.Errorf("warned %v, want nothing", missing)
			case tt.want != "" && (len(missing) != 1 || !strings.Contains(missing[0].Reason, tt.want) || missing[0].Object != NameFor(testHour)):
				t.Errorf("warned %v, want one on %s saying %q", missing, NameFor(testHour), tt.want)
			}
			if tt.want == "" && len(tt.objs) > 0 && got.Len() != h.Len() {
				t.Errorf("read %d pods, want %d", got.Len(), h.Len())
			}
		})
	}
}

func mustEncode(t *testing.T, h *Hour, shards int) []*storeio.Shard {
	t.Helper()
	cms, err := Encode(h, shards)
	if err != nil {
		t.Fatal(err)
	}
	return cms
}
