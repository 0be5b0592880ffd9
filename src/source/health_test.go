package source

import (
	"errors"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logrustest "github.com/sirupsen/logrus/hooks/test"
)

// TestAPIHealth: an outage of the informer's requests is reported on its first
// failure, then at most every healthLogEvery, and once when it ends; every
// failure reaches the metric.
func TestAPIHealth(t *testing.T) {
	refused := errors.New("connection refused")
	tests := []struct {
		name         string
		steps        []error       // observed in order, one per tick
		tick         time.Duration // between steps
		wantWarnings int
		wantInfos    int
	}{
		{"no failure, no line", []error{nil, nil}, time.Second, 0, 0},
		{"one failure then back", []error{refused, nil}, time.Second, 1, 1},
		{"a 2-minute outage of 1 s retries", append(repeat(refused, 120), nil), time.Second, 4, 1},
		{"two outages", []error{refused, nil, refused, refused, nil}, time.Second, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, hook := logrustest.NewNullLogger()
			now := time.Unix(0, 0)
			errs := 0
			h := &apiHealth{log: log, onError: func(error) { errs++ }, now: func() time.Time { return now }}
			failures := 0
			for _, err := range tt.steps {
				h.observe(err)
				if err != nil {
					failures++
				}
				now = now.Add(tt.tick)
			}
			var warnings, infos int
			for _, e := range hook.AllEntries() {
				switch e.Level {
				case logrus.WarnLevel:
					warnings++
				case logrus.InfoLevel:
					infos++
				}
			}
			if warnings != tt.wantWarnings || infos != tt.wantInfos || errs != failures {
				t.Errorf("got %d warnings, %d infos, %d errors counted; want %d, %d, %d", warnings, infos, errs, tt.wantWarnings, tt.wantInfos, failures)
			}
		})
	}
}

func repeat(err error, n int) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}
