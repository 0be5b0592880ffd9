package store

import (
	"strconv"
	"time"

	"github.com/pod-ashiato/ashiato/src/storeio"
)

// Labels are the labels of s in the ConfigMap form (see "Objects"), which the
// ConfigMap store puts on the object and the S3 store in the body: s.Labels
// (others' labels), the store's two, and the hour and shard unless s is the
// original tool's.
func Labels(s *storeio.Shard) map[string]string {
	l := make(map[string]string, len(s.Labels)+4)
	for k, v := range s.Labels {
		if !ownLabel(k) {
			l[k] = v
		}
	}
	l[LabelApp], l[LabelType] = LabelAppValue, LabelTypeValue
	if !s.Legacy {
		l[LabelHour] = hourLabel(s.Hour)
		l[LabelShard] = strconv.Itoa(s.Index)
	}
	return l
}

func ownLabel(k string) bool {
	return k == LabelApp || k == LabelType || k == LabelHour || k == LabelShard
}

// OtherLabels is labels without the store's own: what a Shard's Labels hold.
// nil when there are none.
func OtherLabels(labels map[string]string) map[string]string {
	var out map[string]string
	for k, v := range labels {
		if !ownLabel(k) {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// FromLabels is the hour, shard and legacy mark of an object of the
// ConfigMap form named name with labels: the hour and shard labels where
// they are there and read, else what the name says; an object without an
// hour label is the original tool's (legacy). A label that disagrees with the
// name is kept, so that SameContent tells the object from what the codec
// writes and a writer puts it right.
func FromLabels(name string, labels map[string]string) (hour time.Time, shard int, legacy bool) {
	hour, shard, _ = ParseName(name)
	v, ok := labels[LabelHour]
	if !ok {
		return hour, shard, true
	}
	if t, err := time.Parse(hourLayout, v); err == nil {
		hour = t
	}
	if n, err := strconv.Atoi(labels[LabelShard]); err == nil {
		shard = n
	}
	return hour, shard, false
}
