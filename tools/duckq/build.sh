#!/usr/bin/env bash
# build.sh builds duckq (this folder: DuckDB's Go binding behind a small SQL
# command that prints JSON lines), the query engine the SQL e2e test and the
# benchmark's sql part run the queries of docs/sql.md with.
#
# DuckDB is C++: the binding links a prebuilt static libduckdb that comes from
# the Go module proxy (no other download), through CGO. So this needs a C and
# C++ compiler (gcc, g++), which the product never does: duckq is its own Go
# module and the product stays pure Go. The binary lands in a versioned cache
# folder outside the repository and is rebuilt only when the binding's version
# or duckq's source changes (the binary reports both with --version).
#
#   bash tools/duckq/build.sh              build when missing; print the folder
#   bash tools/duckq/build.sh --print-dir  only print the folder
#
# Prints the binary folder on stdout as its last line; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
DUCKDB_GO_VERSION=$(cd "$here" && awk 'NF >= 2 && $(NF-1) == "github.com/duckdb/duckdb-go/v2" { print $NF }' go.mod)
[ -n "$DUCKDB_GO_VERSION" ] || { echo "duckq: no github.com/duckdb/duckdb-go/v2 in $here/go.mod" >&2; exit 1; }

cache_root=${ASHIATO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pod-ashiato}
bin_dir="$cache_root/duckq-$DUCKDB_GO_VERSION/bin"

case "${1:-}" in
  "") ;;
  --print-dir) echo "$bin_dir"; exit 0 ;;
  -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
  *) echo "build.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "build.sh: one argument at most (see --help)" >&2; exit 2; }

log() { echo "duckq: $*" >&2; }

# The source the binary is built from: a hash of the module's files, stamped
# in, so an edited duckq is rebuilt even at the same binding version.
source_hash=$(cd "$here" && cat go.mod go.sum $(ls *.go | sort) | sha256sum | cut -c1-12)

has_version() {
  local out
  [ -x "$bin_dir/duckq" ] && out=$("$bin_dir/duckq" --version 2>&1) &&
    grep -qF "duckq $source_hash duckdb-go $DUCKDB_GO_VERSION" <<<"$out"
}

if has_version; then
  echo "$bin_dir"
  exit 0
fi
# Preflight: everything the build needs, before it starts.
for tool in go gcc g++; do
  command -v "$tool" >/dev/null || {
    log "needs $tool on PATH: DuckDB's binding is built with CGO and links C++ (Debian: apt-get install gcc g++)"
    exit 1
  }
done
mkdir -p "$bin_dir"
log "building duckq ($source_hash) with duckdb-go $DUCKDB_GO_VERSION (downloads the prebuilt libduckdb from the Go module proxy on first use)"
start=$SECONDS
(cd "$here" && CGO_ENABLED=1 go build -trimpath \
  -ldflags "-s -w -X main.version=$source_hash -X main.duckdbGo=$DUCKDB_GO_VERSION" \
  -o "$bin_dir/duckq.tmp" .)
mv "$bin_dir/duckq.tmp" "$bin_dir/duckq"
log "built duckq in $((SECONDS - start))s"
has_version || { log "built duckq does not report $source_hash $DUCKDB_GO_VERSION"; exit 1; }
echo "$bin_dir"
