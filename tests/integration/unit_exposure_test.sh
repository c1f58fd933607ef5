#!/usr/bin/env bash
# The systemd units' exposure as `systemd-analyze security --offline=yes` scores it (0 = fully
# sandboxed, 10 = not at all): cg-agent.service at or below 3.0 (it runs as root and edits
# /etc), cg-soc.service at or below 2.5. Reads the overall score from the tool's output; a
# score that cannot be read is a failure, not a pass.
# Usage: unit_exposure_test.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: unit_exposure_test.sh SOURCE_DIR}

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "FAIL: systemd-analyze is not installed (Debian package systemd, see scripts/lib.sh)" >&2
  exit 1
fi

failures=0
check() {
  local unit=$1 max=$2 out score
  # --offline=yes: judges the file as written, without asking a running systemd (there is none
  # in a container).
  out=$(systemd-analyze security --offline=yes --no-pager "$src/installer/linux/$unit" 2>&1) || true
  score=$(sed -n "s/.*Overall exposure level for $unit: \([0-9][0-9.]*\).*/\1/p" <<<"$out")
  if [ -z "$score" ]; then
    echo "FAIL: no exposure score for $unit in:" >&2
    echo "$out" >&2
    failures=$((failures + 1))
    return
  fi
  if awk -v s="$score" -v m="$max" 'BEGIN { exit !(s + 0 <= m + 0) }'; then
    echo "$unit: exposure $score (threshold $max)"
  else
    echo "FAIL: $unit: exposure $score is above $max; what counts:" >&2
    grep '✗' <<<"$out" >&2 || true
    failures=$((failures + 1))
  fi
}

check cg-agent.service 3.0
check cg-soc.service 2.5
[ "$failures" -eq 0 ] || exit 1
echo "unit exposure: 2 passed, 0 failed"
