package store

import (
	"strconv"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"
)

func TestNames(t *testing.T) {
	t.Parallel()
	local := time.FixedZone("UTC+9", 9*3600)
	tests := []struct {
		name  string
		hour  time.Time
		shard int
		want  string
	}{
		{"shard 0 is the original name", testHour, 0, "pod-ashiato-2026031415"},
		{"later shards", testHour, 3, "pod-ashiato-2026031415-3"},
		{"any time in the hour", testHour.Add(59*time.Minute + 59*time.Second), 1, "pod-ashiato-2026031415-1"},
		{"named in UTC", time.Date(2026, 3, 15, 0, 30, 0, 0, local), 0, "pod-ashiato-2026031415"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ShardName(tt.hour, tt.shard)
			if got != tt.want {
				t.Fatalf("ShardName = %q, want %q", got, tt.want)
			}
			hour, shard, ok := ParseName(got)
			if !ok || !hour.Equal(HourOf(tt.hour)) || shard != tt.shard {
				t.Errorf("ParseName(%q) = %s, %d, %v", got, hour, shard, ok)
			}
		})
	}
}

func TestParseNameRejects(t *testing.T) {
	t.Parallel()
	for _, name := range []string{
		"", "pod-ashiato-", "pod-ashiato-202603141", "pod-ashiato-2026031415-0",
		"pod-ashiato-2026031415-01", "pod-ashiato-2026031415-+1", "pod-ashiato-2026031415-",
		"pod-ashiato-2026031415x", "pod-ashiato-2026131415", "pod-ashiato-2026031425",
		"pod-ashiato-2026031415--1", "other-2026031415", "pod-ashiato-2026031415-1-1",
	} {
		if h, s, ok := ParseName(name); ok {
			t.Errorf("ParseName(%q) = %s, %d, true; want false", name, h, s)
		}
	}
}

func TestSelectors(t *testing.T) {
	t.Parallel()
	if got, want := AllSelector(), "app=pod-ashiato,type=pod-node-mapping"; got != want {
		t.Errorf("AllSelector = %q, want %q", got, want)
	}
	if got, want := HourSelector(testHour.Add(time.Minute)), "app=pod-ashiato,type=pod-node-mapping,pod-ashiato/hour=2026031415"; got != want {
		t.Errorf("HourSelector = %q, want %q", got, want)
	}
}

// TestHoursSelector checks the range selectors the way the API server applies
// them: parsed by labels.Parse and matched against each object's labels.
func TestHoursSelector(t *testing.T) {
	t.Parallel()
	labelled := func(hour time.Time) labels.Set {
		return labels.Set{LabelApp: LabelAppValue, LabelType: LabelTypeValue, LabelHour: hourLabel(hour), LabelShard: "0"}
	}
	original := labels.Set{LabelApp: LabelAppValue, LabelType: LabelTypeValue}
	h := func(n int) time.Time { return testHour.Add(time.Duration(n) * time.Hour) }
	tests := []struct {
		name     string
		from, to time.Time
		selector string
		in, out  []time.Time
	}{
		{"one hour", h(0).Add(time.Minute), h(0).Add(59 * time.Minute), "app=pod-ashiato,type=pod-node-mapping,pod-ashiato/hour>2026031414,pod-ashiato/hour<2026031416",
			[]time.Time{h(0)}, []time.Time{h(-1), h(1)}},
		{"across a day", h(8), h(10), "app=pod-ashiato,type=pod-node-mapping,pod-ashiato/hour>2026031422,pod-ashiato/hour<2026031502",
			[]time.Time{h(8), h(9), h(10)}, []time.Time{h(7), h(11), h(-24 + 9), h(24 * 31)}},
		{"open start", time.Time{}, h(0), "app=pod-ashiato,type=pod-node-mapping,pod-ashiato/hour<2026031416",
			[]time.Time{h(0), h(-1), h(-24 * 400)}, []time.Time{h(1)}},
		{"open end", h(0), time.Time{}, "app=pod-ashiato,type=pod-node-mapping,pod-ashiato/hour>2026031414",
			[]time.Time{h(0), h(1), h(24 * 400)}, []time.Time{h(-1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := HoursSelector(tt.from, tt.to)
			if got != tt.selector {
				t.Fatalf("HoursSelector = %q, want %q", got, tt.selector)
			}
			sel, err := labels.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			for _, hour := range tt.in {
				if !sel.Matches(labelled(hour)) {
					t.Errorf("%s does not select hour %s", got, hourLabel(hour))
				}
			}
			for _, hour := range tt.out {
				if sel.Matches(labelled(hour)) {
					t.Errorf("%s selects hour %s", got, hourLabel(hour))
				}
			}
			if sel.Matches(original) {
				t.Errorf("%s selects the original tool's object", got)
			}
		})
	}
	unlabelled, err := labels.Parse(UnlabelledSelector())
	if err != nil {
		t.Fatal(err)
	}
	if !unlabelled.Matches(original) || unlabelled.Matches(labelled(h(0))) || unlabelled.Matches(labels.Set{LabelApp: LabelAppValue}) {
		t.Errorf("UnlabelledSelector %q selects the wrong objects", UnlabelledSelector())
	}
}

func TestAdd(t *testing.T) {
	t.Parallel()
	a := PodRef{"default", "a"}
	type add struct {
		ref     PodRef
		node    string
		at      time.Time
		changed bool
	}
	tests := []struct {
		name string
		adds []add
		want string
	}{
		{"new pod", []add{{a, "n1", at(10), true}},
			"default/a n1 10 10\n"},
		{"re-seen within the step", []add{{a, "n1", at(10), true}, {a, "n1", at(40), false}, {a, "n1", at(299), false}},
			"default/a n1 10 10\n"},
		{"last advances a step", []add{{a, "n1", at(10), true}, {a, "n1", at(300), true}, {a, "n1", at(310), false}},
			"default/a n1 10 300\n"},
		{"earlier first", []add{{a, "n1", at(100), true}, {a, "n1", at(90), true}},
			"default/a n1 90 100\n"},
		{"moved: both nodes in order first seen", []add{{a, "n2", at(10), true}, {a, "n1", at(900), true}, {a, "n2", at(20), false}},
			"default/a n2 10 10\ndefault/a n1 900 900\n"},
		{"out of order sighting reorders", []add{{a, "n2", at(500), true}, {a, "n1", at(100), true}},
			"default/a n1 100 100\ndefault/a n2 500 500\n"},
		{"clamped into the hour and to seconds", []add{{a, "n1", at(-50), true}, {a, "n1", testHour.Add(2*time.Hour + 500*time.Millisecond), true}},
			"default/a n1 0 3599\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := NewHour(testHour)
			for i, ad := range tt.adds {
				if got := h.Add(ad.ref, ad.node, ad.at); got != ad.changed {
					t.Errorf("add %d: changed = %v, want %v", i, got, ad.changed)
				}
			}
			if got, want := dump(h), "hour 2026-03-14T15:00:00Z\n"+tt.want; got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	a, b := PodRef{"default", "a"}, PodRef{"kube-system", "b"}
	stored := NewHour(testHour)
	stored.Pods[a] = []Seen{{Node: "n1"}} // the original tool's: times unknown
	stored.Add(b, "n2", at(5))

	pending := NewHour(testHour)
	pending.Add(a, "n1", at(30))
	pending.Add(b, "n2", at(200)) // same step as 5: no change
	if !stored.Merge(pending) {
		t.Fatal("Merge of known times over unknown reported no change")
	}
	want := "hour 2026-03-14T15:00:00Z\ndefault/a n1 30 30\nkube-system/b n2 5 5\n"
	if got := dump(stored); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if stored.Merge(pending) {
		t.Error("second Merge of the same hour reported a change")
	}
	unknown := NewHour(testHour)
	unknown.Pods[a] = []Seen{{Node: "n1"}}
	if stored.Merge(unknown) {
		t.Error("Merge of unknown times over known reported a change")
	}
}

// TestMergeMany: merging many placements of one pod at once (found through
// an index, sorted once) gives what adding them one by one gives.
func TestMergeMany(t *testing.T) {
	t.Parallel()
	ref := PodRef{"default", "a"}
	for _, n := range []int{1, indexFrom - 1, indexFrom, 3 * indexFrom} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			stored, pending := NewHour(testHour), NewHour(testHour)
			for i := range n {
				node := "n" + strconv.Itoa(i)
				switch i % 4 {
				case 0: // stored only, times unknown
					stored.Pods[ref] = append(stored.Pods[ref], Seen{Node: node})
				case 1: // pending moves First earlier and Last into a later step
					stored.Add(ref, node, at(1000+i))
					pending.Add(ref, node, at(i))
					pending.Add(ref, node, at(3000+i))
				case 2: // pending only
					pending.Add(ref, node, at(2000-i))
				case 3: // both, pending within the stored step: no change
					stored.Add(ref, node, at(600))
					pending.Add(ref, node, at(601))
				}
			}
			SortSeen(stored.Pods[ref])
			want := NewHour(testHour)
			want.Pods[ref] = stored.Pod(ref)
			changedWant := false
			for _, s := range pending.Pods[ref] {
				changedWant = want.see(ref, s) || changedWant
			}
			if changed := stored.Merge(pending); changed != changedWant {
				t.Errorf("Merge reported change %v, one by one %v", changed, changedWant)
			}
			if got, want := dump(stored), dump(want); got != want {
				t.Errorf("Merge gave\n%s\none by one\n%s", got, want)
			}
		})
	}
}

func TestLookups(t *testing.T) {
	t.Parallel()
	h := NewHour(testHour)
	a, b := PodRef{"default", "a"}, PodRef{"default", "b"}
	h.Add(a, "n1", at(10))
	h.Add(a, "n2", at(700))
	h.Add(b, "n2", at(20))
	if got := h.Pod(a); len(got) != 2 || got[0].Node != "n1" || got[1].Node != "n2" || !got[1].First.Equal(at(700)) {
		t.Errorf("Pod(a) = %v", got)
	}
	got := h.OnNode("n2")
	if len(got) != 2 || !got[a].First.Equal(at(700)) || !got[b].First.Equal(at(20)) {
		t.Errorf("OnNode(n2) = %v", got)
	}
	if h.Len() != 2 {
		t.Errorf("Len = %d, want 2", h.Len())
	}
	h.Pod(a)[0].Node = "changed"
	if h.Pods[a][0].Node != "n1" {
		t.Error("Pod returned the hour's own slice")
	}
}
