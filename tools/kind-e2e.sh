#!/usr/bin/env bash
# kind-e2e.sh runs the e2e suite against a kind cluster, on a machine that has
# Docker, kind, kubectl and Bazel (our own machines have none of Docker and
# Bazel, so this script is not exercised in CI; CI runs the same suite against
# the local control plane instead).
#
#   bash tools/kind-e2e.sh            create the cluster, deploy, test, delete
#   KEEP=1 bash tools/kind-e2e.sh     keep the cluster afterwards
#
# Steps: create a kind cluster; build the image with Bazel and load it into
# Docker (bazel run //src/cmd:load → pod-ashiato:dev) and into the kind nodes;
# deploy k8s/overlays/kind and wait for the Deployment to be Available (its
# readiness probe is /readyz: the first sync is done); run the e2e suite with
# bazel test against the cluster's kubeconfig.
set -euo pipefail
cd "$(dirname "$0")/.."

cluster=${CLUSTER:-pod-ashiato-e2e}
kubeconfig=$(mktemp)
trap 'rm -f "$kubeconfig"' EXIT

for tool in docker kind kubectl bazel; do
  command -v "$tool" >/dev/null || { echo "kind-e2e: $tool not found on PATH" >&2; exit 2; }
done
docker info >/dev/null 2>&1 || { echo "kind-e2e: no Docker engine answers" >&2; exit 2; }

if ! kind get clusters | grep -qx "$cluster"; then
  kind create cluster --name "$cluster" --wait 120s
fi
if [ -z "${KEEP:-}" ]; then
  trap 'rm -f "$kubeconfig"; kind delete cluster --name "$cluster"' EXIT
fi
kind get kubeconfig --name "$cluster" >"$kubeconfig"

bazel run //src/cmd:load
kind load docker-image pod-ashiato:dev --name "$cluster"

kubectl --kubeconfig "$kubeconfig" apply -k k8s/overlays/kind
kubectl --kubeconfig "$kubeconfig" -n pod-ashiato rollout status deployment/pod-ashiato --timeout 180s

bazel test //e2e:e2e_test --config=e2e \
  --test_env=ASHIATO_E2E_KUBECONFIG="$kubeconfig" \
  --test_output=errors
