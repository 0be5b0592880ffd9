package store

import "testing"

func BenchmarkEncode150k(b *testing.B) {
	h := realistic(150000, 1)
	for b.Loop() {
		if _, err := Encode(h, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode150k(b *testing.B) {
	h := realistic(150000, 1)
	cms, err := Encode(h, 0)
	if err != nil {
		b.Fatal(err)
	}
	v := values(cms)
	for b.Loop() {
		Decode(b.Context(), testHour, v)
	}
}

// BenchmarkEncode150kSteady is the sink's usual flush: the shard count is known.
func BenchmarkEncode150kSteady(b *testing.B) {
	h := realistic(150000, 1)
	for b.Loop() {
		if _, err := Encode(h, 8); err != nil {
			b.Fatal(err)
		}
	}
}
