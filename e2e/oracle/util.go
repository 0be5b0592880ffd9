package oracle

import (
	"sort"
	"time"
)

func sortStrings(s []string) { sort.Strings(s) }

func sortTimes(s []time.Time) { sort.Slice(s, func(i, j int) bool { return s[i].Before(s[j]) }) }
