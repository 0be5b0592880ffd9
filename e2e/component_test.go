package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/pod-ashiato/ashiato/e2e/monitoring"
)

// monitoringCRDs are the two prometheus-operator CRDs the component's objects
// need, reduced to the fields the component uses, typed as upstream types
// them. The test API server has no operator; kubectl's default strict field
// validation then rejects any field these schemas lack, so a misspelt field
// of ours fails the dry run. They are not the upstream CRDs (which would be
// 1 MB of vendored YAML): a field upstream has and these lack would fail
// here too, and is added when the component starts using it.
const monitoringCRDs = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: prometheusrules.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: PrometheusRule, listKind: PrometheusRuleList, plural: prometheusrules, singular: prometheusrule}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                groups:
                  type: array
                  items:
                    type: object
                    required: [name, rules]
                    properties:
                      name: {type: string}
                      interval: {type: string}
                      rules:
                        type: array
                        items:
                          type: object
                          required: [expr]
                          properties:
                            alert: {type: string}
                            record: {type: string}
                            expr: {x-kubernetes-int-or-string: true}
                            for: {type: string}
                            keep_firing_for: {type: string}
                            labels: {type: object, additionalProperties: {type: string}}
                            annotations: {type: object, additionalProperties: {type: string}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: podmonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: PodMonitor, listKind: PodMonitorList, plural: podmonitors, singular: podmonitor}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [selector]
              properties:
                jobLabel: {type: string}
                selector:
                  type: object
                  properties:
                    matchLabels: {type: object, additionalProperties: {type: string}}
                namespaceSelector:
                  type: object
                  properties:
                    any: {type: boolean}
                    matchNames: {type: array, items: {type: string}}
                podMetricsEndpoints:
                  type: array
                  items:
                    type: object
                    properties:
                      port: {type: string}
                      path: {type: string}
                      interval: {type: string}
                      scrapeTimeout: {type: string}
                      honorLabels: {type: boolean}
`

// TestMonitoringComponent: k8s/components/monitoring, added to the base,
// renders with kubectl kustomize and passes a server-side dry run against the
// test API server, into which the test installs the minimal CRDs above. The
// dashboard ConfigMap carries the shipped JSON and the sidecar's label.
func TestMonitoringComponent(t *testing.T) {
	requireCluster(t)
	k8s := copyDir(t, filepath.Join(repoRoot(), "k8s"))
	dir := filepath.Join(k8s, "monitored")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	kustomization := "resources:\n  - ../base\ncomponents:\n  - ../components/monitoring\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
		t.Fatal(err)
	}
	rendered := kubectl(t, nil, "kustomize", dir)
	for _, want := range []string{"kind: PrometheusRule", "kind: PodMonitor", "name: pod-ashiato-dashboard", "grafana_dashboard: \"1\"", "kind: Deployment"} {
		if !bytes.Contains(rendered, []byte(want)) {
			t.Errorf("the rendered manifests lack %q", want)
		}
	}
	// The dashboard goes into the ConfigMap as it is: spot-check its first line
	// of JSON content inside the rendered block scalar.
	dashboard, err := os.ReadFile(filepath.Join(repoRoot(), monitoring.Dashboard))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(rendered, []byte(`"uid": "pod-ashiato"`)) || len(dashboard) == 0 {
		t.Error("the dashboard ConfigMap does not carry the dashboard")
	}

	kubectl(t, []byte(monitoringCRDs), "apply", "--server-side", "-f", "-")
	t.Cleanup(func() {
		kubectl(t, nil, "delete", "crd", "prometheusrules.monitoring.coreos.com", "podmonitors.monitoring.coreos.com", "--wait=false")
	})
	kubectl(t, nil, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/prometheusrules.monitoring.coreos.com", "crd/podmonitors.monitoring.coreos.com")
	// A dry run cannot create objects inside a namespace it only pretends to
	// create, so the base goes in for real first (as TestManifests does).
	kubectl(t, render(t, "base"), "apply", "--server-side", "-f", "-")
	out := kubectl(t, rendered, "apply", "--server-side", "--dry-run=server", "-f", "-")
	for _, want := range []string{"prometheusrule.monitoring.coreos.com/pod-ashiato", "podmonitor.monitoring.coreos.com/pod-ashiato", "configmap/pod-ashiato-dashboard"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("dry run did not apply %s:\n%s", want, out)
		}
	}
}

// TestServeS3Component: components/serve with components/s3 and
// components/serve/s3 renders, and the view's container reads the S3 store
// with the recorder's settings, keys and CA: --store=s3 and the --s3-* flags
// from the generated pod-ashiato-s3 ConfigMap (its hashed name), the keys
// from the Secret, the CA mounted.
func TestServeS3Component(t *testing.T) {
	k8s := copyDir(t, filepath.Join(repoRoot(), "k8s"))
	dir := filepath.Join(k8s, "serve-s3")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	kustomization := "resources:\n  - ../base\ncomponents:\n  - ../components/s3\n  - ../components/serve\n  - ../components/serve/s3\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
		t.Fatal(err)
	}
	rendered := kubectl(t, nil, "kustomize", dir)
	var serve *appsv1.Deployment
	for _, doc := range bytes.Split(rendered, []byte("\n---\n")) {
		var d appsv1.Deployment
		if err := yaml.Unmarshal(doc, &d); err == nil && d.Kind == "Deployment" && d.Name == "pod-ashiato-serve" {
			serve = &d
		}
	}
	if serve == nil {
		t.Fatalf("no pod-ashiato-serve Deployment in\n%s", rendered)
	}
	c := serve.Spec.Template.Spec.Containers[0]
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"serve --authentication=kubernetes --addr=:8080 --store=s3", "--s3-bucket=$(S3_BUCKET)", "--s3-region=$(S3_REGION)", "--s3-prefix=$(S3_PREFIX)", "--s3-endpoint=$(S3_ENDPOINT)"} {
		if !strings.Contains(args, want) {
			t.Errorf("serve args %q lack %q", args, want)
		}
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].ConfigMapRef == nil || !strings.HasPrefix(c.EnvFrom[0].ConfigMapRef.Name, "pod-ashiato-s3-") {
		t.Errorf("serve envFrom %+v, want the generated pod-ashiato-s3 ConfigMap", c.EnvFrom)
	}
	keys := map[string]bool{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == "pod-ashiato-s3" {
			keys[e.Name] = true
		}
	}
	if !keys["AWS_ACCESS_KEY_ID"] || !keys["AWS_SECRET_ACCESS_KEY"] {
		t.Errorf("serve env %+v lacks the keys from Secret pod-ashiato-s3", c.Env)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/etc/pod-ashiato/s3-ca" {
		t.Errorf("serve volume mounts %+v, want the S3 CA", c.VolumeMounts)
	}
}
