package serve

import (
	"github.com/pod-ashiato/ashiato/src/access"
	"github.com/pod-ashiato/ashiato/src/report"
)

// The JSON twins of the pages (?format=json) are package report's answers,
// the schema `history -o json` prints; the home page and errors have their
// own.

// cluster (in every twin) is the cluster read, in a store of several
// (S3); clusters (home, errors) the clusters to pick from.

type homeJSON struct {
	Cluster  string          `json:"cluster,omitempty"`
	Clusters []string        `json:"clusters,omitempty"`
	Since    string          `json:"since"`
	Until    string          `json:"until"`
	Nodes    []nodeJSONCount `json:"nodes"`
	Warnings []string        `json:"warnings"`
	Hidden   report.Hidden   `json:"hidden"`
}

type nodeJSONCount struct {
	Node string `json:"node"`
	Pods int    `json:"pods"`
}

type errorJSON struct {
	Error    string   `json:"error"`
	Clusters []string `json:"clusters,omitempty"`
}

// hiddenOf is what the access check left out, in the schema.
func hiddenOf(h access.Hidden) report.Hidden { return report.Hidden(h) }
