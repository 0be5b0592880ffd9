#!/usr/bin/env bash
# test.sh runs every check Pod Ashiato's CI runs, in order, and stops at the
# first failure. It is README's test command and what .ci/run calls.
#
#   bash tools/test.sh            everything
#   bash tools/test.sh unit       formatting, vet, unit tests (no cluster needed)
#   bash tools/test.sh bazel      Gazelle in sync, buildifier clean, @repos declared, krew manifest valid
#   bash tools/test.sh e2e        the e2e suite against the local control plane and SeaweedFS
#
# The control-plane binaries, SeaweedFS (the S3 server of the e2e suite) and
# duckq (DuckDB for the SQL test) are built once into versioned cache folders
# (tools/controlplane/build.sh, tools/seaweedfs/build.sh, tools/duckq/build.sh);
# a warm machine skips those builds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

step() { printf '\n== %s\n' "$*"; }

# go_test runs go test -v with the given arguments, its output shown as it
# comes (show=all) or only the package lines and, on failure, everything
# (show=summary). A skipped test fails the step: CI provides everything a test
# needs, so a skip is a test that did not run.
go_test() {
  local show=$1 log status=0
  shift
  log=$(mktemp)
  if [ "$show" = all ]; then
    go test -v "$@" 2>&1 | tee "$log" || status=$?
  else
    go test -v "$@" >"$log" 2>&1 || status=$?
    if [ $status -ne 0 ]; then cat "$log"; else grep -E '^(ok|FAIL|\?) ' "$log" || true; fi
  fi
  if [ $status -eq 0 ] && grep -- '--- SKIP' "$log"; then
    echo "skipped tests (above): CI runs every test"
    status=1
  fi
  rm -f "$log"
  return $status
}

unit() {
  step "gofmt"
  bad=$(gofmt -l src e2e tools)
  if [ -n "$bad" ]; then echo "not gofmt'ed:"; echo "$bad"; return 1; fi
  step "go vet"
  go vet ./...
  (cd tools && go vet ./...)
  prometheus_bin
  step "unit tests (go test -race; the packages that need a cluster run in the e2e step)"
  local mod
  mod=$(go list -m)
  go_test summary -race -count=1 $(go list ./... | grep -v -x -e "$mod/e2e" -e "$mod/e2e/controlplane" -e "$mod/e2e/s3server")
  (cd tools && go_test summary -count=1 ./...)
}

bazel_checks() {
  step "Bazel files: Gazelle in sync, buildifier -lint=warn, every @repo declared"
  (cd tools && go run ./bazelcheck -root "$root")
  step "krew plugin manifest: krew's validate-krew-manifest"
  bash tools/krew/release.sh --check
}

# prometheus_bin installs Debian's prometheus package when prometheus or
# promtool is missing (e2e/monitoring and the e2e's Prometheus need them).
prometheus_bin() {
  step "prometheus and promtool"
  ASHIATO_PROMETHEUS_BIN=$(bash tools/prometheus.sh)
  export ASHIATO_PROMETHEUS_BIN
  "$ASHIATO_PROMETHEUS_BIN/promtool" --version 2>&1 | sed -n 1p
}

e2e() {
  prometheus_bin
  step "control-plane binaries"
  ASHIATO_CONTROLPLANE_BIN=$(bash tools/controlplane/build.sh --all | tail -n 1)
  export ASHIATO_CONTROLPLANE_BIN
  step "SeaweedFS, the S3-compatible server of the S3 store's tests"
  ASHIATO_SEAWEEDFS_BIN=$(bash tools/seaweedfs/build.sh | tail -n 1)
  export ASHIATO_SEAWEEDFS_BIN
  "$ASHIATO_SEAWEEDFS_BIN/weed" version 2>/dev/null | sed -n 1p
  step "duckq, DuckDB for the SQL test (its own Go module, CGO; the product stays pure Go)"
  ASHIATO_DUCKQ_BIN=$(bash tools/duckq/build.sh | tail -n 1)
  export ASHIATO_DUCKQ_BIN
  "$ASHIATO_DUCKQ_BIN/duckq" --version
  (cd tools/duckq && go vet ./... && go_test summary -count=1 ./...)
  # The suite's own control plane, whatever cluster the environment names.
  unset ASHIATO_E2E_KUBECONFIG
  step "headless Chromium for the browser test (installed when missing)"
  ASHIATO_CHROMIUM=$(bash tools/chromium.sh | tail -n 1)
  export ASHIATO_CHROMIUM
  step "e2e suite against a real kube-apiserver"
  go_test all -count=1 -timeout 30m ./e2e/...
  step "benchmark program, smoke run (docs/benchmarks.md has the real figures)"
  (cd tools && go run ./bench --smoke)
}

case "${1:-all}" in
  unit) unit ;;
  bazel) bazel_checks ;;
  e2e) e2e ;;
  all) unit; bazel_checks; e2e ;;
  *) echo "usage: bash tools/test.sh [all|unit|bazel|e2e]" >&2; exit 2 ;;
esac
step "all checks passed"
