#!/usr/bin/env bash
# `cmake --install BUILD --prefix /usr` (into a DESTDIR, so the machine is not touched) gives
# the system layout whatever the configure-time prefix: the configuration under /etc, never
# /usr/etc, and every path the units name (ExecStart, Documentation, the configuration,
# ReadWritePaths, conditions) is one that was installed or that the unit creates itself. Then a
# scratch prefix: everything stays inside it and the units point there. The units carry the
# hardening (scores: unit_exposure_test.sh).
# Usage: install_test.sh BUILD_DIR
set -euo pipefail
build="$1"
tmp="$(mktemp -d /tmp/cg-install.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

root="$tmp/root"
DESTDIR="$root" cmake --install "$build" --prefix /usr >/dev/null
for f in usr/sbin/cg-agent usr/bin/cg-soc usr/bin/cgctl usr/lib/systemd/system/cg-agent.service \
  usr/lib/systemd/system/cg-soc.service usr/lib/sysusers.d/counterguard-soc.conf \
  etc/counterguard/agent.json usr/share/doc/counterguard-agent/operations.md \
  usr/share/doc/counterguard-soc/operations.md usr/share/doc/counterguard-agent/copyright \
  usr/share/doc/counterguard-agent/changelog.gz; do
  [ -f "$root/$f" ] || fail "$f not installed"
done
# The dashboard, where cg-soc looks for it (../share/counterguard/dashboard from /usr/bin).
source_dir=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt")
if [ -f "$source_dir/dashboard/index.html" ]; then
  [ -f "$root/usr/share/counterguard/dashboard/index.html" ] || fail "the dashboard not installed"
fi
[ ! -e "$root/usr/etc" ] || fail "something was installed under /usr/etc: $(find "$root/usr/etc")"
gzip -t "$root/usr/share/doc/counterguard-agent/changelog.gz" || fail "changelog.gz is not gzip"

# Every path a unit names, checked against what was installed.
unit_value() { sed -n "s/^$2=//p" "$1"; }
check_unit() {
  local unit="$root/usr/lib/systemd/system/$1" state_dir line word path
  state_dir=$(unit_value "$unit" StateDirectory)
  line=$(unit_value "$unit" ExecStart)
  [ -n "$line" ] || fail "$1 has no ExecStart"
  for word in $line; do
    case "$word" in
      "/var/lib/$state_dir" | "/var/lib/$state_dir"/*) ;;  # made by systemd (StateDirectory=)
      /*) [ -e "$root$word" ] || fail "$1: ExecStart names $word, which was not installed" ;;
    esac
  done
  [ -x "$root${line%% *}" ] || fail "$1: ${line%% *} is not executable"
  for word in $(unit_value "$unit" Documentation); do
    case "$word" in
      file://*) path=${word#file://}
                [ -f "$root$path" ] || fail "$1: Documentation $path was not installed" ;;
      *) fail "$1: Documentation '$word' is not a file:// URL" ;;
    esac
  done
  for path in $(unit_value "$unit" ReadWritePaths); do
    # The state dir is made by systemd (StateDirectory=); any other path must exist on every
    # machine (a missing one would keep the unit from starting).
    if [ "$path" != "/var/lib/$state_dir" ] && [ ! -d "$path" ]; then
      fail "$1: ReadWritePaths names $path, which is neither the state dir nor a system dir"
    fi
  done
  for path in $(unit_value "$unit" ConditionPathExists); do
    path=${path#|}
    case "$path" in
      "/var/lib/$state_dir"/*) ;;
      *) [ -d "$root$(dirname "$path")" ] ||
           fail "$1: ConditionPathExists names $path, outside anything installed" ;;
    esac
  done
}
check_unit cg-agent.service
check_unit cg-soc.service
grep -q "^ExecStart=/usr/sbin/cg-agent run --config /etc/counterguard/agent.json$" \
  "$root/usr/lib/systemd/system/cg-agent.service" || fail "cg-agent.service ExecStart changed"
# The system install gets the units exactly as they are in the source tree.
src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
for unit in cg-agent.service cg-soc.service; do
  cmp -s "$src_dir/installer/linux/$unit" "$root/usr/lib/systemd/system/$unit" ||
    fail "$unit was changed on the way to /usr"
done
# cg-soc's home in sysusers.d is the unit's data dir.
grep -q "^u cg-soc - .* /var/lib/$(unit_value "$root/usr/lib/systemd/system/cg-soc.service" \
  StateDirectory)\$" "$root/usr/lib/sysusers.d/counterguard-soc.conf" ||
  fail "counterguard-soc.conf does not give cg-soc the unit's data dir"

agent_unit="$root/usr/lib/systemd/system/cg-agent.service"
for key in 'Restart=on-failure' 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'PrivateTmp=yes' \
  'ProtectHome=read-only' 'ReadWritePaths=/var/lib/counterguard' 'CapabilityBoundingSet=CAP_' \
  'SystemCallFilter=@system-service' 'PrivateDevices=yes' 'ProtectClock=yes' \
  'RestrictNamespaces=yes' 'MemoryDenyWriteExecute=yes'; do
  grep -q "^$key" "$agent_unit" || fail "cg-agent.service lacks $key"
done
soc_unit="$root/usr/lib/systemd/system/cg-soc.service"
for key in 'User=cg-soc' 'NoNewPrivileges=yes' 'CapabilityBoundingSet=$' 'ProtectSystem=strict' \
  'LimitNOFILE=65536'; do
  grep -q "^$key" "$soc_unit" || fail "cg-soc.service lacks $key"
done

# The installed default configuration is one the agent accepts.
out=$("$root/usr/sbin/cg-agent" run --config "$root/etc/counterguard/agent.json" \
  --state-dir "$tmp/state" --once 2>&1 || true)
case "$out" in
  *"not enrolled"*) ;;
  *) fail "cg-agent did not accept the installed agent.json: $out" ;;
esac

# Any other prefix: everything inside it, and the units say so.
prefix="$tmp/opt"
cmake --install "$build" --prefix "$prefix" >/dev/null
[ -f "$prefix/etc/counterguard/agent.json" ] || fail "--prefix $prefix: no etc/counterguard"
grep -q "^ExecStart=$prefix/sbin/cg-agent run --config $prefix/etc/counterguard/agent.json$" \
  "$prefix/lib/systemd/system/cg-agent.service" || fail "--prefix $prefix: ExecStart not moved"
grep -q "^Documentation=file://$prefix/share/doc/counterguard-soc/operations.md$" \
  "$prefix/lib/systemd/system/cg-soc.service" || fail "--prefix $prefix: Documentation not moved"
echo "install layout: 1 passed, 0 failed"
