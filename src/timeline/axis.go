package timeline

import "time"

// tickSteps are the tick spacings an axis may use, the ones a person counts
// in. A step of a day or more is aligned to midnight UTC.
var tickSteps = []time.Duration{
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour,
}

// tick is one labelled instant of the axis.
type tick struct {
	at   time.Time
	text string // 15:04
	day  string // the date, on ticks where the day changes (and the first)
}

// ticks returns the axis ticks within [from, to] for an axis at most maxTicks
// labels wide: the smallest step of tickSteps that needs no more, aligned to
// whole multiples of the step in UTC.
func ticks(from, to time.Time, maxTicks int) []tick {
	span := to.Sub(from)
	if span <= 0 || maxTicks < 1 {
		return nil
	}
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if int(span/s) <= maxTicks {
			step = s
			break
		}
	}
	// Truncate aligns to multiples of step since the zero time, which for
	// steps dividing a day is midnight UTC; weeks align to a Monday.
	first := from.UTC().Truncate(step)
	if first.Before(from) {
		first = first.Add(step)
	}
	var out []tick
	lastDay := ""
	for t := first; !t.After(to); t = t.Add(step) {
		tk := tick{at: t, text: t.Format("15:04")}
		if d := t.Format("2006-01-02"); d != lastDay {
			tk.day, lastDay = d, d
		}
		if step >= 24*time.Hour {
			tk.text, tk.day = t.Format("2006-01-02"), ""
		}
		out = append(out, tk)
	}
	return out
}
