// Package reschedule is the one rule that says which pod takes a lost pod's
// place, shared by the recorder's metrics (which see records as they come)
// and the history's incident (which reads the store afterwards). It imports
// nothing of ours.
//
// A pod is known by its namespace, name and controlling owner (kind and
// name; both empty for a bare pod):
//   - a StatefulSet's pod and a bare pod keep their identity in their name:
//     the replacement is the same namespace/name, on another node;
//   - a node-bound pod (a DaemonSet's, or a mirror pod, whose owner is the
//     Node) never moves: it comes back when its node does, on that node, and
//     is neither rescheduled nor not rescheduled;
//   - any other pod (a ReplicaSet's, a Job's) is replaced by another pod of
//     the same namespace and owner, under a new name, on any node.
package reschedule

// ByName reports whether a pod of this owner kind is replaced under its own
// name: a StatefulSet's pod, or a bare pod (no owner).
func ByName(ownerKind string) bool { return ownerKind == "" || ownerKind == "StatefulSet" }

// NodeBound reports whether a pod of this owner kind belongs to its node: a
// DaemonSet's pod, or a mirror pod (a static pod's, owned by its Node).
func NodeBound(ownerKind string) bool { return ownerKind == "DaemonSet" || ownerKind == "Node" }

// Key is what a pod shares with its replacement: its namespace and name for
// a StatefulSet's or a bare pod, else its namespace and owner. A node-bound
// pod's key is its owner's, like any other owned pod: its replacement is
// another pod of the owner, on the same node.
func Key(namespace, pod, ownerKind, ownerName string) string {
	if ByName(ownerKind) {
		return "pod\x00" + namespace + "\x00" + pod
	}
	return "owner\x00" + namespace + "\x00" + ownerKind + "\x00" + ownerName
}

// OwnerKinds are the values of the owner_kind label of the time-to-reschedule
// histogram; every other kind is Other, so the label stays bounded whatever
// controllers a cluster runs. A Deployment's pods are its ReplicaSet's: the
// records name the controlling owner only.
var OwnerKinds = []string{"ReplicaSet", "StatefulSet", "Job", "None", Other}

// Other is the owner_kind of every owner kind not in OwnerKinds.
const Other = "Other"

// KindLabel is the bounded label value of an owner kind: "None" for a bare
// pod, the kind itself when listed in OwnerKinds, else Other.
func KindLabel(ownerKind string) string {
	switch ownerKind {
	case "":
		return "None"
	case "ReplicaSet", "StatefulSet", "Job":
		return ownerKind
	}
	return Other
}
