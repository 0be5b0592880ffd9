package e2e

import (
	"bytes"
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/pod-ashiato/ashiato/e2e/s3server"
)

// TestS3Component: k8s/components/s3 (and s3-irsa), added to the base and to
// the production overlay as docs/s3.md says, renders with kubectl kustomize
// and passes a server-side dry run. The Deployment stores in S3 (not in
// ConfigMaps as well), takes its settings from the ConfigMap an overlay
// patches (and, run with exactly those args against SeaweedFS, stores there), its keys from an optional Secret, and its CA from an optional
// ConfigMap; with s3-irsa the ServiceAccount carries the role annotation.
func TestS3Component(t *testing.T) {
	requireCluster(t)
	k8s := copyDir(t, filepath.Join(repoRoot(), "k8s"))
	overlay := func(name, kustomization string) []byte {
		t.Helper()
		dir := filepath.Join(k8s, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
			t.Fatal(err)
		}
		return kubectl(t, nil, "kustomize", dir)
	}
	// As the component's comment tells an overlay to set the bucket.
	settings := `patches:
  - patch: |-
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: pod-ashiato-s3, namespace: pod-ashiato}
      data:
        S3_BUCKET: my-bucket
        CLUSTER_NAME: prod-eu-1
`
	cases := []struct {
		name, kustomization string
		irsa, leader        bool
	}{
		{"s3-on-base", "resources:\n  - ../base\ncomponents:\n  - ../components/s3\n" + settings, false, false},
		{"s3-irsa-on-production", "resources:\n  - ../overlays/production\ncomponents:\n  - ../components/s3\n  - ../components/s3-irsa\n" + settings, true, true},
	}
	// A dry run cannot create objects inside a namespace it only pretends to
	// create, so the base goes in for real first (as TestManifests does).
	kubectl(t, render(t, "base"), "apply", "--server-side", "-f", "-")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rendered := overlay(c.name, c.kustomization)
			dep, cm, sa := s3Objects(t, rendered)
			ctr := dep.Spec.Template.Spec.Containers[0]
			args := strings.Join(ctr.Args, " ")
			for _, want := range []string{"--store=s3", "--s3-bucket=$(S3_BUCKET)", "--s3-region=$(S3_REGION)", "--s3-prefix=$(S3_PREFIX)",
				"--s3-endpoint=$(S3_ENDPOINT)", "--cluster-name=$(CLUSTER_NAME)", "--cm-namespace=pod-ashiato"} {
				if !strings.Contains(args, want) {
					t.Errorf("args %q lack %s", args, want)
				}
			}
			if strings.Contains(args, "--store-in-cm") {
				t.Errorf("args %q still store in ConfigMaps as well", args)
			}
			if got := strings.Contains(args, "--leader-elect"); got != c.leader {
				t.Errorf("--leader-elect in args: %v, want %v", got, c.leader)
			}
			if cm == nil || cm.Data["S3_BUCKET"] != "my-bucket" || cm.Data["CLUSTER_NAME"] != "prod-eu-1" || cm.Data["S3_REGION"] != "us-east-1" {
				t.Errorf("settings ConfigMap %+v: want the overlay's bucket and cluster patched over the component's region", cm)
			}
			if len(ctr.EnvFrom) != 1 || ctr.EnvFrom[0].ConfigMapRef == nil || cm == nil || ctr.EnvFrom[0].ConfigMapRef.Name != cm.Name {
				t.Errorf("envFrom %+v: want the settings ConfigMap (hashed name)", ctr.EnvFrom)
			}
			keys := map[string]bool{}
			for _, e := range ctr.Env {
				if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil && r.SecretKeyRef.Name == "pod-ashiato-s3" && r.SecretKeyRef.Optional != nil && *r.SecretKeyRef.Optional {
					keys[e.Name] = true
				}
			}
			if !keys["AWS_ACCESS_KEY_ID"] || !keys["AWS_SECRET_ACCESS_KEY"] {
				t.Errorf("env %+v: want both keys from the optional Secret pod-ashiato-s3", ctr.Env)
			}
			var ca bool
			for _, v := range dep.Spec.Template.Spec.Volumes {
				ca = ca || (v.ConfigMap != nil && v.ConfigMap.Name == "pod-ashiato-s3-ca" && v.ConfigMap.Optional != nil && *v.ConfigMap.Optional)
			}
			if !ca {
				t.Error("no optional CA bundle volume from ConfigMap pod-ashiato-s3-ca")
			}
			role := sa.Annotations["eks.amazonaws.com/role-arn"]
			if c.irsa != (role != "") {
				t.Errorf("ServiceAccount role annotation %q with s3-irsa %v", role, c.irsa)
			}
			if c.name == "s3-on-base" {
				runRenderedArgs(t, ctr.Args, cm.Data)
			}
			out := kubectl(t, rendered, "apply", "--server-side", "--dry-run=server", "-f", "-")
			for _, want := range []string{"deployment.apps/pod-ashiato", "configmap/" + cm.Name, "serviceaccount/pod-ashiato"} {
				if !bytes.Contains(out, []byte(want)) {
					t.Errorf("dry run did not apply %s:\n%s", want, out)
				}
			}
		})
	}
}

// runRenderedArgs runs ashiato --oneshot with the args the component renders,
// their $(VAR)s expanded as the kubelet does from the settings (endpoint and
// bucket pointed at a real SeaweedFS), and the AWS keys in the environment as
// the Secret would put them: the pods are stored in S3 under the cluster name
// the settings give.
func runRenderedArgs(t *testing.T, args []string, settings map[string]string) {
	t.Helper()
	srv := s3server.StartT(t, s3server.Options{})
	vars := maps.Clone(settings)
	vars["S3_ENDPOINT"], vars["S3_BUCKET"] = srv.Endpoint, srv.Bucket
	ref := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	expanded := make([]string, len(args))
	for i, a := range args {
		expanded[i] = ref.ReplaceAllStringFunc(a, func(m string) string {
			if v, ok := vars[m[2:len(m)-1]]; ok {
				return v
			}
			return m // the kubelet leaves an unknown reference as it is
		})
	}
	ns := faultName("s3-component")
	nodeNames := nodes("s3-component", 2)
	pods := faultPods(ns, "p", 0, 6, nodeNames)
	faultSeed(t, []string{ns}, pods)
	// Last flag wins: only where it runs and what it reads differ from the pod's.
	argv := append(expanded, "--oneshot", "--namespace", ns, "--metrics-addr", freeAddr(t), "--kubeconfig", kubeconfig)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ashiatoBin, argv...)
	cmd.Env = append(os.Environ(), srv.Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ashiato %s: %v\n%.3000s", strings.Join(argv, " "), err, out)
	}
	st := s3StoreOf(t, srv, settings["CLUSTER_NAME"])
	if stored := st.stored(t, srv.Endpoint, nodeNames); !faultHasAll(stored, pods) {
		t.Errorf("the rendered args stored %v in S3, want all of %v", stored, pods)
	}
}

// s3Objects picks the Deployment pod-ashiato, the ConfigMap pod-ashiato-s3-*
// and the ServiceAccount pod-ashiato out of rendered manifests.
func s3Objects(t *testing.T, rendered []byte) (*appsv1.Deployment, *corev1.ConfigMap, *corev1.ServiceAccount) {
	t.Helper()
	var (
		dep *appsv1.Deployment
		cm  *corev1.ConfigMap
		sa  *corev1.ServiceAccount
	)
	for _, doc := range strings.Split(string(rendered), "\n---\n") {
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("rendered document: %v\n%s", err, doc)
		}
		var into any
		switch {
		case meta.Kind == "Deployment" && meta.Metadata.Name == "pod-ashiato":
			dep = &appsv1.Deployment{}
			into = dep
		case meta.Kind == "ConfigMap" && strings.HasPrefix(meta.Metadata.Name, "pod-ashiato-s3-"):
			cm = &corev1.ConfigMap{}
			into = cm
		case meta.Kind == "ServiceAccount" && meta.Metadata.Name == "pod-ashiato":
			sa = &corev1.ServiceAccount{}
			into = sa
		default:
			continue
		}
		if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
			t.Fatalf("%s %s: %v", meta.Kind, meta.Metadata.Name, err)
		}
	}
	if dep == nil || sa == nil || len(dep.Spec.Template.Spec.Containers) == 0 {
		t.Fatalf("rendered manifests lack the Deployment or ServiceAccount pod-ashiato:\n%s", rendered)
	}
	return dep, cm, sa
}
