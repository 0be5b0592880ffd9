package history

import (
	"errors"
	"fmt"
	"time"
)

// TimeSyntax describes what ParseTime accepts, for help and error messages.
const TimeSyntax = `RFC 3339 (2026-11-26T14:00:00Z, 2026-11-26T23:00:00+09:00), "now", or a duration before now (2h, 30m, 1h30m)`

// ParseTime reads a time given on the command line: RFC 3339, "now", or a Go
// duration (2h, 30m, 1h30m, 90s) meaning that long before now. The result is
// in UTC.
func ParseTime(s string, now time.Time) (time.Time, error) {
	if s == "now" {
		return now.UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	// A duration needs a unit; "-" and "+" are refused rather than guessed at
	// ("-2h" could mean either side of now).
	if s != "" && s[0] != '+' && s[0] != '-' {
		if d, err := time.ParseDuration(s); err == nil {
			return now.Add(-d).UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: %w", s, errSyntax)
}

var errSyntax = errors.New("want " + TimeSyntax)
