#!/bin/bash
# The yara check's engine on Windows against the Linux `yara` CLI, on the same files: the
# Windows helper (under Wine) writes the rules and the corpus into a Unix directory, the Linux
# `yara` scans it, then the helper runs `cg-agent.exe scan` under Wine and compares the matches
# (yara_differential.cpp says what is compared).
#   yara_differential_test.sh EMULATOR HELPER_EXE AGENT_EXE           the corpus: every rule
#       kind, the mapping thresholds, Vietnamese names, a path beyond MAX_PATH, two files held
#       open (with and without sharing) while cg-agent.exe scans
#   yara_differential_test.sh EMULATOR HELPER_EXE AGENT_EXE huge      the 2.2 GiB sparse file
#       past 2^31 alone, with the size and offset rules (its own CTest test, so the two run side
#       by side under ctest -j2)
set -euo pipefail
# Wine names Unix files in the locale's charset: UTF-8, as the Linux side reads them.
export LC_ALL=C.UTF-8
emulator=$1 helper=$2 agent=$3 mode=${4:-corpus}
if ! command -v yara >/dev/null; then
  echo "the yara command is required (Debian package yara, in CG_PACKAGES)" >&2
  exit 1
fi
base=$(mktemp -d /tmp/cg-yara-win.XXXXXX)
trap 'rm -rf "$base"' EXIT
echo "yara $(yara --version); corpus in $base"
agent_win="Z:$(echo "$agent" | tr / '\\')"
if [ "$mode" = huge ]; then
  "$emulator" "$helper" make-huge "$base"
  yara -r -N "$base/rules.yar" "$base/corpus" >"$base/yara.out"
  "$emulator" "$helper" compare-huge "$base" "$agent_win"
else
  "$emulator" "$helper" make "$base"
  yara -r -N -p 2 "$base/rules.yar" "$base/corpus" >"$base/yara.out"
  "$emulator" "$helper" compare "$base" "$agent_win"
fi
