package s3store

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pod-ashiato/ashiato/src/store"
)

// AnnotationCluster names the cluster on every object of the S3 store, so an
// object copied elsewhere still says whose it is.
const AnnotationCluster = "pod-ashiato/cluster"

// maxBody bounds what a read takes of one object: a shard is at most about
// 1 MiB of values, a little more as JSON.
const maxBody = 16 << 20

// body is an object's content: the shard as a Kubernetes ConfigMap in JSON,
// with no namespace, resourceVersion or other server fields, so that
// `kubectl apply -n NS -f` restores it into the ConfigMap store as it is.
type body struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   bodyMeta          `json:"metadata"`
	Data       map[string]string `json:"data,omitempty"`
	BinaryData map[string][]byte `json:"binaryData,omitempty"`
}

type bodyMeta struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// encodeBody is cm's content as stored, with the cluster annotation.
func encodeBody(cm *corev1.ConfigMap, cluster string) ([]byte, map[string]string, error) {
	annotations := maps.Clone(cm.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AnnotationCluster] = cluster
	b, err := json.Marshal(body{
		APIVersion: "v1", Kind: "ConfigMap",
		Metadata: bodyMeta{Name: cm.Name, Labels: cm.Labels, Annotations: annotations},
		Data:     cm.Data, BinaryData: cm.BinaryData,
	})
	return b, annotations, err
}

// decodeBody is the object read at name back as a ConfigMap. A body that is
// not a ConfigMap is read as an object holding one key the codec warns about
// and skips, naming what is wrong, as it does a damaged value: the rest of
// the hour is still read.
func decodeBody(name string, raw []byte, etag string) *corev1.ConfigMap {
	var b body
	err := json.Unmarshal(raw, &b)
	if err == nil && (b.APIVersion != "v1" || b.Kind != "ConfigMap") {
		err = fmt.Errorf("apiVersion %q kind %q, want v1 ConfigMap", b.APIVersion, b.Kind)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: etag}}
	if err != nil {
		hour, shard, _ := store.ParseName(name)
		cm.Labels = map[string]string{
			store.LabelApp: store.LabelAppValue, store.LabelType: store.LabelTypeValue,
			store.LabelHour: hour.Format("2006010215"), store.LabelShard: strconv.Itoa(shard),
		}
		cm.Data = map[string]string{"unreadable S3 object (" + truncate(err.Error(), 200) + ")": ""}
		return cm
	}
	cm.Labels, cm.Annotations, cm.Data, cm.BinaryData = b.Metadata.Labels, b.Metadata.Annotations, b.Data, b.BinaryData
	return cm
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
