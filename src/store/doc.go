// Package store is the codec of Pod Ashiato's history: how one UTC hour of
// placements is laid out in shards (storeio.Shard) and read back, whatever
// the backend: the ConfigMap store keeps each shard as a ConfigMap, the S3
// store as a ConfigMap in JSON (see "S3"). The sink (which writes) and the
// history query (which reads) share it, so the format is defined in exactly
// one place. This comment is the on-disk contract; change it only with a
// reader that still understands what was written before. A shard's Hour and
// Index are the hour and shard labels below (Labels, FromLabels); Legacy is
// an object without them, the original tool's.
//
// # Objects
//
// An hour is stored in N ≥ 1 ConfigMaps ("shards") in one namespace. Shard 0 is
// named pod-ashiato-YYYYMMDDHH (the hour in UTC, the original tool's name);
// shard i ≥ 1 is pod-ashiato-YYYYMMDDHH-i. Every shard has the labels
//
//	app: pod-ashiato
//	type: pod-node-mapping
//	pod-ashiato/hour: "YYYYMMDDHH"
//	pod-ashiato/shard: "<i>"
//
// and shard 0 also has the annotations
//
//	pod-ashiato/format: plain | packed
//	pod-ashiato/shards: "<N>"
//
// The original tool's ConfigMaps have only the first two labels, so a reader
// that wants them too selects with AllSelector (or gets NameFor(hour) by name)
// rather than HourSelector.
//
// Times are whole seconds since the start of the hour, written in decimal
// (0..3599), or "-" when not known (values written by the original tool).
// Last is the last observation of the pod on the node, except that a
// placement still running when its shard is written has Last 3599, the
// hour's last second: it was there at the write and its writer has not seen
// it leave. The writer writes the true last observation when the pod leaves
// (it is deleted, seen on another node, or not seen for a while), and when
// it stops; so a running pod costs one write an hour, not one per
// LastSeenStep. Last is accurate to LastSeenStep: the pod was last seen on
// the node within [last, last+LastSeenStep) (older writers advanced Last
// only into a later step).
//
// # Plain form
//
// One object (N = 1), readable with kubectl get cm -o yaml, and the original
// tool's layout. Each pod is a data key
//
//	<namespace>_<pod>: <node>[,<node>...]
//
// with the nodes it ran on during the hour in the order first seen
// (namespaces and pod names never contain "_", node names never ","). One more
// data key, ashiato.seen (no "_", so it never clashes with a pod), holds the
// times: one line per placement whose times are known, pods in order of
// namespace then name, each pod's nodes in the order first seen:
//
//	<namespace>_<pod> <node> <first> <last>\n
//
// A placement listed in a pod key but absent from ashiato.seen has unknown
// times; a line in ashiato.seen for a placement that no pod key lists is
// ignored, so the pod keys stay the authority a person can edit.
//
// Two more keys, written only when they have lines, hold the hour's owners
// and node events (see Owners and node events below):
//
//	ashiato.owners: <namespace> <kind> <owner> <pod>[,<pod>...]\n
//	ashiato.nodes:  <node> <time> <event> <reason>\n
//
// Every data key that is not a pod starts with "ashiato." (a pod key has a
// "_", and neither a namespace nor a pod name a "_" or a leading "ashiato.").
// A reader skips such keys it does not know: they are a later version's.
//
// The plain form is used when every <namespace>_<pod> key fits the 253
// characters a ConfigMap key may have and the object's values total at most
// 256 KiB, and when no more than one shard is already stored for the hour.
//
// # Packed form
//
// Every other hour. Each shard has one binaryData key, placements.gz: a gzip
// stream (no name, mtime 0, level 5) of the lines
//
//	<namespace>/<pod>\t<node>\t<first>\t<last>\n
//
// one per placement, sorted by namespace, pod, then first-seen time and node.
// Pod ns/p lives in shard fnv32a("ns/p") % N, so adding a pod rewrites one
// shard only. A shard may also have owners.gz, the owner lines of the plain
// form with tabs for spaces, each owner's line in shard
// fnv32a("<namespace>/<kind>/<owner>") % N (so an owner's name is written
// once, not once per shard its pods hash to); shard 0 may have nodes.gz, the
// node event lines with tabs. Both are gzip like placements.gz and written
// only when they have lines. Unknown binaryData keys ending in ".gz" are a
// later version's and skipped. N is a power of two chosen from the compressed size so that
// every shard's raw values stay within 700 KiB (base64 in a JSON request keeps
// it under 1 MiB, well below etcd's limit), aiming at 3/4 of that since names
// hash unevenly; it never shrinks within an hour and at least doubles whenever
// a shard would overflow. An hour has at most MaxShards shards.
//
// # Owners and node events
//
// An owner line names a pod's controlling owner (kind and name, as in its
// ownerReference) for the pods listed: a pod named "<owner>-<rest>" is
// written "-<rest>" (no pod name starts with "-"), any other by its name. A
// pod has at most one owner an hour, the first recorded. Owners link a pod to
// its replacement, which has another name. A kind is letters and digits,
// starting with a letter; an owner name at most 253 bytes of printable ASCII
// without space or "/". An owner that is not is not stored.
//
// A node event line is one lifecycle change of a node: <time> as above,
// <event> one of node_ready, node_not_ready, node_unknown, node_cordoned,
// node_uncordoned, node_tainted, node_untainted, node_added, node_deleted
// (readers accept any [a-z_]+), and <reason> the rest of the line, possibly
// empty, at most 128 bytes of printable ASCII. Lines are in time order, the
// lines of one second in the order they were recorded (which a writer keeps
// when it merges: stored lines first); an exact repeat within a second is
// dropped. An hour keeps at most MaxNodeEvents.
//
// Readers that predate them: the original tool reads the keys with a "_" and
// so only the pods; an older Pod Ashiato reads the new plain keys as pod keys,
// warns that they are not <namespace>_<pod> and skips them, and warns about
// and skips owners.gz and nodes.gz. Both read every placement as before. An
// older Pod Ashiato that writes an hour drops its owners and node events.
//
// # Node labels
//
// An hour may keep some labels of the nodes that have a lifecycle record in
// it (those of the recorder's allow-list: zone, region, instance type, node
// pool), so that a reader can select failed nodes by label. The plain form's
// key ashiato.nodelabels, and shard 0's nodelabels.gz in the packed form
// (gzip as above), hold one line per node, in name order:
//
//	<node> <key>=<value>[,<key>=<value>...]\n
//
// (packed: a tab for the space), keys in order, each a Kubernetes label key and value (neither has a space,
// "," or "="), at most MaxNodeLabels of them. A node keeps the first labels
// recorded for it within the hour; an hour keeps at most MaxLabelledNodes.
// Both are written only when they have lines, so an hour without labels is
// byte for byte what earlier versions wrote; hours written before them
// decode as before, without labels. Readers that predate them skip the key
// (an unknown "ashiato." key or ".gz" value).
//
// # Writing
//
// A writer merges what it observed into what is stored, encodes, and writes
// the objects whose content changed with the resourceVersion it last saw. It
// may remember the hour instead of reading it before every write; it must
// read the hour and merge again on a Conflict, an AlreadyExists or a
// NotFound. It writes the highest shard first and shard 0, which
// carries the count, last, so that every state between two writes holds every
// placement already stored: when N grows to M (a multiple of N), each pod
// either stays in its shard or moves to a new one, index N or more, and all
// new shards exist before any old one is rewritten without the pods that
// left it. A writer that stops part way (a refused create, a kill) leaves more
// shards than shard 0 promises, each pod in at least one of them; readers read
// them all, and the next writer counts them (the highest shard present) and
// completes the growth.
//
// # Reading
//
// Decode accepts any subset of an hour's objects in any order, in either
// form, including the original tool's (times unknown). A placement present in
// several objects is merged: earliest first-seen, latest last-seen. A damaged
// value (bad gzip, bad line, bad number, a key that is not <namespace>_<pod>,
// an unknown format) becomes a Warning and everything else is still read; the
// complete lines of a gzip stream that breaks part way are kept. Owners are
// given once every object is read, to the pods that have a placement; an
// owner of any other pod is ignored without a warning (its shard may simply
// not be among the objects read).
//
// A reader trusts no size the content states. It unpacks a gzip value into a
// buffer sized from the compressed length that grows as bytes arrive, to at
// most 64 MiB (the lines beyond are dropped with a warning), whatever the
// gzip trailer claims; it copies what it keeps out of the values it read, so
// a kept line does not keep its value; its time and allocation grow with the
// unpacked size, one pod on many nodes included (a pod's placements are
// found by node through an index once it has 16); a warning quotes at most
// 200 bytes of a line or name, and a value gives at most 10 warnings and a
// count of the rest. A reader stops when its caller's context ends, looking
// every 1,024 lines and every MiB unpacked, and warns that it stopped.
//
// A reader that finds fewer shards than shard 0's count promises (or shards
// without shard 0) warns, naming the hour and the missing shards: their
// placements are not in what it read. More shards than promised is a growth
// under way (see Writing) and is read whole.
//
// # Time precision, and what a reader may conclude
//
// First is the first observation of the pod on the node within the hour, to
// the second. Last is accurate to LastSeenStep (see Times). A placement is
// therefore read as "on the node from First to Last+LastSeenStep". An hour
// keeps one placement per pod and node, so two stays on one node within an
// hour read as one. A placement whose Last lies in the last LastSeenStep of
// hour H continues into a placement of the same pod on the same node in hour
// H+1: the stay crossed the edge, and H+1's First is only its first
// observation there, so a reader counts it from H+1's start. docs/storage.md ("What
// --at guarantees") states the resulting promise to the user.
//
// # S3
//
// The S3 store (package s3store) keeps the same objects, one S3 object each,
// at
//
//	<prefix>/<cluster>/YYYY/MM/DD/HH/<i>
//
// (the hour in UTC, i the shard in decimal without leading zeros), so one
// bucket holds many clusters and a listing of <prefix>/ with delimiter "/"
// names them. The body is the shard as a Kubernetes ConfigMap in JSON:
//
//	{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":…,"labels":{…},
//	 "annotations":{…}},"data":{…},"binaryData":{…}}
//
// with the name, labels, annotations and values above, no namespace or
// server fields, and one more annotation, pod-ashiato/cluster: <cluster>, so
// an object read alone says whose it is and `kubectl apply -n NS -f` restores
// it into the ConfigMap store unchanged. The object's ETag stands for the
// resourceVersion of "Writing": a shard is created with If-None-Match: * and
// replaced with If-Match: <ETag>; a 412 or 409 is the Conflict (or
// AlreadyExists) that makes a writer read and merge. A body that is not such
// a ConfigMap is read as a damaged value (a Warning; the rest is read), and
// so is an object larger than a read takes (16 MiB, far beyond a shard):
// readers warn and go on, a writer writes the hour anew over it. The
// original tool's objects exist only in the ConfigMap store; a copy into S3
// (ashiato store copy) re-encodes them.
//
// Readers of a range of hours (the history query, retention) let the API
// server pick the hours: the hour label is ten digits, so a label selector
// compares it as a number (pod-ashiato/hour<2026112614), which HoursSelector
// builds; the original tool's objects, which have no hour label, are selected
// with UnlabelledSelector and told apart by name. Keep the label a fixed-width
// number that orders as time does.
package store
