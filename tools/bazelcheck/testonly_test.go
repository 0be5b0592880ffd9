package main

import "testing"

func TestLocalLabel(t *testing.T) {
	for _, tc := range []struct{ pkg, label, want string }{
		{"e2e/localcluster", "//e2e/fixture", "//e2e/fixture:fixture"},
		{"src/cmd", ":cmd_lib", "//src/cmd:cmd_lib"},
		{"src/cmd", "@//src/record:record", "//src/record:record"},
		{"src/cmd", "@io_k8s_api//core/v1:core", ""},
		{"src/cmd", "main.go", ""},
	} {
		if got := localLabel(tc.pkg, tc.label); got != tc.want {
			t.Errorf("localLabel(%q, %q) = %q, want %q", tc.pkg, tc.label, got, tc.want)
		}
	}
}
