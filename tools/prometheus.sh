#!/usr/bin/env bash
# prometheus.sh makes sure Debian's prometheus package (prometheus and
# promtool) is installed, for the monitoring tests (e2e/monitoring_test.go,
# e2e/prometheus_test.go). It does nothing when both binaries exist; otherwise
# it installs the package with apt-get, refreshing the package lists only when
# apt cannot find it. CI runs as root on Debian; elsewhere, install the
# package yourself.
#
# The package would start a system Prometheus on :9090 (its init script, or
# its systemd unit where systemd runs). The tests start their own, on a
# loopback port with their own config and data directory, so the install runs
# under a policy-rc.d that forbids starting services, and any service the
# package did start is stopped and disabled.
#
#   bash tools/prometheus.sh     prints the folder holding prometheus and promtool
set -euo pipefail

dir=/usr/bin
if [ -x "$dir/prometheus" ] && [ -x "$dir/promtool" ]; then
  echo "$dir"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "prometheus.sh: $dir/prometheus or $dir/promtool is missing; install Debian's prometheus package (apt-get install prometheus)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
own_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  own_policy=true
fi
cleanup() { if $own_policy; then rm -f "$policy"; fi; }
trap cleanup EXIT
if ! apt-cache show prometheus >/dev/null 2>&1; then
  apt-get update -qq >&2
fi
apt-get install -y -qq --no-install-recommends prometheus >&2
# Where a service manager ran it anyway, stop it: :9090 and /var/lib/prometheus
# are not the tests' to share.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl disable --now prometheus.service >&2 || true
fi
if [ -x /etc/init.d/prometheus ]; then
  /etc/init.d/prometheus stop >&2 || true
fi
echo "$dir"
