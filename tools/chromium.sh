#!/usr/bin/env bash
# chromium.sh makes sure Debian's headless-capable Chromium is installed, for
# the browser e2e (e2e/browser_test.go). It does nothing when /usr/bin/chromium
# exists; otherwise it installs the chromium package with apt-get, refreshing
# the package lists only when apt cannot find the package. CI runs as root on
# Debian; elsewhere, install chromium yourself or run without the browser test.
#
#   bash tools/chromium.sh     prints the path of the browser
set -euo pipefail

bin=/usr/bin/chromium
if [ ! -x "$bin" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "chromium.sh: $bin is missing; install Debian's chromium package (apt-get install chromium)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache show chromium >/dev/null 2>&1; then
    apt-get update -qq >&2
  fi
  apt-get install -y -qq --no-install-recommends chromium >&2
fi
echo "$bin"
