#!/usr/bin/env bash
# `cmake --install` into a temporary prefix puts binaries, units and configuration in their
# FHS places, and the units carry the hardening the issue asks for.
set -euo pipefail
build="$1"
prefix="$(mktemp -d /tmp/cg-install.XXXXXX)"
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
fail() { echo "FAIL: $*" >&2; exit 1; }
for f in sbin/cg-agent bin/cg-soc bin/cgctl lib/systemd/system/cg-agent.service \
  lib/systemd/system/cg-soc.service lib/sysusers.d/counterguard-soc.conf \
  etc/counterguard/agent.json; do
  [ -f "$prefix/$f" ] || fail "$f not installed"
done
agent_unit="$prefix/lib/systemd/system/cg-agent.service"
for key in 'Restart=on-failure' 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'PrivateTmp=yes' \
  'ProtectHome=read-only' 'ReadWritePaths=/var/lib/counterguard'; do
  grep -q "^$key" "$agent_unit" || fail "cg-agent.service lacks $key"
done
soc_unit="$prefix/lib/systemd/system/cg-soc.service"
for key in 'User=cg-soc' 'NoNewPrivileges=yes' 'CapabilityBoundingSet=$' 'ProtectSystem=strict' \
  'LimitNOFILE=65536'; do
  grep -q "^$key" "$soc_unit" || fail "cg-soc.service lacks $key"
done
# The installed default configuration is one the agent accepts.
out=$("$prefix/sbin/cg-agent" run --config "$prefix/etc/counterguard/agent.json" \
  --state-dir "$prefix/state" --once 2>&1 || true)
case "$out" in
  *"not enrolled"*) ;;
  *) fail "cg-agent did not accept the installed agent.json: $out" ;;
esac
echo "install layout: 1 passed, 0 failed"
