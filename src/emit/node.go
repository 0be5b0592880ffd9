package emit

import (
	"github.com/sirupsen/logrus"

	"github.com/pod-ashiato/ashiato/src/record"
)

// NodeMessage is the "msg" of every node lifecycle line.
const NodeMessage = "node lifecycle"

// NodeFields is a node lifecycle record's JSON schema: which node, what
// changed, when it was observed and why. Node records are few (a handful per
// node and incident), so they take logrus's own JSON path.
func NodeFields(r record.Placement) logrus.Fields {
	f := logrus.Fields{
		"event":     string(r.Event),
		"node_name": r.Node,
		"timestamp": rfc3339(r.Timestamp),
		"reason":    r.Reason,
	}
	if len(r.NodeLabels) > 0 {
		f["labels"] = r.NodeLabels // the allow-listed node labels (--node-labels)
	}
	return f
}
