package filter

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pod-ashiato/ashiato/src/record"
)

// Owner kinds a pod can have, as --owner-kind and --exclude-owner-kind take
// them. A pod's kind is the record's owner_kind (its controlling owner); two
// kinds are derived from it:
//   - CronJob: a Job that a CronJob created. A pod is owned by the Job, never by
//     the CronJob, and says nothing of the CronJob itself; the CronJob
//     controller names its Jobs <cronjob>-<scheduled time in minutes since
//     1970>, so a Job whose name ends in 8 digits that are such a time since
//     2016 (when CronJobs began) is taken as a CronJob's. A hand-made Job named
//     like that counts as a CronJob's too; one named with a date (x-20261126)
//     does not.
//   - None: a pod without an owner (a bare pod).
//
// Deployment is refused with a hint rather than guessed: its pods are owned
// by its ReplicaSets, and a ReplicaSet's name does not tell whether a
// Deployment made it.
const (
	KindCronJob = "CronJob"
	KindNone    = "None"
)

var ownerKinds = []string{"ReplicaSet", "StatefulSet", "DaemonSet", "Job", KindCronJob, "ReplicationController", "Node", KindNone}

// notOwners are kinds people ask for that never own a pod directly.
var notOwners = map[string]string{
	"deployment": "pods of a Deployment are owned by its ReplicaSets: use ReplicaSet",
	"pod":        "use None for pods without an owner",
}

// cronJobEpoch is 2016-01-01T00:00:00Z in minutes since 1970: a CronJob's Job
// suffix is a scheduled time after it.
const cronJobEpoch = 1451606400 / 60

// canonicalKind returns the known kind for s, matched without regard to case.
func canonicalKind(flagName, s string) (string, error) {
	for _, k := range ownerKinds {
		if strings.EqualFold(k, s) {
			return k, nil
		}
	}
	if why, ok := notOwners[strings.ToLower(s)]; ok {
		return "", fmt.Errorf("invalid %s %q: %s", flagName, s, why)
	}
	return "", fmt.Errorf("invalid %s %q: want one of %s", flagName, s, strings.Join(ownerKinds, ", "))
}

// kindsOf is every kind the pod of r counts as: its owner's kind, and CronJob
// too for a CronJob's Job.
func kindsOf(r record.Placement) []string {
	switch {
	case r.OwnerKind == "":
		return []string{KindNone}
	case r.OwnerKind == "Job" && isCronJobName(r.OwnerName):
		return []string{"Job", KindCronJob}
	default:
		return []string{r.OwnerKind}
	}
}

// isCronJobName tells whether a Job's name is <cronjob>-<minutes>, as the
// CronJob controller names them (getJobName in k8s.io/kubernetes
// pkg/controller/cronjob). Minutes since 1970 have 8 digits until 2160.
func isCronJobName(name string) bool {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || len(name)-i-1 != 8 {
		return false
	}
	minutes, err := strconv.ParseUint(name[i+1:], 10, 64)
	return err == nil && minutes >= cronJobEpoch
}

// OwnerKinds keeps pods whose owner is of one of the kinds (--owner-kind).
type OwnerKinds []string

// Keep implements Filter.
func (k OwnerKinds) Keep(r record.Placement) bool {
	for _, kind := range kindsOf(r) {
		if slices.Contains(k, kind) {
			return true
		}
	}
	return false
}

func (k OwnerKinds) String() string { return "owner kind in " + strings.Join(k, ",") }

// NotOwnerKinds drops pods whose owner is of one of the kinds (--exclude-owner-kind).
type NotOwnerKinds []string

// Keep implements Filter.
func (k NotOwnerKinds) Keep(r record.Placement) bool { return !OwnerKinds(k).Keep(r) }

func (k NotOwnerKinds) String() string { return "owner kind not in " + strings.Join(k, ",") }
