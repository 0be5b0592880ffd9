package s3store

import (
	"encoding/json"
	"fmt"
	"maps"

	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
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

// encodeBody is the shard's content as stored, with the store's labels
// (store.Labels) and the cluster annotation.
func encodeBody(cm *storeio.Shard, cluster string) ([]byte, map[string]string, error) {
	annotations := maps.Clone(cm.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AnnotationCluster] = cluster
	b, err := json.Marshal(body{
		APIVersion: "v1", Kind: "ConfigMap",
		Metadata: bodyMeta{Name: cm.Name, Labels: store.Labels(cm), Annotations: annotations},
		Data:     cm.Data, BinaryData: cm.BinaryData,
	})
	return b, annotations, err
}

// decodeBody is the object read at name back as a shard: its hour and index
// from its labels (store.FromLabels). A body that is not a ConfigMap is read
// as a shard holding one key the codec warns about and skips, naming what is
// wrong, as it does a damaged value: the rest of the hour is still read.
func decodeBody(name string, raw []byte, etag string) *storeio.Shard {
	var b body
	err := json.Unmarshal(raw, &b)
	if err == nil && (b.APIVersion != "v1" || b.Kind != "ConfigMap") {
		err = fmt.Errorf("apiVersion %q kind %q, want v1 ConfigMap", b.APIVersion, b.Kind)
	}
	cm := &storeio.Shard{Name: name, Version: etag}
	if err != nil {
		cm.Hour, cm.Index, _ = store.ParseName(name)
		cm.Data = map[string]string{"unreadable S3 object (" + truncate(err.Error(), 200) + ")": ""}
		return cm
	}
	cm.Hour, cm.Index, cm.Legacy = store.FromLabels(name, b.Metadata.Labels)
	cm.Labels = store.OtherLabels(b.Metadata.Labels)
	cm.Annotations, cm.Data, cm.BinaryData = b.Metadata.Annotations, b.Data, b.BinaryData
	return cm
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
