#!/bin/sh
# Issue 12's required test: `cg-agent.exe check --json` under Wine decides screen_lock from the
# registry (Wine's registry is real): pass at a 300 s secure policy, fail at 1200 s or with
# the secure flag off; `--enforce` fixes it, a second run changes nothing, and
# `enforce --undo` puts the registry back.
#
#   agent_screen_lock_test.sh RUNNER AGENT_EXE WORKDIR
# RUNNER is cmake/wine-run.sh (CG_WINEPREFIX set by CTest). The values are written with Wine's
# own reg.exe into HKEY_CURRENT_USER (HKEY_USERS\<SID> of the user running Wine) and HKLM.
set -u
run="$1"
agent="$2"
work="$3"
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1

policy_key='HKCU\Software\Policies\Microsoft\Windows\Control Panel\Desktop'
machine_key='HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System'
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

reg() {
  "$run" reg "$@" >reg.out 2>&1 || {
    echo "reg $*: $(cat reg.out)" >&2
    return 1
  }
}

clean() {
  "$run" reg delete "$policy_key" /f >/dev/null 2>&1
  "$run" reg delete "$machine_key" /v InactivityTimeoutSecs /f >/dev/null 2>&1
  return 0
}

# ScreenSaveActive ScreenSaverIsSecure ScreenSaveTimeOut, as Group Policy writes them (REG_SZ).
set_policy() {
  reg add "$policy_key" /v ScreenSaveActive /t REG_SZ /d "$1" /f &&
    reg add "$policy_key" /v ScreenSaverIsSecure /t REG_SZ /d "$2" /f &&
    reg add "$policy_key" /v ScreenSaveTimeOut /t REG_SZ /d "$3" /f &&
    reg add "$policy_key" /v SCRNSAVE.EXE /t REG_SZ /d scrnsave.scr /f
}

# check NAME EXPECTED_EXIT [ARGS...]: runs the agent, keeps its JSON in NAME.json.
check() {
  name="$1"
  want="$2"
  shift 2
  "$run" "$agent" check --json --only screen_lock --state-dir state "$@" >"$name.json" 2>"$name.err"
  got=$?
  if [ "$got" != "$want" ]; then
    fail "$name: exit $got, expected $want; $(head -c 2000 "$name.json") $(head -c 500 "$name.err")"
  fi
}

contains() {
  grep -q -- "$2" "$1.json" || fail "$1: no '$2' in $(head -c 2000 "$1.json")"
}

clean
set_policy 1 1 300 || exit 1
check pass_300 0
contains pass_300 '"status": "pass"'
contains pass_300 'Software\\\\Policies\\\\Microsoft\\\\Windows\\\\Control Panel\\\\Desktop'

set_policy 1 1 1200 || exit 1
check fail_1200 1
contains fail_1200 'idle timeout 1200 s exceeds 300 s'

set_policy 1 0 300 || exit 1
check fail_insecure 1
contains fail_insecure 'screen lock is disabled'

# Enforcement: the failing machine (secure off, 1200 s) is fixed and reported as it is now.
set_policy 1 0 1200 || exit 1
check enforce 0 --enforce
contains enforce '"result": "applied"'
contains enforce 'InactivityTimeoutSecs'
ls state/enforcement/*-screen_lock.json >/dev/null 2>&1 || fail "enforce: no journal record"
reg query "$policy_key" /v ScreenSaverIsSecure && grep -q 'REG_SZ *1' reg.out ||
  fail "enforce: ScreenSaverIsSecure not 1: $(cat reg.out)"
reg query "$machine_key" /v InactivityTimeoutSecs && grep -qi '0x12c' reg.out ||
  fail "enforce: InactivityTimeoutSecs not 300: $(cat reg.out)"

# A second run finds nothing to change: no remediation, no new journal record.
records=$(ls state/enforcement | wc -l)
check second 0 --enforce
if grep -q '"remediation"' second.json && ! grep -q '"remediation": null' second.json; then
  fail "second run remediated again: $(head -c 2000 second.json)"
fi
[ "$(ls state/enforcement | wc -l)" = "$records" ] || fail "second run journaled a change"

# Undo restores the values enforcement replaced and removes those it created.
"$run" "$agent" enforce --undo --state-dir state >undo.out 2>&1 || fail "undo: $(cat undo.out)"
reg query "$policy_key" /v ScreenSaveTimeOut && grep -q 'REG_SZ *1200' reg.out ||
  fail "undo: ScreenSaveTimeOut not back to 1200: $(cat reg.out)"
"$run" reg query "$machine_key" /v InactivityTimeoutSecs >/dev/null 2>&1 &&
  fail "undo: InactivityTimeoutSecs still set"
check after_undo 1

clean
[ "$failures" = 0 ] && echo "agent screen_lock under Wine: all passed"
exit "$failures"
