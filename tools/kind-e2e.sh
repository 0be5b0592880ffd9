#!/usr/bin/env bash
# kind-e2e.sh runs the e2e suite against a kind cluster, then deploys
# k8s/overlays/kind there and waits for it to be Available. It needs Docker,
# kind, kubectl and Bazel. Our own machines and CI have neither Docker nor
# Bazel, so this script has never run here: tools/bazelcheck checks it
# statically (docs/bazel.md says what is and is not verified).
#
#   bash tools/kind-e2e.sh            create the cluster, test, deploy, delete
#   KEEP=1 bash tools/kind-e2e.sh     keep the cluster and the Deployment; rerun to update
#
# Steps: create the cluster; build the image for the nodes' architecture and
# load it onto them; run the suite with bazel test; deploy k8s/overlays/kind
# and wait for its readiness probe (/readyz: the first sync is done).
#
# The Deployment runs only after the suite. The suite applies k8s/base itself
# (TestManifests, TestLeastPrivilege) into the same namespace and checks the
# hours stored there: a running pod of ours would be a second writer of those
# hours, and base would reset its image to the untagged `pod-ashiato`, which no
# registry has (so the Deployment base creates during the suite never starts a
# pod). A kept cluster's Deployment is deleted before the suite; the overlay is
# applied after it, with a rollout restart, since the tag stays `dev`.
set -euo pipefail
cd "$(dirname "$0")/.."

cluster=${CLUSTER:-pod-ashiato-e2e}
# Not under /tmp: bazel test runs the suite in a sandbox with its own empty
# /tmp (--incompatible_sandbox_hermetic_tmp, the default since Bazel 7), where
# a kubeconfig written to the real /tmp does not exist.
state=${XDG_CACHE_HOME:-$HOME/.cache}/pod-ashiato/kind
kubeconfig=$state/$cluster.kubeconfig

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
mkdir -p "$state"
kind get kubeconfig --name "$cluster" >"$kubeconfig"
k() { kubectl --kubeconfig "$kubeconfig" "$@"; }

# The image for the nodes' architecture, not the host's (kind on an arm64 Mac
# runs arm64 nodes). load_linux_<arch> builds it through a platform transition
# to //platforms:linux_<arch>; the loader itself runs on the host.
arch=$(k get nodes -o jsonpath='{.items[0].status.nodeInfo.architecture}')
case "$arch" in
  amd64 | arm64) ;;
  *) echo "kind-e2e: the kind nodes are $arch; the image is built for amd64 and arm64 only" >&2; exit 2 ;;
esac
bazel run "//src/cmd:load_linux_$arch"
kind load docker-image pod-ashiato:dev --name "$cluster"

# A kept cluster's Deployment stops, with its last flush, before the suite
# starts. Deleted rather than scaled to 0: `kubectl scale` would own
# spec.replicas, and the suite's server-side apply of k8s/base would then fail
# on the conflict.
k -n pod-ashiato delete deployment/pod-ashiato --ignore-not-found --cascade=foreground --wait --timeout=120s

suite=0
bazel test //e2e:e2e_test --config=e2e \
  --test_env=ASHIATO_E2E_KUBECONFIG="$kubeconfig" \
  --test_output=errors || suite=$?

# Server-side, under the same field manager as the suite's applies (kubectl),
# so the overlay takes over the Deployment base left without a conflict.
k apply --server-side -k k8s/overlays/kind
k -n pod-ashiato rollout restart deployment/pod-ashiato
k -n pod-ashiato rollout status deployment/pod-ashiato --timeout 180s
exit "$suite"
