//go:build tools

// Package tools pins the developer commands this repository runs with `go run`
// from this folder (Gazelle and buildifier). They live in their own module so
// their dependencies never enter the product's go.mod.
package tools

import (
	_ "github.com/bazelbuild/bazel-gazelle/cmd/gazelle"
	_ "github.com/bazelbuild/buildtools/buildifier"
)
