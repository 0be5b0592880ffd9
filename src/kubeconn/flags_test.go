package kubeconn

import (
	"strings"
	"testing"

	"github.com/pod-ashiato/ashiato/src/s3store"
)

func TestSanitizeCluster(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "default",
		"prod":               "prod",
		"kind-kind":          "kind-kind",
		"Admin@Prod.example": "admin-prod.example",
		"arn:aws:eks:eu-west-1:1234:cluster/prod-1": "arn-aws-eks-eu-west-1-1234-cluster-prod-1",
		"___":                               "default",
		strings.Repeat("a", 60) + "/xyz-12": "a" + strings.Repeat("a", 55) + "-xyz-12",
	} {
		if got := SanitizeCluster(in); got != want || s3store.ValidCluster(got) != nil {
			t.Errorf("SanitizeCluster(%q) = %q, want %q", in, got, want)
		}
	}
}
