package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nodeRec is a node lifecycle line of ashiato's stdout, decoded strictly: the
// schema docs/recorder.md documents.
type nodeRec struct {
	Event     string            `json:"event"`
	Node      string            `json:"node_name"`
	Timestamp string            `json:"timestamp"`
	Reason    string            `json:"reason"`
	Labels    map[string]string `json:"labels"` // the allow-listed node labels, when the node has any
	Level     string            `json:"level"`
	Msg       string            `json:"msg"`
}

// isNodeRecord reports whether line is a node lifecycle record, failing the
// test if it says it is one but does not keep to the schema.
func isNodeRecord(t *testing.T, line string) bool {
	t.Helper()
	if !strings.Contains(line, `"msg":"node lifecycle"`) {
		return false
	}
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	var r nodeRec
	if err := dec.Decode(&r); err != nil || r.Msg != "node lifecycle" || r.Node == "" || !strings.HasPrefix(r.Event, "node_") {
		t.Fatalf("not a node lifecycle record (%v): %q", err, line)
	}
	if _, err := time.Parse(time.RFC3339, r.Timestamp); err != nil || !strings.HasSuffix(r.Timestamp, "Z") {
		t.Fatalf("node record timestamp %q is not RFC 3339 UTC", r.Timestamp)
	}
	return true
}

// parseNodeRecords returns the node lifecycle records of stdout, in order.
func parseNodeRecords(t *testing.T, stdout string) []nodeRec {
	t.Helper()
	var out []nodeRec
	for line := range strings.SplitSeq(stdout, "\n") {
		if line == "" || !isNodeRecord(t, line) {
			continue
		}
		var r nodeRec
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// grantNodeReader lets a service account get, list and watch nodes, as the
// ClusterRole of k8s/base does.
func grantNodeReader(t *testing.T, namespace, sa string) {
	t.Helper()
	name := "node-reader-" + namespace + "-" + sa
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get", "list", "watch"}}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: namespace, Name: sa}},
	}
	if _, err := client.RbacV1().ClusterRoles().Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
