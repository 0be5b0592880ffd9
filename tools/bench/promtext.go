package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// series is one sample of the Prometheus text format: a metric name, its
// labels and its value.
type series struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// parseMetrics reads the Prometheus text exposition format (what /metrics
// serves). Comments and blank lines are skipped; timestamps are ignored.
func parseMetrics(r io.Reader) ([]series, error) {
	var out []series
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		s, err := parseSeries(text)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", line, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseSeries(text string) (series, error) {
	s := series{Labels: map[string]string{}}
	i := strings.IndexAny(text, "{ ")
	if i <= 0 {
		return s, fmt.Errorf("no value in %q", text)
	}
	s.Name, text = text[:i], text[i:]
	if text[0] == '{' {
		text = text[1:]
		for {
			text = strings.TrimLeft(text, " ,")
			if strings.HasPrefix(text, "}") {
				text = text[1:]
				break
			}
			eq := strings.IndexByte(text, '=')
			if eq <= 0 || len(text) < eq+2 || text[eq+1] != '"' {
				return s, fmt.Errorf("bad label in %q", text)
			}
			key := text[:eq]
			text = text[eq+2:]
			var val strings.Builder
			closed := false
			for j := 0; j < len(text); j++ {
				c := text[j]
				if c == '\\' && j+1 < len(text) {
					j++
					switch text[j] {
					case 'n':
						val.WriteByte('\n')
					default:
						val.WriteByte(text[j])
					}
					continue
				}
				if c == '"' {
					text, closed = text[j+1:], true
					break
				}
				val.WriteByte(c)
			}
			if !closed {
				return s, fmt.Errorf("unterminated label value for %s", key)
			}
			s.Labels[key] = val.String()
		}
	}
	fields := strings.Fields(text)
	if len(fields) == 0 {
		return s, fmt.Errorf("no value for %s", s.Name)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, fmt.Errorf("value of %s: %w", s.Name, err)
	}
	s.Value = v
	return s, nil
}

// sum adds the values of every series named name whose labels include all of
// match.
func sum(all []series, name string, match map[string]string) float64 {
	total := 0.0
	for _, s := range all {
		if s.Name != name {
			continue
		}
		ok := true
		for k, v := range match {
			if s.Labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			total += s.Value
		}
	}
	return total
}

// has reports whether any series is named name.
func has(all []series, name string) bool {
	for _, s := range all {
		if s.Name == name {
			return true
		}
	}
	return false
}
