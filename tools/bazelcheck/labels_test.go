package main

import "testing"

func TestLabelRepo(t *testing.T) {
	for s, want := range map[string]string{
		"@rules_go//go:def.bzl": "rules_go",
		"@tar.bzl":              "tar.bzl",
		"@distroless_static":    "distroless_static",
		"@@canonical+//x:y":     "canonical+",
		"@//src/cmd":            "",
		"//src/cmd":             "-",
		"user@example.com":      "-",
		"@ not a label":         "-",
	} {
		m := labelRepo.FindStringSubmatch(s)
		got := "-"
		if m != nil {
			got = m[1]
		}
		if got != want {
			t.Errorf("labelRepo(%q) = %q, want %q", s, got, want)
		}
	}
}
