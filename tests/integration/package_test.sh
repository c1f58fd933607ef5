#!/usr/bin/env bash
# The .deb packages end to end on this machine (issue 14): build them with cpack from the
# existing build tree, lintian (no error), `apt-get install ./counterguard-*.deb`, check files,
# modes, the cg-soc user and the conffile, start the SOC and the agent from the installed paths
# with the units' command lines (read from the installed units; loopback, kernel-chosen ports),
# enroll through the token file, upgrade to a rebuilt package (a higher version) keeping the
# agent's identity and spool, remove, purge. The machine is left as it was found: everything is
# purged at the end, also after a failure, and the test refuses to start when a CounterGuard
# installation is already there.
# The agent's configuration with the SOC's address goes into a private copy of
# /etc/counterguard (a mount namespace of the agent's own): other cg-agent builds that read
# /etc/counterguard/agent.json meanwhile see only the packaged file.
# Needs root (it installs packages); exits 77 (skipped) otherwise.
# Usage: package_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: package_test.sh BUILD_DIR}" && pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: package_test installs the packages on this machine and needs root"
  exit 77
fi
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
for tool in cpack dpkg-deb dpkg-shlibdeps lintian apt-get runuser unshare; do
  command -v "$tool" >/dev/null 2>&1 ||
    fail "$tool is not installed (Debian packages dpkg-dev, lintian, util-linux; scripts/lib.sh)"
done
for pkg in counterguard-agent counterguard-soc; do
  if dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -qv '^not-installed$'; then
    fail "$pkg is installed on this machine already; this test would remove it"
  fi
done
for path in /var/lib/counterguard /var/lib/counterguard-soc /etc/counterguard; do
  [ ! -e "$path" ] || fail "$path exists on this machine; this test would purge it"
done
user_existed=no
getent passwd cg-soc >/dev/null && user_existed=yes

export DEBIAN_FRONTEND=noninteractive
# Other jobs on the machine may hold the dpkg lock for a while.
apt=(apt-get -y -q -o DPkg::Lock::Timeout=600)
tmp=$(mktemp -d /tmp/cg-package.XXXXXX)
chmod 0755 "$tmp"
soc_pid=""
agent_pid=""
stop() {  # pid
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  local status=$?
  stop "$agent_pid"
  stop "$soc_pid"
  "${apt[@]}" purge counterguard-agent counterguard-soc >"$tmp/purge-at-exit.log" 2>&1 || true
  if [ "$user_existed" = no ] && getent passwd cg-soc >/dev/null; then
    userdel cg-soc 2>/dev/null || true
    getent group cg-soc >/dev/null && groupdel cg-soc 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ]; then
    for log in "$tmp"/*.log; do
      echo "--- $log" >&2
      tail -n 30 "$log" >&2 || true
    done
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- build the packages from the build tree --------------------------------------------------
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build/CPackConfig.cmake")
[ -n "$version" ] || fail "no CPACK_PACKAGE_VERSION in $build/CPackConfig.cmake"
start=$(date +%s)
(cd "$tmp" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/v1") >"$tmp/cpack1.log" 2>&1 ||
  fail "cpack failed"
echo "cpack: $(($(date +%s) - start)) s"
arch=$(dpkg --print-architecture)
agent_deb="$tmp/v1/counterguard-agent_${version}_${arch}.deb"
soc_deb="$tmp/v1/counterguard-soc_${version}_${arch}.deb"
for deb in "$agent_deb" "$soc_deb"; do
  [ -f "$deb" ] || fail "$(basename "$deb") was not made: $(ls "$tmp/v1")"
done
ls -l "$tmp"/v1/*.*deb | awk '{print "package: " $5 " bytes " $NF}' | sed "s#$tmp/v1/##"

# Stripped binaries; the symbols in -dbgsym packages; dependencies from dpkg-shlibdeps.
for pair in "$agent_deb:usr/sbin/cg-agent" "$soc_deb:usr/bin/cg-soc"; do
  deb=${pair%%:*}
  bin=${pair#*:}
  dpkg-deb -x "$deb" "$tmp/x"
  if readelf -S "$tmp/x/$bin" | grep -q '\.debug_info'; then
    fail "$bin in $(basename "$deb") is not stripped"
  fi
  readelf -n "$tmp/x/$bin" | grep -q 'Build ID' || fail "$bin has no build id"
done
for pkg in counterguard-agent counterguard-soc; do
  dbgsym=$(ls "$tmp/v1/$pkg-dbgsym_${version}_${arch}."*deb 2>/dev/null | head -n 1)
  [ -n "$dbgsym" ] || fail "no $pkg-dbgsym package"
  dpkg-deb -c "$dbgsym" >"$tmp/dbgsym.list"
  grep -q '/usr/lib/debug/.build-id/.*\.debug$' "$tmp/dbgsym.list" ||
    fail "$(basename "$dbgsym") holds no .build-id/*.debug file"
done
depends=$(dpkg-deb -f "$agent_deb" Depends)
for lib in libyara libspdlog libssl3 libfmt; do
  grep -q "$lib" <<<"$depends" || fail "counterguard-agent does not depend on $lib: $depends"
done
grep -q libsqlite3 <<<"$(dpkg-deb -f "$soc_deb" Depends)" || fail "counterguard-soc lacks libsqlite3"
dpkg-deb -e "$agent_deb" "$tmp/control"
[ "$(cat "$tmp/control/conffiles")" = /etc/counterguard/agent.json ] ||
  fail "conffiles: $(cat "$tmp/control/conffiles")"

# --- lintian: no error -------------------------------------------------------------------------
lintian --tag-display-limit 0 "$agent_deb" "$soc_deb" >"$tmp/lintian.log" 2>&1 || true
errors=$(grep -c '^E: ' "$tmp/lintian.log" || true)
echo "lintian: $errors error(s), $(grep -c '^W: ' "$tmp/lintian.log" || true) warning(s)"
grep -E '^[EW]: ' "$tmp/lintian.log" | sed 's/^/  /' || true
[ "$errors" -eq 0 ] || fail "lintian reports errors"
grep -q '^[EWINPX]: \|^$' "$tmp/lintian.log" || [ ! -s "$tmp/lintian.log" ] ||
  fail "lintian output not understood: $(head -n 5 "$tmp/lintian.log")"

# --- install -----------------------------------------------------------------------------------
"${apt[@]}" install "$agent_deb" "$soc_deb" >"$tmp/install.log" 2>&1 || fail "apt-get install failed"
mode() { stat -c '%a %U:%G' "$1"; }
[ "$(mode /usr/sbin/cg-agent)" = "755 root:root" ] || fail "/usr/sbin/cg-agent: $(mode /usr/sbin/cg-agent)"
[ "$(mode /usr/bin/cg-soc)" = "755 root:root" ] || fail "/usr/bin/cg-soc: $(mode /usr/bin/cg-soc)"
[ -x /usr/bin/cgctl ] || fail "no /usr/bin/cgctl"
[ "$(mode /etc/counterguard/agent.json)" = "644 root:root" ] ||
  fail "agent.json: $(mode /etc/counterguard/agent.json)"
[ "$(mode /var/lib/counterguard)" = "700 root:root" ] ||
  fail "/var/lib/counterguard: $(mode /var/lib/counterguard)"
for f in /usr/lib/systemd/system/cg-agent.service /usr/lib/systemd/system/cg-soc.service \
  /usr/share/doc/counterguard-agent/copyright /usr/share/doc/counterguard-soc/changelog.gz; do
  [ "$(stat -c %a "$f")" = 644 ] || fail "$f: mode $(stat -c %a "$f")"
done
IFS=: read -r _ _ soc_uid _ _ soc_home soc_shell < <(getent passwd cg-soc) ||
  fail "no cg-soc user"
[ "$soc_uid" -lt 1000 ] || fail "cg-soc is not a system user (uid $soc_uid)"
[ "$soc_home" = /var/lib/counterguard-soc ] || fail "cg-soc's home is $soc_home"
case "$soc_shell" in */nologin | */false) ;; *) fail "cg-soc's shell is $soc_shell" ;; esac
[ "$(mode /var/lib/counterguard-soc)" = "700 cg-soc:cg-soc" ] ||
  fail "/var/lib/counterguard-soc: $(mode /var/lib/counterguard-soc)"
dpkg-query -W -f='${Conffiles}\n' counterguard-agent | grep -q '/etc/counterguard/agent.json' ||
  fail "dpkg does not know agent.json as a conffile"
# Enabled, whether or not systemd runs here (in a container the maintainer scripts only enable).
for unit in cg-agent.service cg-soc.service; do
  [ -L "/etc/systemd/system/multi-user.target.wants/$unit" ] || fail "$unit is not enabled"
done
if [ -d /run/systemd/system ]; then
  echo "systemd runs here: the units were started by the maintainer scripts"
else
  echo "no systemd as PID 1: the units are enabled only; this test starts the programs itself"
fi

# --- the SOC as cg-soc.service would run it -----------------------------------------------------
unit_value() { sed -n "s/^$2=//p" "/usr/lib/systemd/system/$1"; }
soc_cmd=$(unit_value cg-soc.service ExecStart)
soc_user=$(unit_value cg-soc.service User)
agent_cmd=$(unit_value cg-agent.service ExecStart)
[ "$soc_user" = cg-soc ] || fail "cg-soc.service runs as '$soc_user'"
mkdir "$tmp/run" && chown cg-soc:cg-soc "$tmp/run"
runuser -u cg-soc -- /usr/bin/cg-soc init --data-dir /var/lib/counterguard-soc \
  --hostname localhost >"$tmp/soc-init.log" 2>&1 || fail "cg-soc init as cg-soc failed"
start_soc() {  # [agent port]
  rm -f "$tmp/run/ready.json"
  # shellcheck disable=SC2086  # the unit's command line, split as systemd splits it
  runuser -u cg-soc -- $soc_cmd --agent-listen "127.0.0.1:${1:-0}" \
    --operator-listen 127.0.0.1:0 --ready-file "$tmp/run/ready.json" 2>>"$tmp/soc.log" &
  soc_pid=$!
  for _ in $(seq 1 600); do
    [ -s "$tmp/run/ready.json" ] && break
    kill -0 "$soc_pid" 2>/dev/null || fail "cg-soc serve exited"
    sleep 0.05
  done
  [ -s "$tmp/run/ready.json" ] || fail "cg-soc serve did not get ready"
  agent_port=$(sed -n 's/.*"agent_port":\([0-9]*\).*/\1/p' "$tmp/run/ready.json")
  operator_port=$(sed -n 's/.*"operator_port":\([0-9]*\).*/\1/p' "$tmp/run/ready.json")
}
start_soc
# The admin's own copy of the first token, as docs/operations.md says: cgctl refuses a token file
# that belongs to another user (here cg-soc), as ssh does.
install -m 0600 -o root /var/lib/counterguard-soc/admin.token "$tmp/admin.token"
ctl() {
  /usr/bin/cgctl --server "https://localhost:$operator_port" --ca /var/lib/counterguard-soc/ca.pem \
    --token-file "$tmp/admin.token" "$@"
}

# --- the agent as cg-agent.service would run it, enrolling through the token file -------------
# Its private /etc/counterguard: the packaged agent.json plus the SOC's address and the group,
# the CA, and the token file the service uses once.
cfg="$tmp/etc-counterguard"
mkdir -m 0755 "$cfg"
cp /var/lib/counterguard-soc/ca.pem "$cfg/ca.pem"
# delivery_attempts 1: a cycle with the SOC down (below) gives up at once.
sed "1s#^{#{\n  \"server\": \"localhost:$agent_port\", \"ca_file\": \"/etc/counterguard/ca.pem\",\n  \"group\": \"laocai/bac-ha\", \"delivery_attempts\": 1,#" \
  /etc/counterguard/agent.json >"$cfg/agent.json"
ctl enroll-token create --group laocai/bac-ha 2>>"$tmp/ctl.log" | tail -n 1 >"$cfg/enroll.token"
chmod 0600 "$cfg/enroll.token"
[ -s "$cfg/enroll.token" ] || fail "no enrollment token"
run_agent() {  # extra arguments after the unit's command line
  # exec all the way down: in the background, $! is then the agent itself.
  # shellcheck disable=SC2086
  exec unshare --mount --propagation private sh -c \
    'mount --bind "$0" /etc/counterguard && exec "$@"' "$cfg" $agent_cmd "$@"
}
agent_status() { /usr/sbin/cg-agent status --json; }
# A top-level field of `status --json` (nlohmann's dump(2): one "key": value line each).
json_field() { sed -n "s/^  \"$1\": \(.*\)\$/\1/p" | sed 's/,$//; s/^"//; s/"$//; s/^null$//'; }

(run_agent) 2>>"$tmp/agent.log" &
agent_pid=$!
for _ in $(seq 1 600); do
  [ -n "$(agent_status 2>/dev/null | json_field last_report_at)" ] && break
  kill -0 "$agent_pid" 2>/dev/null || fail "the agent service exited"
  sleep 0.1
done
[ -n "$(agent_status | json_field last_report_at)" ] || fail "the agent's first report was not committed"
[ ! -e "$cfg/enroll.token" ] || fail "the token file was not deleted after enrolling"
device_id=$(agent_status | json_field device_id)
[ "$(agent_status | json_field group)" = laocai/bac-ha ] || fail "enrolled in the wrong group"
ctl --json devices | grep -q "\"$device_id\"" || fail "the SOC does not list device $device_id"
[ "$(stat -c %a /var/lib/counterguard/device.key)" = 600 ] || fail "device.key is not 0600"
stop "$agent_pid"
agent_pid=""
echo "enrolled through the token file as device $device_id"

# A report that cannot be delivered waits in the spool (the SOC is down).
stop "$soc_pid"
soc_pid=""
(run_agent --once) 2>>"$tmp/agent.log" && fail "a cycle without the SOC reported success"
spooled=$(agent_status | json_field spool_reports)
[ "$spooled" -ge 1 ] || fail "nothing spooled while the SOC was down"
key_sum=$(sha256sum /var/lib/counterguard/device.key)
spool_sum=$(find /var/lib/counterguard/spool -type f -print0 | sort -z | xargs -0 sha256sum)

# An admin's edit of the conffile survives the upgrade.
sed -i 's/"interval_seconds": 900/"interval_seconds": 600/' /etc/counterguard/agent.json
grep -q '"interval_seconds": 600' /etc/counterguard/agent.json || fail "could not edit agent.json"

# --- upgrade to a rebuilt package ---------------------------------------------------------------
version2="$version+upgradetest"
(cd "$tmp" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/v2" \
  -D "CPACK_PACKAGE_VERSION=$version2") >"$tmp/cpack2.log" 2>&1 || fail "cpack (upgrade) failed"
"${apt[@]}" install "$tmp/v2/counterguard-agent_${version2}_${arch}.deb" \
  "$tmp/v2/counterguard-soc_${version2}_${arch}.deb" >"$tmp/upgrade.log" 2>&1 ||
  fail "apt-get install (upgrade) failed"
[ "$(dpkg-query -W -f='${Version}' counterguard-agent)" = "$version2" ] || fail "not upgraded"
[ "$(sha256sum /var/lib/counterguard/device.key)" = "$key_sum" ] || fail "device key changed"
[ "$(find /var/lib/counterguard/spool -type f -print0 | sort -z | xargs -0 sha256sum)" = \
  "$spool_sum" ] || fail "the spool changed in the upgrade"
[ "$(agent_status | json_field device_id)" = "$device_id" ] || fail "device id changed"
grep -q '"interval_seconds": 600' /etc/counterguard/agent.json || fail "the admin's edit was lost"
[ -f /var/lib/counterguard-soc/ca.pem ] || fail "the SOC's data dir was lost in the upgrade"
# The upgraded programs deliver what waited (the SOC back on the port the device knows).
start_soc "$agent_port"
(run_agent --once) 2>>"$tmp/agent.log" || fail "the upgraded agent did not deliver its spool"
[ "$(agent_status | json_field spool_reports)" = 0 ] || fail "the spool was not emptied"
stop "$soc_pid"
soc_pid=""
echo "upgraded to $version2: same identity, spool delivered"

# --- remove keeps state and configuration, purge deletes them -----------------------------------
"${apt[@]}" remove counterguard-agent counterguard-soc >"$tmp/remove.log" 2>&1 || fail "remove failed"
[ ! -e /usr/sbin/cg-agent ] && [ ! -e /usr/bin/cg-soc ] || fail "binaries left after remove"
[ -f /var/lib/counterguard/device.key ] || fail "remove deleted the device key"
[ -f /var/lib/counterguard-soc/ca.pem ] || fail "remove deleted the SOC's data"
[ -f /etc/counterguard/agent.json ] || fail "remove deleted the conffile"
"${apt[@]}" purge counterguard-agent counterguard-soc >"$tmp/purge.log" 2>&1 || fail "purge failed"
for path in /var/lib/counterguard /var/lib/counterguard-soc /etc/counterguard \
  /etc/systemd/system/multi-user.target.wants/cg-agent.service \
  /etc/systemd/system/multi-user.target.wants/cg-soc.service; do
  [ ! -e "$path" ] && [ ! -L "$path" ] || fail "$path left after purge"
done
echo "package test: 1 passed, 0 failed"
