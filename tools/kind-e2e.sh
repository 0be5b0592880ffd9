#!/usr/bin/env bash
# kind-e2e.sh runs the e2e suite against a kind cluster, then deploys
# k8s/overlays/kind there and waits for it to be Available. It needs Docker,
# kind, kubectl, Bazel and a C compiler, and for the suite Prometheus with
# promtool, Chromium (or Chrome) and SeaweedFS (built here when Go is
# installed); it checks all of them before it creates anything. Our own
# machines and CI have neither Docker nor Bazel, so this script has never run
# here: tools/bazelcheck checks it statically (docs/bazel.md says what is and
# is not verified).
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

# Everything the run needs, checked before anything is created: one line per
# missing tool, with how to get it (docs/bazel.md, "What a laptop needs").
# (Plain strings, not arrays: macOS's bash 3.2 runs this too.)
missing=
need() { missing+="kind-e2e: missing $1 -- $2"$'\n'; }

command -v docker >/dev/null || need docker "Docker Desktop, or Docker Engine on Linux: https://docs.docker.com/engine/install/"
if command -v docker >/dev/null && ! docker info >/dev/null 2>&1; then
  need "a Docker engine" "docker is installed but no engine answers: start Docker Desktop, or the docker service"
fi
command -v kind >/dev/null || need kind "brew install kind, or go install sigs.k8s.io/kind@latest: https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
command -v kubectl >/dev/null || need kubectl "brew install kubectl, or https://kubernetes.io/docs/tasks/tools/"
command -v bazel >/dev/null || need bazel "Bazelisk, which runs the version in .bazelversion: brew install bazelisk, or npm install -g @bazel/bazelisk"

# Bazel builds the Go tests with cgo for the host, so it needs a C compiler.
if [ "$(uname -s)" = Darwin ]; then
  xcode-select -p >/dev/null 2>&1 || need "a C compiler" "xcode-select --install (Xcode's Command Line Tools): Bazel builds the Go tests with cgo"
elif ! command -v cc >/dev/null && ! command -v gcc >/dev/null && ! command -v clang >/dev/null; then
  need "a C compiler" "apt-get install gcc (or build-essential, or clang): Bazel builds the Go tests with cgo"
fi

# Prometheus and promtool: the suite's Prometheus scrapes ashiato and checks
# its alerts. From $ASHIATO_PROMETHEUS_BIN, else PATH (--config=e2e forwards both).
if [ -n "${ASHIATO_PROMETHEUS_BIN:-}" ]; then
  for tool in prometheus promtool; do
    [ -x "$ASHIATO_PROMETHEUS_BIN/$tool" ] ||
      need "$tool" "not in ASHIATO_PROMETHEUS_BIN=$ASHIATO_PROMETHEUS_BIN: point it at the folder holding prometheus and promtool, or unset it to use PATH"
  done
else
  for tool in prometheus promtool; do
    command -v "$tool" >/dev/null ||
      need "$tool" "brew install prometheus, or apt-get install prometheus (bash tools/prometheus.sh on Debian); or ASHIATO_PROMETHEUS_BIN=<folder holding prometheus and promtool>"
  done
fi

# Headless Chromium or Chrome for TestBrowser, handed over as ASHIATO_CHROMIUM
# (unset, the test tries /usr/bin/chromium only). Not a snap: a snap has a /tmp
# of its own, so the browser would not see the test's profile folder or write
# its screenshots where the test reads them.
chromium=${ASHIATO_CHROMIUM:-}
if [ -z "$chromium" ]; then
  for c in chromium chromium-browser google-chrome google-chrome-stable \
    "/Applications/Chromium.app/Contents/MacOS/Chromium" \
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"; do
    if found=$(command -v "$c"); then
      chromium=$found
      break
    fi
  done
fi
# is_snap: the path is a snap, or a script that starts one (Ubuntu's
# /usr/bin/chromium-browser).
is_snap() {
  local real
  real=$(readlink -f "$1" 2>/dev/null || echo "$1")
  case $real in /snap/* | */bin/snap) return 0 ;; esac
  [ "$(head -c 2 "$real" 2>/dev/null)" = "#!" ] && grep -qs /snap/ "$real"
}
if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
  need chromium "Google Chrome or Chromium (brew install --cask google-chrome; apt-get install chromium on Debian, as bash tools/chromium.sh does); or ASHIATO_CHROMIUM=<path of the browser>"
elif is_snap "$chromium"; then
  need chromium "$chromium is (or starts) a snap, which cannot share the test's /tmp; install a Chromium or Chrome that is not a snap and set ASHIATO_CHROMIUM to it"
else
  export ASHIATO_CHROMIUM=$chromium
fi

# SeaweedFS, the S3 server of the S3 tests: $ASHIATO_SEAWEEDFS_BIN, else built
# from the Go module proxy as tools/test.sh does (it needs Go).
build_seaweedfs=
if [ -n "${ASHIATO_SEAWEEDFS_BIN:-}" ]; then
  [ -x "$ASHIATO_SEAWEEDFS_BIN/weed" ] ||
    need weed "not in ASHIATO_SEAWEEDFS_BIN=$ASHIATO_SEAWEEDFS_BIN: unset it to build SeaweedFS with bash tools/seaweedfs/build.sh"
elif command -v go >/dev/null; then
  build_seaweedfs=1
else
  need go "to build SeaweedFS (bash tools/seaweedfs/build.sh): https://go.dev/dl/ or brew install go; or ASHIATO_SEAWEEDFS_BIN=<folder holding weed>"
fi

# duckq, DuckDB behind a command for TestSQL: $ASHIATO_DUCKQ_BIN, else built
# from the Go module proxy as tools/test.sh does (Go and a C++ compiler: CGO).
build_duckq=
if [ -n "${ASHIATO_DUCKQ_BIN:-}" ]; then
  [ -x "$ASHIATO_DUCKQ_BIN/duckq" ] ||
    need duckq "not in ASHIATO_DUCKQ_BIN=$ASHIATO_DUCKQ_BIN: unset it to build duckq with bash tools/duckq/build.sh"
elif command -v go >/dev/null && command -v g++ >/dev/null; then
  build_duckq=1
else
  need duckq "to build duckq (bash tools/duckq/build.sh) Go and a C++ compiler: https://go.dev/dl/ and xcode-select --install or apt-get install g++; or ASHIATO_DUCKQ_BIN=<folder holding duckq>"
fi

if [ -n "$missing" ]; then
  printf '%s' "$missing" >&2
  exit 2
fi
if [ -n "$build_seaweedfs" ]; then
  ASHIATO_SEAWEEDFS_BIN=$(bash tools/seaweedfs/build.sh | tail -n 1)
  export ASHIATO_SEAWEEDFS_BIN
fi
if [ -n "$build_duckq" ]; then
  ASHIATO_DUCKQ_BIN=$(bash tools/duckq/build.sh | tail -n 1)
  export ASHIATO_DUCKQ_BIN
fi
# The suite tests the kind cluster (ASHIATO_E2E_KUBECONFIG below), not a
# control plane of its own.
unset ASHIATO_CONTROLPLANE_BIN

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
# With the suite, the manual tests that need no control plane of their own:
# SeaweedFS's and e2e/monitoring's (promtool), which //... leaves out.
bazel test --config=e2e //e2e:e2e_test //e2e/s3server:s3server_test //e2e/monitoring:monitoring_test \
  --test_env=ASHIATO_E2E_KUBECONFIG="$kubeconfig" \
  --test_output=errors || suite=$?

# Server-side, under the same field manager as the suite's applies (kubectl),
# so the overlay takes over the Deployment base left without a conflict.
k apply --server-side -k k8s/overlays/kind
k -n pod-ashiato rollout restart deployment/pod-ashiato
k -n pod-ashiato rollout status deployment/pod-ashiato --timeout 180s
exit "$suite"
