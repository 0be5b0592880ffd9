#!/usr/bin/env bash
# build.sh builds SeaweedFS's `weed`, the S3-compatible server the e2e suite and
# the S3 benchmark run against (Apache-2.0; e2e/s3server starts it).
#
# It is built from the Go module proxy. `go install pkg@version` refuses it: its
# go.mod has a replace directive (github.com/tyler-smith/go-bip39 was deleted
# upstream), so a scratch module requires the pinned version and copies that
# replace. The binary lands in a versioned cache folder outside the repository;
# a binary whose `weed version` already reports the pinned version and commit is
# not rebuilt.
#
#   bash tools/seaweedfs/build.sh              build when missing; print the folder
#   bash tools/seaweedfs/build.sh --print-dir  only print the folder
#   bash tools/seaweedfs/build.sh --download   only fetch the modules (no compile)
#
# Prints the binary folder on stdout as its last line; progress goes to stderr.
set -euo pipefail

SEAWEEDFS_MODULE=github.com/seaweedfs/seaweedfs
SEAWEEDFS_VERSION=v0.0.0-20261109003541-7506e5f91cd6
# What `weed version` reports for that pseudo-version: the version constant of
# weed/util/version and the commit, which the build stamps in.
SEAWEEDFS_RELEASE=4.53
SEAWEEDFS_COMMIT=${SEAWEEDFS_VERSION##*-}

cache_root=${ASHIATO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pod-ashiato}
bin_dir="$cache_root/seaweedfs-$SEAWEEDFS_VERSION/bin"
scratch="$cache_root/seaweedfs-$SEAWEEDFS_VERSION/scratch"

download_only=0
for arg in "$@"; do
  case "$arg" in
    --print-dir) echo "$bin_dir"; exit 0 ;;
    --download) download_only=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "seaweedfs: $*" >&2; }

has_version() {
  local out
  # Not `| grep -q`: grep exits at the first match and, under pipefail, the
  # binary's SIGPIPE would fail the check.
  [ -x "$bin_dir/weed" ] && out=$("$bin_dir/weed" version 2>&1) &&
    grep -qF "$SEAWEEDFS_RELEASE $SEAWEEDFS_COMMIT" <<<"$out"
}

prepare_scratch() {
  [ -f "$scratch/.ready-1" ] && return 0
  log "preparing scratch module in $scratch"
  rm -rf "$scratch" && mkdir -p "$scratch"
  (
    cd "$scratch"
    go mod init ashiato.local/seaweedfs >/dev/null 2>&1
    # The one replace of SeaweedFS's own go.mod; without it go-bip39 cannot be
    # resolved.
    printf '\nreplace github.com/tyler-smith/go-bip39 => github.com/cosmos/go-bip39 v1.0.0\n' >>go.mod
    go get "$SEAWEEDFS_MODULE/weed@$SEAWEEDFS_VERSION" >&2
  )
  touch "$scratch/.ready-1"
}

if [ $download_only = 1 ]; then
  prepare_scratch
  exit 0
fi
if has_version; then
  echo "$bin_dir"
  exit 0
fi
prepare_scratch
mkdir -p "$bin_dir"
log "building weed $SEAWEEDFS_RELEASE ($SEAWEEDFS_COMMIT)"
start=$SECONDS
(cd "$scratch" && go build -trimpath \
  -ldflags "-s -w -X $SEAWEEDFS_MODULE/weed/util/version.COMMIT=$SEAWEEDFS_COMMIT" \
  -o "$bin_dir/weed.tmp" "$SEAWEEDFS_MODULE/weed")
mv "$bin_dir/weed.tmp" "$bin_dir/weed"
log "built weed in $((SECONDS - start))s"
has_version || { log "built weed does not report $SEAWEEDFS_RELEASE $SEAWEEDFS_COMMIT"; exit 1; }
echo "$bin_dir"
