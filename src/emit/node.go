package emit

import (
	"github.com/sirupsen/logrus"

	"github.com/pod-ashiato/ashiato/src/record"
)

// NodeMessage is the "msg" of every node lifecycle line.
const NodeMessage = "node lifecycle"

// NodeFields is a node lifecycle record's JSON schema with the original names:
// which node, what changed, when it was observed and why. Node records are
// few (a handful per node and incident), so they take logrus's own JSON path.
func NodeFields(r record.Placement) logrus.Fields { return Schema{}.NodeFields(r) }
