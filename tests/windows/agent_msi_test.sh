#!/usr/bin/env bash
# The Windows agent's MSI under Wine, against a Linux cg-soc on loopback (ctest
# cg_win_agent_msi, labels windows;e2e). The MSIs are made by the release recipe
# (installer/windows/build-msi.cmake) with this SOC's CA and a policy key made here:
#   1. msiexec /i 0.1.0 SERVER= GROUP= TOKENFILE= on a fresh PC: the program, the SOC's CA,
#      the policy key, agent.json, the service (running) and the event source are installed,
#      and the PC enrolls at install (the token used up; the admin's token file left alone);
#      the service then reports to the SOC as that device.
#   2. msiexec /i 0.1.1 (a major upgrade, no properties): the identity (device key, certificate,
#      enrollment), the spool and the admin's edit of agent.json stay byte for byte; one
#      product, the new version; the service runs again and reports as the same device.
#   3. msiexec /x: program, service, event source, soc-ca.pem and policy.pub gone; the state
#      (configuration, identity, spool) kept.
#   4. A PC whose SOC is down at install: msiexec still succeeds, the token waits in
#      %ProgramData%\CounterGuard\enroll.token, and the service keeps running and retries
#      (back-off); once the SOC is started again on its address the same service process
#      enrolls with the token and reports, with no restart (Wine's SCM has no recovery
#      actions: a service that exited would stay stopped); the log's process ids prove it.
# A cmd.exe waits in the prefix for the whole test, as a signed-in clerk's programs do on a PC:
# without one, Wine ends the services seconds after its last ordinary process (see below).
# Runs in a Wine prefix of its own (made fresh), so the SCM holds no other test's services.
#
#   CG_LINUX_BUILD_DIR=DIR agent_msi_test.sh BUILD_DIR CG-AGENT.EXE STRIP WINE-RUN
#
# CG_LINUX_BUILD_DIR holds soc/cg-soc and cgctl/cgctl of a Linux build of this tree; without
# one the test is skipped (77), as cg_win_agent_soc_test is.
set -euo pipefail

build="$1"
exe="$2"
strip="$3"
wine_run="$4"
recipe="$(cd "$(dirname "$0")/../../installer/windows" && pwd)/build-msi.cmake"
linux_build="${CG_LINUX_BUILD_DIR:-}"
if [ -z "$linux_build" ]; then
  echo "SKIP: no Linux build directory (configure with -DCG_LINUX_BUILD_DIR=<Linux build>)"
  exit 77
fi
soc_bin="$linux_build/soc/cg-soc"
cgctl_bin="$linux_build/cgctl/cgctl"
for bin in "$soc_bin" "$cgctl_bin" "$exe"; do
  [ -f "$bin" ] || {
    echo "FAIL: $bin missing" >&2
    exit 1
  }
done
command -v wixl >/dev/null || {
  echo "FAIL: wixl missing (apt-get install wixl)" >&2
  exit 1
}

run="$build/agent-msi-test"
export CG_WINEPREFIX="$run/prefix"
export CG_WINE="${CG_WINE:-/usr/lib/wine/wine64}"
wineserver="${CG_WINESERVER:-/usr/lib/wine/wineserver64}"
soc_pid=""
session_pid=""
cleanup() {
  if [ -n "$session_pid" ]; then
    exec 8>&- # end of input: the session's cmd.exe exits
    kill "$session_pid" 2>/dev/null || true
    wait "$session_pid" 2>/dev/null || true
  fi
  if [ -n "$soc_pid" ]; then
    kill "$soc_pid" 2>/dev/null || true
    wait "$soc_pid" 2>/dev/null || true
  fi
  WINEPREFIX="$CG_WINEPREFIX" "$wineserver" -k 2>/dev/null || true
}
trap cleanup EXIT INT TERM

fail() {
  echo "FAIL: $*" >&2
  for log in "$run"/*.log; do
    [ -f "$log" ] || continue
    echo "---- $log (last 30 lines)" >&2
    tail -n 30 "$log" >&2
  done
  exit 1
}
step() { echo "==> $(date +%T) $*"; }
w() { sh "$wine_run" "$@"; }
# Wine's reg.exe: exit 0 when the key (or value) exists.
reg_has() { w reg query "$@" >/dev/null 2>&1; }
service_state() { w sc query CounterGuardAgent 2>/dev/null | tr -d '\r' | awk '$1 == "STATE" {print $4}'; }
# Polls "$2..." every 0.5 s, at most $1 times.
wait_for() {
  local tries="$1"
  shift
  for _ in $(seq 1 "$tries"); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  return 1
}
service_is() { [ "$(service_state)" = "$1" ]; }
# msiexec's verbose log is UTF-16.
msi_log() { tr -d '\0\r' <"$1" | tail -n 25; }
msiexec() {
  local log="$1"
  shift
  w msiexec "$@" /qn /l*v "C:\\cgtest\\$log" >"$run/msiexec-$log" 2>&1 ||
    fail "msiexec $*: $(msi_log "$c/cgtest/$log")"
}

rm -rf "$run"
mkdir -p "$run"

step "cg-soc init, policy key, serve on 127.0.0.1 (ephemeral ports)"
"$soc_bin" init --data-dir "$run/soc" --hostname localhost >"$run/soc-init.log" 2>&1 ||
  fail "cg-soc init"
"$cgctl_bin" policy keygen --out "$run/policy-signing" >/dev/null
"$soc_bin" policy-key add --data-dir "$run/soc" "$run/policy-signing.pub" >/dev/null
"$soc_bin" serve --data-dir "$run/soc" --agent-listen 127.0.0.1:0 \
  --operator-listen 127.0.0.1:0 --ready-file "$run/ports.json" 2>"$run/soc.log" &
soc_pid=$!
wait_for 200 test -s "$run/ports.json" || fail "cg-soc did not start"
agent_port=$(sed -n 's/.*"agent_port": *\([0-9]*\).*/\1/p' "$run/ports.json")
operator_port=$(sed -n 's/.*"operator_port": *\([0-9]*\).*/\1/p' "$run/ports.json")
cgctl=("$cgctl_bin" --server "https://localhost:$operator_port"
  --token-file "$run/soc/admin.token" --ca "$run/soc/ca.pem")

step "three MSIs by the release recipe, with this SOC's CA and policy key"
for v in 0.1.0 0.1.1 0.1.2; do
  cmake -DAGENT_EXE="$exe" -DSOC_CA="$run/soc/ca.pem" -DPOLICY_KEY="$run/policy-signing.pub" \
    -DVERSION=$v -DOUTPUT="$run/agent-$v.msi" -DSTRIP="$strip" -P "$recipe" \
    >"$run/build-msi-$v.log" 2>&1 || fail "build-msi $v: $(cat "$run/build-msi-$v.log")"
done

w cmd /c exit 0 >/dev/null 2>&1 # makes the prefix (win10)
# Under Wine a service lives only while an ordinary process runs in the prefix: Wine's service
# dispatcher (dlls/sechost/service.c, service_run_main_thread) makes the service process a
# "system" process, and when the last non-system process exits it ends the services within
# about 3 s; the next Wine command then starts the auto-start services afresh. Without this, a
# service waiting to retry its enrollment died 2-4 s after the test's last `wine` command and
# a later `sc query` started a new one (what looked like a late retry: docs/windows.md). A PC
# with a clerk signed in has such processes all day (explorer.exe); here a cmd.exe reading a
# FIFO that the test holds open stands in for them, for the whole test.
mkfifo "$run/session.in"
w cmd /q <"$run/session.in" >/dev/null 2>&1 &
session_pid=$!
exec 8>"$run/session.in"
c="$CG_WINEPREFIX/drive_c"
mkdir -p "$c/cgtest"
cp "$run"/agent-*.msi "$c/cgtest/"
data="$c/ProgramData/CounterGuard"
pf="$c/Program Files/CounterGuard"
svc_key='HKLM\System\CurrentControlSet\Services\CounterGuardAgent'
event_key='HKLM\System\CurrentControlSet\Services\EventLog\Application\CounterGuard Agent'

step "1. msiexec /i 0.1.0 SERVER GROUP TOKENFILE: installs and enrolls at install"
"${cgctl[@]}" enroll-token create --group laocai/sa-pa | tail -n 1 >"$c/cgtest/token.txt"
[ -s "$c/cgtest/token.txt" ] || fail "no enrollment token"
cp "$c/cgtest/token.txt" "$run/token.txt"
msiexec install.log /i 'C:\cgtest\agent-0.1.0.msi' SERVER="https://localhost:$agent_port" \
  GROUP=laocai/sa-pa 'TOKENFILE=C:\cgtest\token.txt'
[ -f "$pf/cg-agent.exe" ] || fail "cg-agent.exe not installed"
cmp -s "$data/soc-ca.pem" "$run/soc/ca.pem" || fail "soc-ca.pem is not the SOC's CA"
cmp -s "$data/policy.pub" "$run/policy-signing.pub" || fail "policy.pub is not the policy key"
grep -q "\"server\": \"localhost:$agent_port\"" "$data/agent.json" ||
  fail "agent.json server: $(cat "$data/agent.json")"
grep -q '"group": "laocai/sa-pa"' "$data/agent.json" || fail "agent.json group"
grep -q '"ca_file": "C:\\\\ProgramData\\\\CounterGuard\\\\soc-ca.pem"' "$data/agent.json" ||
  fail "agent.json ca_file: $(cat "$data/agent.json")"
grep -q '"policy_key_file": "C:\\\\ProgramData\\\\CounterGuard\\\\policy.pub"' "$data/agent.json" ||
  fail "agent.json policy_key_file"
w reg query "$svc_key" /v ImagePath | tr -d '\r' |
  grep -q 'Program Files\\CounterGuard\\cg-agent.exe" run --service --config "C:\\ProgramData\\CounterGuard\\agent.json"' ||
  fail "service ImagePath"
reg_has "$event_key" || fail "event source not registered"
# Enrolled by the install itself: the token is used up and deleted from the state folder; the
# administrator's file (on a share, for the next PCs) is left as it was.
[ -s "$data/enrollment.json" ] || fail "not enrolled at install: $(cat "$run/msiexec-install.log")"
[ -e "$data/enroll.token" ] && fail "the used token was left in the state folder"
cmp -s "$c/cgtest/token.txt" "$run/token.txt" || fail "the administrator's token file was changed"
device_id=$(sed -n 's/.*"device_id": *"\([^"]*\)".*/\1/p' "$data/enrollment.json")
[ -n "$device_id" ] || fail "enrollment.json without a device id: $(cat "$data/enrollment.json")"
grep -q "PRIVATE KEY" "$data/device.key" && fail "device.key is a plain PEM (not DPAPI-protected)"
"${cgctl[@]}" --json devices >"$run/devices.json"
grep -q "\"$device_id\"" "$run/devices.json" || fail "the SOC does not list $device_id"
wait_for 120 service_is RUNNING || fail "service not RUNNING after install: $(service_state)"

# The running service (not msiexec) reports as that device over mutual TLS.
latest_report() {
  "${cgctl[@]}" --json device "$device_id" | python3 -c '
import json, sys
r = json.load(sys.stdin).get("latest_report")
print(json.dumps(r, sort_keys=True) if r else "")'
}
has_report() { [ -n "$(latest_report)" ]; }
wait_for 360 has_report || fail "the installed service sent no report in 180 s"
first_report="$(latest_report)"

step "2. msiexec /i 0.1.1 (major upgrade): identity, spool and agent.json kept"
# A file in the spool that is not one of its entries (the spool leaves those alone), and an
# administrator's edit of agent.json.
mkdir -p "$data/spool"
printf 'a spooled report\n' >"$data/spool/waiting"
sed -i 's/"group": "laocai\/sa-pa"/"group": "laocai\/sa-pa",\n  "log_level": "debug"/' "$data/agent.json"
cp "$data/agent.json" "$run/agent.json.before"
identity() { (cd "$data" && sha256sum enrollment.json device.key device.crt ca.pem spool/waiting); }
identity >"$run/state.before"
msiexec upgrade.log /i 'C:\cgtest\agent-0.1.1.msi'
identity >"$run/state.after" || fail "the upgrade removed identity or spool files"
cmp -s "$run/state.before" "$run/state.after" || fail "the upgrade changed the identity or the spool"
cmp -s "$data/agent.json" "$run/agent.json.before" ||
  fail "the upgrade changed agent.json: $(cat "$data/agent.json")"
out="$(w 'C:\Program Files\CounterGuard\cg-agent.exe' status --state-dir 'C:\ProgramData\CounterGuard' --json 2>&1)"
printf '%s\n' "$out" | grep -q "\"device_id\": \"$device_id\"" || fail "identity lost: $out"
uninstall_keys="$(w reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall' /s 2>/dev/null | tr -d '\r')"
[ "$(printf '%s\n' "$uninstall_keys" | grep -c 'DisplayName.*CounterGuard Agent')" = 1 ] ||
  fail "not exactly one CounterGuard Agent product after the upgrade"
printf '%s\n' "$uninstall_keys" | grep -q 'DisplayVersion.*0\.1\.1' ||
  fail "the upgrade's version is not the installed one"
wait_for 120 service_is RUNNING || fail "service not RUNNING after the upgrade: $(service_state)"
new_report() { [ "$(latest_report)" != "$first_report" ]; }
wait_for 360 new_report || fail "no report from the upgraded service in 180 s"
"${cgctl[@]}" --json devices >"$run/devices.json"
[ "$(grep -o '"device_id"' "$run/devices.json" | wc -l)" = 1 ] ||
  fail "the upgrade made the SOC see another device: $(cat "$run/devices.json")"

step "3. msiexec /x: program, service and event source removed, state kept"
msiexec uninstall.log /x 'C:\cgtest\agent-0.1.1.msi'
[ -e "$pf/cg-agent.exe" ] && fail "cg-agent.exe left after uninstall"
reg_has "$svc_key" && fail "service left after uninstall"
reg_has "$event_key" && fail "event source left after uninstall"
[ -e "$data/soc-ca.pem" ] && fail "soc-ca.pem left after uninstall"
[ -e "$data/policy.pub" ] && fail "policy.pub left after uninstall"
identity >"$run/state.removed" || fail "uninstall removed identity or spool files"
cmp -s "$run/state.before" "$run/state.removed" || fail "uninstall changed the state"
[ -f "$data/agent.json" ] || fail "uninstall removed agent.json"

step "4. the SOC down at install: the service retries, then enrolls and reports once it is back"
rm -rf "$data" # a new PC
"${cgctl[@]}" enroll-token create --group laocai/sa-pa | tail -n 1 >"$c/cgtest/token2.txt"
[ -s "$c/cgtest/token2.txt" ] || fail "no enrollment token"
# The same Wine prefix is the same machine (MachineGuid) to the SOC: let it enroll anew (as
# the same device), and remember its last report to tell a new one.
"${cgctl[@]}" device allow-reenroll "$device_id" >/dev/null || fail "allow-reenroll"
report_before="$(latest_report)"
kill "$soc_pid"
wait "$soc_pid" 2>/dev/null || true
soc_pid=""
msiexec offline.log /i 'C:\cgtest\agent-0.1.2.msi' SERVER="https://localhost:$agent_port" \
  GROUP=laocai/sa-pa 'TOKENFILE=C:\cgtest\token2.txt'
cmp -s "$data/enroll.token" "$c/cgtest/token2.txt" || fail "token not staged for the service"
[ -e "$data/enrollment.json" ] && fail "enrolled without a SOC?"
reg_has "$svc_key" || fail "service not installed"
# The service's own attempt fails (nothing listens), and it says when it tries again.
log="$data/logs/cg-agent.log"
retry_logged() { grep -q "enroll.token.*trying again in" "$log"; }
wait_for 120 retry_logged ||
  fail "the service logged no enrollment retry: $(tail -n 5 "$log" 2>&1)"
service_is RUNNING || fail "the service stopped after a failed enrollment: $(service_state)"
# The log file's lines carry the process id ("... +00:00 [PID] error: ..."): the process that
# failed must be the one that enrolls, with no restart in between.
pid_of() { sed -n "s/^.* \[\([0-9]*\)\] [a-z]*: .*$1.*/\1/p" "$log" | head -n 1; }
retry_pid="$(pid_of 'trying again in')"
[ -n "$retry_pid" ] || fail "no process id in the service's log: $(tail -n 3 "$log")"
"$soc_bin" serve --data-dir "$run/soc" --agent-listen "127.0.0.1:$agent_port" \
  --operator-listen "127.0.0.1:$operator_port" 2>>"$run/soc.log" &
soc_pid=$!
enrolled() { [ -s "$data/enrollment.json" ]; }
# The back-off after the first failure is 10 s (+-20 %), so the next attempt comes about 10 s
# after the first; 2 min leaves room for a loaded machine.
wait_for 240 enrolled ||
  fail "the running service did not enroll once the SOC was back: $(service_state); $(tail -n 5 "$log")"
[ -e "$data/enroll.token" ] && fail "the used token was left in the state folder"
device_id=$(sed -n 's/.*"device_id": *"\([^"]*\)".*/\1/p' "$data/enrollment.json")
[ -n "$device_id" ] || fail "enrollment.json without a device id: $(cat "$data/enrollment.json")"
enrolled_pid="$(pid_of 'enrolled as device')"
[ "$enrolled_pid" = "$retry_pid" ] ||
  fail "enrolled by process ${enrolled_pid:-?}, not by the service that retried ($retry_pid)"
other_pids="$(sed -n '/trying again in/,$p' "$log" | sed -n 's/^.* \[\([0-9]*\)\] [a-z]*: .*/\1/p' |
  grep -vx "$retry_pid" | sort -u || true)"
[ -z "$other_pids" ] || fail "the service was restarted (processes $retry_pid and $other_pids)"
report_after_enrolling() { [ "$(latest_report)" != "$report_before" ]; }
wait_for 360 report_after_enrolling || fail "the service enrolled late sent no report in 180 s"
service_is RUNNING || fail "service not RUNNING after enrolling: $(service_state)"
echo "PASS"
