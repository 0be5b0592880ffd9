#!/usr/bin/env bash
# release.sh builds the krew archives of `kubectl ashiato` and fills in the
# plugin manifest (tools/krew/ashiato.yaml, a template) with their sha256.
#
#   bash tools/krew/release.sh v1.2.3 [OUTDIR]   build, pack, fill, validate
#   bash tools/krew/release.sh --check           validate the template (CI)
#
# A release cross-compiles ./src/cmd (CGO_ENABLED=0) as kubectl-ashiato for
# linux and darwin, amd64 and arm64, packs each with LICENSE (krew requires a
# license file in every archive) into kubectl-ashiato_VERSION_OS_ARCH.tar.gz,
# reproducibly (sorted, owner 0, the commit's time), and writes OUTDIR/ashiato.yaml
# (default OUTDIR: dist/krew). Upload the archives to the GitHub release VERSION;
# the manifest is what a krew index (or `kubectl krew install --manifest`) takes.
#
# Both modes run krew's own validator, validate-krew-manifest from
# sigs.k8s.io/krew, with -skip-install: its install step would download the
# archives from the release, which does not exist before it is published.
# --check fills the template with a dummy version and checksums, so CI checks
# the manifest without building four binaries.
set -euo pipefail

KREW_VERSION=v0.4.3 # the newest sigs.k8s.io/krew on the Go module proxy
platforms=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64)

root=$(cd "$(dirname "$0")/../.." && pwd)
template="$root/tools/krew/ashiato.yaml"

log() { echo "krew: $*" >&2; }

validate() {
  log "validate-krew-manifest ($KREW_VERSION) -manifest $1"
  go run "sigs.k8s.io/krew/cmd/validate-krew-manifest@$KREW_VERSION" -manifest "$1" -skip-install
}

# fill VERSION [SHA...] writes the template with VERSION and, per platform in
# the order of $platforms, the given sha256.
fill() {
  local version=$1; shift
  local script="s/VERSION/$version/g"
  local i=0
  for p in "${platforms[@]}"; do
    script+=";s/SHA256_${p%/*}_${p#*/}/$1/"
    shift
    i=$((i + 1))
  done
  sed -e "$script" -e '/^# /d' "$template"
}

case "${1:-}" in
  -h|--help|"") sed -n '2,21p' "$0"; exit 0 ;;
  --check)
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    # the sha256 of nothing: any 64 hex digits do here
    zero=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
    fill v0.0.0 "$zero" "$zero" "$zero" "$zero" >"$tmp/ashiato.yaml"
    validate "$tmp/ashiato.yaml"
    exit 0 ;;
esac

version=$1
out=${2:-$root/dist/krew}
if [[ ! $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "release.sh: version $version is not semver with a leading v (v1.2.3)" >&2; exit 2
fi
license=""
for f in LICENSE LICENSE.txt LICENSE.md COPYING; do
  [ -f "$root/$f" ] && license=$f && break
done
if [ -z "$license" ]; then
  echo "release.sh: no LICENSE at the repository root; krew installs only archives with a license file" >&2; exit 1
fi
mkdir -p "$out"
mtime=$(git -C "$root" log -1 --format=%cI 2>/dev/null || date -u +%FT%TZ)
sums=()
for p in "${platforms[@]}"; do
  os=${p%/*} arch=${p#*/}
  name="kubectl-ashiato_${version}_${os}_${arch}"
  stage=$(mktemp -d)
  log "building $name"
  (cd "$root" && CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath \
    -ldflags "-s -w -X main.version=$version" -o "$stage/kubectl-ashiato" ./src/cmd)
  cp "$root/$license" "$stage/$license"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="$mtime" \
    -C "$stage" -cf - kubectl-ashiato "$license" | gzip -n -9 >"$out/$name.tar.gz"
  rm -rf "$stage"
  sums+=("$(sha256sum "$out/$name.tar.gz" | cut -d' ' -f1)")
done
fill "$version" "${sums[@]}" >"$out/ashiato.yaml"
validate "$out/ashiato.yaml"
log "wrote $out/ashiato.yaml and ${#platforms[@]} archives"
echo "$out/ashiato.yaml"
