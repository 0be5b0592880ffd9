package source

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/pod-ashiato/ashiato/src/record"
)

// Protobuf field numbers of what FromPod reads, from the generated.proto files
// of k8s.io/api/core/v1 and k8s.io/apimachinery/pkg/apis/meta/v1. Every other
// field of a pod (its spec but the node, labels, managed fields, container
// statuses) is skipped without being decoded.
const (
	podMetadata = 1 // Pod.metadata: ObjectMeta
	podSpec     = 2 // Pod.spec: PodSpec
	podStatus   = 3 // Pod.status: PodStatus

	metaName      = 1  // ObjectMeta.name
	metaNamespace = 3  // ObjectMeta.namespace
	metaUID       = 5  // ObjectMeta.uid
	metaOwners    = 13 // ObjectMeta.ownerReferences

	ownerKind       = 1 // OwnerReference.kind
	ownerName       = 3 // OwnerReference.name
	ownerController = 6 // OwnerReference.controller

	specNodeName = 10 // PodSpec.nodeName

	statusPhase      = 1 // PodStatus.phase
	statusConditions = 2 // PodStatus.conditions
	statusHostIP     = 5 // PodStatus.hostIP
	statusPodIP      = 6 // PodStatus.podIP
	statusStartTime  = 7 // PodStatus.startTime: Time

	conditionType           = 1 // PodCondition.type
	conditionStatus         = 2 // PodCondition.status
	conditionLastTransition = 4 // PodCondition.lastTransitionTime: Time

	timeSeconds = 1 // Time.seconds (nanos are not sent: metav1.Time keeps seconds)
)

// protoPod turns one protobuf-encoded pod into the record FromPod would make
// of it, reading only the fields FromPod reads. It is several times faster
// than decoding the whole pod, and allocates only the strings it keeps; the
// strings many pods share go through the interner. TestProtoPod checks it
// against FromPod over the decoded pod.
type protoPod struct {
	strings interner
}

// record decodes buf, a Pod message.
func (pp *protoPod) record(buf []byte, seen time.Time, event record.Event) (record.Placement, error) {
	p := record.Placement{Timestamp: seen.UTC(), Event: event}
	var owners []owner
	err := fields(buf, func(field uint64, wire byte, v []byte, _ uint64) error {
		switch field {
		case podMetadata:
			return fields(v, func(field uint64, wire byte, v []byte, _ uint64) error {
				switch field {
				case metaName:
					p.Pod = string(v)
				case metaNamespace:
					p.Namespace = pp.strings.get(v)
				case metaUID:
					p.UID = string(v)
				case metaOwners:
					var o owner
					err := fields(v, func(field uint64, wire byte, v []byte, n uint64) error {
						switch field {
						case ownerKind:
							o.kind = v
						case ownerName:
							o.name = v
						case ownerController:
							o.controller = wire == wireVarint && n != 0
						}
						return nil
					})
					owners = append(owners, o)
					return err
				}
				return nil
			})
		case podSpec:
			return fields(v, func(field uint64, wire byte, v []byte, _ uint64) error {
				if field == specNodeName {
					p.Node = pp.strings.get(v)
				}
				return nil
			})
		case podStatus:
			return fields(v, func(field uint64, wire byte, v []byte, _ uint64) error {
				switch field {
				case statusPhase:
					p.Phase = pp.strings.get(v)
				case statusHostIP:
					p.HostIP = pp.strings.get(v)
				case statusPodIP:
					p.PodIP = string(v)
				case statusStartTime:
					t, err := protoTime(v)
					p.StartTime = t
					return err
				case statusConditions:
					var c record.Condition
					err := fields(v, func(field uint64, wire byte, v []byte, _ uint64) error {
						switch field {
						case conditionType:
							c.Type = pp.strings.get(v)
						case conditionStatus:
							c.Status = pp.strings.get(v)
						case conditionLastTransition:
							t, err := protoTime(v)
							c.LastTransitionTime = t
							return err
						}
						return nil
					})
					p.Conditions = append(p.Conditions, c)
					return err
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("decoding a pod: %w", err)
	}
	// As ownerOf: the controlling owner, else the first.
	for i, o := range owners {
		if o.controller || i == len(owners)-1 {
			if !o.controller {
				o = owners[0]
			}
			p.OwnerKind, p.OwnerName = pp.strings.get(o.kind), string(o.name)
			break
		}
	}
	return p, nil
}

type owner struct {
	kind, name []byte
	controller bool
}

// protoTime decodes a metav1.Time as its Unmarshal does: empty is the zero
// time, else the seconds (in UTC, as FromPod gives times).
func protoTime(v []byte) (time.Time, error) {
	if len(v) == 0 {
		return time.Time{}, nil
	}
	var sec int64
	err := fields(v, func(field uint64, wire byte, _ []byte, n uint64) error {
		if field == timeSeconds && wire == wireVarint {
			sec = int64(n)
		}
		return nil
	})
	return time.Unix(sec, 0).UTC(), err
}

var errTruncated = errors.New("truncated protobuf message")

// fields calls fn for each field of the message in buf: its number, wire type
// and, for a length-delimited field, its bytes (a slice of buf), for a varint
// its value.
func fields(buf []byte, fn func(field uint64, wire byte, v []byte, n uint64) error) error {
	for len(buf) > 0 {
		key, k := binary.Uvarint(buf)
		if k <= 0 {
			return errTruncated
		}
		buf = buf[k:]
		field, wire := key>>3, byte(key&7)
		var v []byte
		var n uint64
		switch wire {
		case wireVarint:
			if n, k = binary.Uvarint(buf); k <= 0 {
				return errTruncated
			}
			buf = buf[k:]
		case wireI64, wireI32:
			size := 8
			if wire == wireI32 {
				size = 4
			}
			if len(buf) < size {
				return errTruncated
			}
			buf = buf[size:]
		case wireBytes:
			l, k := binary.Uvarint(buf)
			if k <= 0 || l > uint64(len(buf)-k) {
				return errTruncated
			}
			v, buf = buf[k:k+int(l)], buf[k+int(l):]
		default:
			return fmt.Errorf("unexpected protobuf wire type %d", wire)
		}
		if err := fn(field, wire, v, n); err != nil {
			return err
		}
	}
	return nil
}

// interner keeps one copy of the strings that many pods share (namespace,
// node, host IP, phase, owner kind, condition types and statuses), so that
// decoding them allocates nothing after the first pod that has them. It
// starts over when full, which costs sharing, never correctness.
type interner map[string]string

func (in *interner) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := (*in)[string(b)]; ok { // no allocation for the lookup
		return s
	}
	if *in == nil || len(*in) >= maxInterned {
		*in = make(interner)
	}
	s := string(b)
	(*in)[s] = s
	return s
}
