#!/bin/sh
# Under Wine, the service's log lines reach ReportEventW with the right event type (ctest
# cg_win_agent_event_log_wine). Wine 8's ReportEventW keeps no event (there is no event log
# service to read back from), but it prints each insertion string on its "eventlog" debug
# channel: `err:` for EVENTLOG_ERROR_TYPE, `warn:` for EVENTLOG_WARNING_TYPE, `trace:` for
# the others. This runs ServiceLoggingTest (event_log_sink_test.cpp: AddServiceLogging, the
# service's real sinks) with that channel on and reads what ReportEventW was given.
#   event_log_wine_test.sh WORK_DIR TEST_EXE EMULATOR...
set -eu
work="$1"
exe="$2"
shift 2
rm -rf "$work"
mkdir -p "$work"
fail() {
  echo "FAIL: $*" >&2
  echo "---- stderr (eventlog channel)" >&2
  grep 'eventlog' "$work/stderr.log" >&2 || true
  exit 1
}
CG_WINEDEBUG='-all,+eventlog' "$@" "$exe" --gtest_color=no --gtest_filter='ServiceLoggingTest.*' \
  >"$work/stdout.log" 2>"$work/stderr.log" || {
  cat "$work/stdout.log"
  fail "ServiceLoggingTest failed"
}
events="$work/events.log"
grep ':eventlog:ReportEventW ' "$work/stderr.log" | sed 's/^[0-9a-f]*://' >"$events" || true
expect() { grep -qxF "$1" "$events" || fail "ReportEventW was not given: $1"; }
expect 'err:eventlog:ReportEventW L"cg-test: error, SOC unreachable"'
expect 'warn:eventlog:ReportEventW L"cg-test: warning, spool 90% full"'
expect 'trace:eventlog:ReportEventW L"cg-test: information"'
# UTF-16 as Wine prints it (a backslash and four hex digits for what is not ASCII):
# "Nguyễn Văn Ánh".
expect 'trace:eventlog:ReportEventW L"cg-test: Nguy\1ec5n V\0103n \00c1nh"'
if grep -q 'cg-test: debug' "$events"; then
  fail "a debug line reached the event log"
fi
[ "$(grep -c 'cg-test: ' "$events")" = 4 ] || fail "not exactly four events: $(cat "$events")"
echo "PASS"
