package reschedule

import "testing"

func TestRule(t *testing.T) {
	for _, tc := range []struct {
		kind              string
		byName, nodeBound bool
	}{
		{"", true, false},
		{"StatefulSet", true, false},
		{"ReplicaSet", false, false},
		{"Job", false, false},
		{"DaemonSet", false, true},
		{"Node", false, true},
	} {
		if ByName(tc.kind) != tc.byName || NodeBound(tc.kind) != tc.nodeBound {
			t.Errorf("%q: ByName %v NodeBound %v, want %v %v", tc.kind, ByName(tc.kind), NodeBound(tc.kind), tc.byName, tc.nodeBound)
		}
	}
	if Key("shop", "db-0", "StatefulSet", "db") != Key("shop", "db-0", "StatefulSet", "other") {
		t.Error("a StatefulSet's pod is known by its name")
	}
	if Key("shop", "web-a", "ReplicaSet", "web") != Key("shop", "web-b", "ReplicaSet", "web") {
		t.Error("a ReplicaSet's pods share their owner")
	}
	if Key("shop", "web-a", "ReplicaSet", "web") == Key("other", "web-a", "ReplicaSet", "web") {
		t.Error("namespaces apart")
	}
	for kind, want := range map[string]string{"": "None", "ReplicaSet": "ReplicaSet", "StatefulSet": "StatefulSet", "Job": "Job", "DaemonSet": Other, "CronJob": Other} {
		if got := KindLabel(kind); got != want {
			t.Errorf("KindLabel(%q) = %q, want %q", kind, got, want)
		}
	}
}
