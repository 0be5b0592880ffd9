package source

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pod-ashiato/ashiato/src/record"
)

// benchPod is a pod as the API server returns it (from tools/bench's
// cluster): managed fields, defaulted spec, four conditions.
const benchPod = `{"metadata":{"name":"app-0000-8dqvk95dw2-2gj9g","namespace":"team-00","uid":"d0f13fe9-d79f-4d8a-96db-326f84d185c2","resourceVersion":"10361","generation":1,"creationTimestamp":"2026-11-26T10:23:48Z","labels":{"app":"app-0000"},"managedFields":[{"manager":"cost13-bench","operation":"Update","apiVersion":"v1","time":"2026-11-26T10:23:48Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:nodeName":{}}}}]},"spec":{"containers":[{"name":"app","image":"registry.k8s.io/pause:3.10","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],"restartPolicy":"Always","terminationGracePeriodSeconds":0,"dnsPolicy":"ClusterFirst","nodeName":"node-0020","securityContext":{},"schedulerName":"default-scheduler","tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],"priority":0,"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"},"status":{"phase":"Running","conditions":[{"type":"PodScheduled","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-26T10:23:48Z"},{"type":"Initialized","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-26T10:23:48Z"},{"type":"ContainersReady","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-26T10:23:48Z"},{"type":"Ready","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-26T10:23:48Z"}],"hostIP":"172.18.2.156","hostIPs":[{"ip":"172.18.2.156"}],"podIP":"10.0.0.37","podIPs":[{"ip":"10.0.0.37"}],"startTime":"2026-11-26T10:23:48Z","containerStatuses":[{"name":"app","state":{"running":{"startedAt":"2026-11-26T10:23:48Z"}},"ready":true,"restartCount":0,"image":"registry.k8s.io/pause:3.10","imageID":"","started":true}],"qosClass":"BestEffort"}}`

func protoPods(t testing.TB) map[string]*corev1.Pod {
	t.Helper()
	var real corev1.Pod
	if err := json.Unmarshal([]byte(benchPod), &real); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	at := metav1.NewTime(time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC))
	epoch := metav1.NewTime(time.Unix(0, 0))
	nanos := metav1.NewTime(time.Date(2026, 11, 26, 13, 0, 0, 999, time.UTC))
	owners := func(refs ...metav1.OwnerReference) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "n", Name: "p", OwnerReferences: refs}}
	}
	return map[string]*corev1.Pod{
		"as the API server returns it": &real,
		"empty":                        {},
		"pending, no node":             {ObjectMeta: metav1.ObjectMeta{Namespace: "n", Name: "p"}, Status: corev1.PodStatus{Phase: corev1.PodPending}},
		"controller second":            owners(metav1.OwnerReference{Kind: "ConfigMap", Name: "c"}, metav1.OwnerReference{Kind: "StatefulSet", Name: "s", Controller: &yes}),
		"controller false: the first":  owners(metav1.OwnerReference{Kind: "Job", Name: "j", Controller: &no}, metav1.OwnerReference{Kind: "X", Name: "x"}),
		"one owner, no flag":           owners(metav1.OwnerReference{Kind: "Job", Name: "j"}),
		"controller last":              owners(metav1.OwnerReference{Kind: "A", Name: "a"}, metav1.OwnerReference{Kind: "B", Name: "b", Controller: &yes}),
		"times: epoch, zero, nanos": {Status: corev1.PodStatus{StartTime: &epoch, Conditions: []corev1.PodCondition{
			{Type: "Ready", Status: "False"}, {Type: "X", Status: "True", LastTransitionTime: nanos}, {LastTransitionTime: at}}}},
		"unicode and long strings": {ObjectMeta: metav1.ObjectMeta{Namespace: "名前空間", Name: string(make([]byte, 300)), UID: "ü"},
			Spec: corev1.PodSpec{NodeName: "node-\u2028"}, Status: corev1.PodStatus{PodIP: "fd00::1", HostIP: "fd00::2"}},
	}
}

// protoPod makes of every pod what FromPod makes of the pod decoded whole.
func TestProtoPod(t *testing.T) {
	seen := time.Date(2026, 11, 26, 14, 0, 0, 0, time.FixedZone("X", 3600))
	var pp protoPod
	for name, pod := range protoPods(t) {
		t.Run(name, func(t *testing.T) {
			data, err := pod.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			var decoded corev1.Pod
			if err := decoded.Unmarshal(data); err != nil {
				t.Fatal(err)
			}
			want := FromPod(&decoded, seen, record.EventSnapshot)
			for range 2 { // the second time from the interned strings
				got, err := pp.record(data, seen, record.EventSnapshot)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("protoPod\n got %+v\nwant %+v", got, want)
				}
			}
			// A pod cut short is an error, never a panic.
			for cut := range len(data) {
				_, _ = pp.record(data[:cut], seen, record.EventSnapshot)
			}
		})
	}
}

func BenchmarkProtoPod(b *testing.B) {
	data, err := protoPods(b)["as the API server returns it"].Marshal()
	if err != nil {
		b.Fatal(err)
	}
	var pp protoPod
	seen := time.Now()
	for b.Loop() {
		if _, err := pp.record(data, seen, record.EventSnapshot); err != nil {
			b.Fatal(err)
		}
	}
}

// What protoPod saves: decoding the whole pod, then FromPod.
func BenchmarkUnmarshalPod(b *testing.B) {
	data, err := protoPods(b)["as the API server returns it"].Marshal()
	if err != nil {
		b.Fatal(err)
	}
	seen := time.Now()
	for b.Loop() {
		var pod corev1.Pod
		if err := pod.Unmarshal(data); err != nil {
			b.Fatal(err)
		}
		_ = FromPod(&pod, seen, record.EventSnapshot)
	}
}
