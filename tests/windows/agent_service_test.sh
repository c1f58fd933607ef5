#!/bin/sh
# The real cg-agent.exe as a Windows service and its MSI, under Wine (ctest -L windows):
#   1. `cg-agent.exe service install` from a folder with a space in its name: the service's
#      registration (ImagePath, event source), agent.json, the service running (not enrolled:
#      it waits and says so in its rotated log file), `sc stop`, `sc start`,
#      `cg-agent.exe service uninstall` (service and event source gone, configuration kept).
#   2. The MSI built with wixl: msiexec /i with SERVER, GROUP, TOKENFILE (a SOC that does not
#      answer: the token waits for the service), files and registration; an identity and a
#      spooled report planted in the state dir; an upgrade to a higher version keeps them and
#      agent.json and replaces the product; msiexec /x removes the program, the service and
#      the event source and keeps the state.
# Runs in its own Wine prefix (a fresh one each time), so it never meets the other tests'
# services. Usage: agent_service_test.sh BUILD_DIR CG_AGENT_EXE WXS STRIP [service|msi|all]
# (default all; ctest runs `service` and `msi` as two tests).
set -eu
build="$1"
exe="$2"
wxs="$3"
strip="$4"
part="${5:-all}"
run="$build/agent-service-test-$part"
export CG_WINEPREFIX="$run/prefix"
wine_run="$(dirname "$wxs")/../../cmake/wine-run.sh"
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

echo "== 1. cg-agent.exe service install / sc stop / sc start / service uninstall"
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
rm -rf "$data" "$c/CG Agent"

if [ "$part" = service ]; then
  echo "PASS (part 1)"
  exit 0
fi

echo "== 2. the MSI: install, upgrade, uninstall"
command -v wixl >/dev/null || fail "wixl missing (apt-get install wixl)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=test-soc-ca \
  -days 2 -keyout "$run/ca.key" -out "$run/ca.pem" 2>/dev/null
printf 'test policy key\n' >"$run/policy.pub"
"$strip" -o "$run/cg-agent.exe" "$exe"
for v in 0.1.0 0.1.1; do
  # wixl finds -D sources only by relative names (an absolute one is "Couldn't find file").
  (cd "$run" && wixl -a x64 -D Version=$v -D AgentExe=cg-agent.exe -D SocCa=ca.pem \
    -D PolicyKey=policy.pub -o "agent-$v.msi" "$wxs")
done
mkdir -p "$c/cgtest"
cp "$run"/agent-*.msi "$c/cgtest/"
printf 'tok-%s\n' "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" >"$c/cgtest/token.txt"

w msiexec /i 'C:\cgtest\agent-0.1.0.msi' /qn /l*v 'C:\cgtest\install.log' \
  SERVER=https://127.0.0.1:9 GROUP=laocai/sa-pa 'TOKENFILE=C:\cgtest\token.txt' ||
  fail "msiexec /i: $(tr -d '\0' <"$c/cgtest/install.log" | tail -20)"
pf="$c/Program Files/CounterGuard"
[ -f "$pf/cg-agent.exe" ] || fail "cg-agent.exe not installed"
cmp -s "$data/soc-ca.pem" "$run/ca.pem" || fail "soc-ca.pem not installed"
cmp -s "$data/policy.pub" "$run/policy.pub" || fail "policy.pub not installed"
grep -q '"server": "127.0.0.1:9"' "$data/agent.json" || fail "MSI agent.json server"
grep -q '"group": "laocai/sa-pa"' "$data/agent.json" || fail "MSI agent.json group"
grep -q '"ca_file": "C:\\\\ProgramData\\\\CounterGuard\\\\soc-ca.pem"' "$data/agent.json" ||
  fail "agent.json ca_file: $(cat "$data/agent.json")"
grep -q '"policy_key_file": "C:\\\\ProgramData\\\\CounterGuard\\\\policy.pub"' "$data/agent.json" ||
  fail "agent.json policy_key_file"
# The SOC did not answer: the token waits beside agent.json for the service's own attempts.
cmp -s "$data/enroll.token" "$c/cgtest/token.txt" || fail "token not staged for the service"
w reg query "$svc_key" /v ImagePath | tr -d '\r' |
  grep -q 'Program Files\\CounterGuard\\cg-agent.exe" run --service --config "C:\\ProgramData\\CounterGuard\\agent.json"' ||
  fail "MSI: service ImagePath"
reg_has "$event_key" || fail "MSI: event source"

# An enrolled device's identity and a file in the spool (planted: no SOC here; the spool
# leaves files that are not its entries alone).
state="$data"
mkdir -p "$state/spool"
printf '{"server":"127.0.0.1:9","device_id":"0b6f3e0e-7c4e-4d8b-9a57-6b0d1c8e2f10","group":"laocai/sa-pa","enrolled_at":"2026-12-01T00:00:00Z"}\n' >"$state/enrollment.json"
printf 'device key bytes\n' >"$state/device.key"
printf 'a spooled report\n' >"$state/spool/waiting"
rm -f "$data/enroll.token"
# The service runs on: compare what it must never touch (its new reports and logs may come).
identity() { (cd "$state" && sha256sum enrollment.json device.key spool/waiting); }
identity >"$run/state.before"
# An admin's edit, which the upgrade must keep.
sed -i 's/"group": "laocai\/sa-pa"/"group": "laocai\/sa-pa",\n  "log_level": "debug"/' "$data/agent.json"
cp "$data/agent.json" "$run/agent.json.before"

w msiexec /i 'C:\cgtest\agent-0.1.1.msi' /qn /l*v 'C:\cgtest\upgrade.log' ||
  fail "msiexec upgrade: $(tr -d '\0' <"$c/cgtest/upgrade.log" | tail -20)"
identity >"$run/state.after" || fail "the upgrade removed identity or spool files"
cmp -s "$run/state.before" "$run/state.after" || fail "the upgrade changed the state dir"
cmp -s "$data/agent.json" "$run/agent.json.before" || fail "the upgrade changed agent.json: $(cat "$data/agent.json")"
out="$(w 'C:\Program Files\CounterGuard\cg-agent.exe' status --state-dir 'C:\ProgramData\CounterGuard' --json 2>&1)"
printf '%s\n' "$out" | grep -q '"device_id": "0b6f3e0e-7c4e-4d8b-9a57-6b0d1c8e2f10"' || fail "identity lost: $out"
uninstall_keys="$(w reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall' /s 2>/dev/null | tr -d '\r')"
[ "$(printf '%s\n' "$uninstall_keys" | grep -c 'DisplayName.*CounterGuard Agent')" = 1 ] ||
  fail "not exactly one CounterGuard Agent product after the upgrade"
printf '%s\n' "$uninstall_keys" | grep -q 'DisplayVersion.*0\.1\.1' || fail "the upgrade's version is not the installed one"
reg_has "$svc_key" || fail "the upgrade lost the service"

w msiexec /x 'C:\cgtest\agent-0.1.1.msi' /qn /l*v 'C:\cgtest\uninstall.log' ||
  fail "msiexec /x: $(tr -d '\0' <"$c/cgtest/uninstall.log" | tail -20)"
[ -e "$pf/cg-agent.exe" ] && fail "cg-agent.exe left after uninstall"
reg_has "$svc_key" && fail "service left after uninstall"
reg_has "$event_key" && fail "event source left after uninstall"
[ -e "$data/soc-ca.pem" ] && fail "soc-ca.pem left after uninstall"
identity >"$run/state.removed" || fail "uninstall removed identity or spool files"
cmp -s "$run/state.before" "$run/state.removed" || fail "uninstall changed the state dir"
[ -f "$data/agent.json" ] || fail "uninstall removed agent.json"
echo "PASS"
