package main

import "testing"

func TestRepoName(t *testing.T) {
	for path, want := range map[string]string{
		"github.com/sirupsen/logrus":           "com_github_sirupsen_logrus",
		"k8s.io/client-go":                     "io_k8s_client_go",
		"sigs.k8s.io/structured-merge-diff/v6": "io_k8s_sigs_structured_merge_diff_v6",
		"gopkg.in/evanphx/json-patch.v4":       "in_gopkg_evanphx_json_patch_v4",
		"go.yaml.in/yaml/v3":                   "in_yaml_go_yaml_v3",
		"github.com/Azure/go-autorest":         "com_github_azure_go_autorest",
		"golang.org/x/sync":                    "org_golang_x_sync",
		"k8s.io/klog/v2":                       "io_k8s_klog_v2",
	} {
		if got := repoName(path); got != want {
			t.Errorf("repoName(%q) = %q, want %q", path, got, want)
		}
	}
}
