#!/usr/bin/env bash
# build.sh builds the control-plane binaries the e2e suite, the local cluster and
# the benchmarks run against: etcd and kube-apiserver always; kube-scheduler,
# kube-controller-manager, kwok and kubectl when asked (--with-scheduler,
# --with-controller-manager, --with-kwok, --with-kubectl, or --all, which is what
# tools/test.sh asks for: every binary any test runs).
#
# They are built from the Go module proxy (k8s.io/kubernetes cannot be `go install`ed:
# its go.mod replaces every staging module with ./staging/..., so a scratch module
# pins each staging module instead). Binaries land in a versioned cache folder
# outside the repository; a binary whose --version already matches is not rebuilt.
#
# Prints the binary folder on stdout as its last line; progress goes to stderr.
set -euo pipefail

K8S_VERSION=v1.37.2
STAGING_VERSION=v0.37.2
ETCD_VERSION=v3.7.0
KWOK_VERSION=v0.8.0

cache_root=${ASHIATO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pod-ashiato}
bin_dir="$cache_root/controlplane/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION/bin"
scratch="$cache_root/controlplane/scratch-$K8S_VERSION"

want_sched=0 want_kcm=0 want_kwok=0 want_kubectl=0
for arg in "$@"; do
  case "$arg" in
    --with-scheduler) want_sched=1 ;;
    --with-controller-manager) want_kcm=1 ;;
    --with-kwok) want_kwok=1 ;;
    --with-kubectl) want_kubectl=1 ;;
    --all) want_sched=1 want_kcm=1 want_kwok=1 want_kubectl=1 ;;
    --print-dir) echo "$bin_dir"; exit 0 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "controlplane: $*" >&2; }

staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
  cri-client cri-streaming csi-translation-lib dynamic-resource-allocation endpointslice externaljwt
  kms kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
  mount-utils pod-security-admission sample-apiserver streaming)

ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=37 -X $pkg.gitTreeState=clean"
done

# has_version BIN WANT [ARGS...]: the cached binary exists and, asked with ARGS
# (default --version), reports WANT.
has_version() {
  local bin=$1 want=$2 out
  shift 2
  [ $# -gt 0 ] || set -- --version
  # Not `--version | grep -q`: grep exits at the first match and, under
  # pipefail, the binary's SIGPIPE would fail the check.
  [ -x "$bin_dir/$bin" ] && out=$("$bin_dir/$bin" "$@" 2>&1) && grep -qF "$want" <<<"$out"
}

prepare_scratch() {
  [ -f "$scratch/.ready-2" ] && return 0
  log "preparing scratch module in $scratch"
  rm -rf "$scratch" && mkdir -p "$scratch"
  (
    cd "$scratch"
    go mod init ashiato.local/controlplane >/dev/null 2>&1
    {
      echo
      for m in "${staging[@]}"; do echo "replace k8s.io/$m => k8s.io/$m $STAGING_VERSION"; done
    } >>go.mod
    go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kube-scheduler@$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kubectl@$K8S_VERSION" \
      "go.etcd.io/etcd/server/v3@$ETCD_VERSION" \
      "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2
  )
  touch "$scratch/.ready-2"
}

build() { # build NAME PACKAGE
  log "building $1"
  local start=$SECONDS
  (cd "$scratch" && go build -trimpath -ldflags "$ldflags" -o "$bin_dir/$1" "$2")
  log "built $1 in $((SECONDS - start))s"
}

mkdir -p "$bin_dir"
has_version etcd "${ETCD_VERSION#v}" || { prepare_scratch; build etcd go.etcd.io/etcd/server/v3; }
has_version kube-apiserver "$K8S_VERSION" || { prepare_scratch; build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver; }
if [ $want_sched = 1 ]; then
  has_version kube-scheduler "$K8S_VERSION" || { prepare_scratch; build kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler; }
fi
if [ $want_kcm = 1 ]; then
  has_version kube-controller-manager "$K8S_VERSION" || { prepare_scratch; build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager; }
fi
if [ $want_kwok = 1 ]; then
  has_version kwok "$KWOK_VERSION" || { prepare_scratch; build kwok sigs.k8s.io/kwok/cmd/kwok; }
fi
if [ $want_kubectl = 1 ]; then
  has_version kubectl "$K8S_VERSION" version --client || { prepare_scratch; build kubectl k8s.io/kubernetes/cmd/kubectl; }
fi
echo "$bin_dir"
