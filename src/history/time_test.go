package history

import (
	"strings"
	"testing"
	"time"
)

var clock = time.Date(2026, 11, 26, 14, 30, 0, 0, time.UTC)

func TestParseTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time // zero: an error
	}{
		{"now", clock},
		{"2026-11-26T14:05:00Z", time.Date(2026, 11, 26, 14, 5, 0, 0, time.UTC)},
		{"2026-11-26T23:05:00+09:00", time.Date(2026, 11, 26, 14, 5, 0, 0, time.UTC)},
		{"2026-11-26T14:05:00.25Z", time.Date(2026, 11, 26, 14, 5, 0, 250e6, time.UTC)},
		{"2h", clock.Add(-2 * time.Hour)},
		{"30m", clock.Add(-30 * time.Minute)},
		{"1h30m", clock.Add(-90 * time.Minute)},
		{"90s", clock.Add(-90 * time.Second)},
		{"168h", clock.Add(-168 * time.Hour)},
		{"0s", clock},
		{"0", clock},
		{"", time.Time{}},
		{"Now", time.Time{}},
		{"yesterday", time.Time{}},
		{"2", time.Time{}},   // a duration needs its unit
		{"2d", time.Time{}},  // not a Go duration
		{"-2h", time.Time{}}, // which side of now?
		{"+2h", time.Time{}}, // likewise
		{"2026-11-26", time.Time{}},
		{"2026-11-26T14:05:00", time.Time{}}, // no zone: ambiguous
		{"2026-11-26 14:05:00Z", time.Time{}},
		{"2026-13-01T00:00:00Z", time.Time{}},
		{"99999999999h", time.Time{}}, // overflows a duration
		{" 2h", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTime(tt.in, clock)
			if tt.want.IsZero() {
				if err == nil {
					t.Fatalf("ParseTime(%q) = %s, want an error", tt.in, got)
				}
				if !strings.Contains(err.Error(), "RFC 3339") || !strings.Contains(err.Error(), tt.in) {
					t.Errorf("error %q should name the input and say what is wanted", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTime(%q): %v", tt.in, err)
			}
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("ParseTime(%q) = %s, want %s in UTC", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzParseTime: ParseTime never panics, answers in UTC, and what it accepts
// is one of the three forms with the meaning the help gives it.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"now", "2h", "1h30m", "2026-11-26T23:05:00+09:00", "-2h", "", "0", "9223372036854775807ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s, clock)
		if err != nil {
			if !strings.Contains(err.Error(), "RFC 3339") {
				t.Errorf("error %q does not say what is wanted", err)
			}
			return
		}
		if got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %s, not UTC", s, got)
		}
		if s == "now" {
			return
		}
		if want, err := time.Parse(time.RFC3339, s); err == nil {
			if !got.Equal(want) {
				t.Errorf("ParseTime(%q) = %s, want %s", s, got, want)
			}
			return
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || !got.Equal(clock.Add(-d)) {
			t.Errorf("ParseTime(%q) = %s: neither RFC 3339, now, nor a duration before now", s, got)
		}
	})
}
