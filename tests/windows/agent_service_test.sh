#!/bin/sh
# The real cg-agent.exe as a Windows service under Wine (ctest cg_win_agent_service):
# `cg-agent.exe service install` from a folder with a space in its name: the service's
# registration (ImagePath, description, event source), agent.json, the service running (not
# enrolled: it waits and says so in its rotated log file), `sc stop`, `sc start`,
# `cg-agent.exe service uninstall` (service and event source gone, configuration kept), twice.
# The MSI is agent_msi_test.sh. Runs in its own Wine prefix (a fresh one each time), so it
# never meets the other tests' services.
#   agent_service_test.sh BUILD_DIR CG_AGENT_EXE WINE-RUN
set -eu
build="$1"
exe="$2"
wine_run="$3"
run="$build/agent-service-test"
export CG_WINEPREFIX="$run/prefix"
wineserver="${CG_WINESERVER:-/usr/lib/wine/wineserver64}"
export CG_WINE="${CG_WINE:-/usr/lib/wine/wine64}"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
w() { sh "$wine_run" "$@"; }
# Wine's reg.exe: exit 0 when the key (or value) exists.
reg_has() { w reg query "$@" >/dev/null 2>&1; }
service_state() { w sc query CounterGuardAgent 2>/dev/null | tr -d '\r' | awk '$1 == "STATE" {print $4}'; }
wait_state() {
  i=0
  while [ "$(service_state)" != "$1" ]; do
    i=$((i + 1))
    [ $i -lt 120 ] || fail "service not $1 (is: $(service_state))"
    sleep 0.5
  done
}
cleanup() {
  WINEPREFIX="$CG_WINEPREFIX" "$wineserver" -k 2>/dev/null || true
}
trap cleanup EXIT

rm -rf "$run"
mkdir -p "$run"
c="$CG_WINEPREFIX/drive_c"
w cmd /c exit 0 >/dev/null 2>&1 # makes the prefix (win10)
data="$c/ProgramData/CounterGuard"
svc_key='HKLM\System\CurrentControlSet\Services\CounterGuardAgent'
event_key='HKLM\System\CurrentControlSet\Services\EventLog\Application\CounterGuard Agent'

mkdir -p "$c/CG Agent"
cp "$exe" "$c/CG Agent/cg-agent.exe"
out="$(w 'C:\CG Agent\cg-agent.exe' service install --server https://127.0.0.1:9/ \
  --group laocai/bac-ha 2>&1)" || fail "service install: $out"
printf '%s\n' "$out"
printf '%s\n' "$out" | grep -q 'service CounterGuardAgent installed: "C:\\CG Agent\\cg-agent.exe" run --service --config "C:\\ProgramData\\CounterGuard\\agent.json"' ||
  fail "install did not report the service's command line"
printf '%s\n' "$out" | grep -q "service CounterGuardAgent started" || fail "not started"
reg_has "$svc_key" /v ImagePath || fail "service not registered"
w reg query "$svc_key" /v ImagePath | tr -d '\r' | grep -q 'CG Agent\\cg-agent.exe" run --service' ||
  fail "ImagePath"
w reg query "$svc_key" /v Description | grep -q "security posture" || fail "no description"
w reg query "$event_key" /v EventMessageFile | tr -d '\r' | grep -q 'C:\\CG Agent\\cg-agent.exe' ||
  fail "event source not registered with the exe as message file"
grep -q '"server": "127.0.0.1:9"' "$data/agent.json" || fail "agent.json server: $(cat "$data/agent.json")"
grep -q '"group": "laocai/bac-ha"' "$data/agent.json" || fail "agent.json group"
grep -q '"state_dir": "C:\\\\ProgramData\\\\CounterGuard"' "$data/agent.json" ||
  fail "agent.json state_dir: $(cat "$data/agent.json")"
wait_state RUNNING
i=0
until grep -q "not enrolled" "$data/logs/cg-agent.log" 2>/dev/null; do
  i=$((i + 1))
  [ $i -lt 120 ] || fail "the service's log file does not say it is not enrolled"
  sleep 0.5
done
w sc stop CounterGuardAgent >/dev/null
wait_state STOPPED
grep -q "service stop received, stopping" "$data/logs/cg-agent.log" || fail "stop not logged"
w sc start CounterGuardAgent >/dev/null
wait_state RUNNING
out="$(w 'C:\CG Agent\cg-agent.exe' service uninstall 2>&1)" || fail "service uninstall: $out"
printf '%s\n' "$out"
reg_has "$svc_key" && fail "service still registered after uninstall"
reg_has "$event_key" && fail "event source still registered after uninstall"
[ -f "$data/agent.json" ] || fail "uninstall removed agent.json"
out="$(w 'C:\CG Agent\cg-agent.exe' service uninstall 2>&1)" || fail "second uninstall: $out"
echo "PASS"
