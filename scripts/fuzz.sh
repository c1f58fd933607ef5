#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in their own build dir and runs each for
# a bounded time from its committed seed corpus (tests/fuzz/corpus/<target>). A crash stops the
# script with the input saved under $CG_FUZZ_BUILD_DIR/artifacts/<target>/: fix the bug, then
# commit the input to tests/fuzz/regressions/<target>/ (fuzz_replay_test replays it).
# The targets run at the same time (one process each), so the step takes SECONDS of wall time
# whatever their number; each still runs for SECONDS.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 60 s; report policy http)
# Environment: CG_FUZZ_BUILD_DIR (default build-fuzz), CG_FUZZ_SECONDS, CG_FUZZ_BUILD_ONLY=1
# (build the targets, run nothing: scripts/test.sh builds them while the Linux tests run).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

seconds="${1:-${CG_FUZZ_SECONDS:-60}}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(report policy http)
build="${CG_FUZZ_BUILD_DIR:-$CG_ROOT/build-fuzz}"
clang="$(command -v clang++-14 || command -v clang++ || true)"
[ -n "$clang" ] || { echo "error: clang++ not found (apt-get install clang-14)" >&2; exit 1; }

generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$CG_ROOT" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="$clang" -DCG_FUZZ=ON -DCG_BUILD_TESTS=OFF >/dev/null
fi
cg_log "building fuzz targets (${targets[*]}) with $clang"
cmake --build "$build" -j2 --target "${targets[@]/#/fuzz_}"

[ "${CG_FUZZ_BUILD_ONLY:-0}" = "1" ] && exit 0

# LeakSanitizer is off: the targets keep one database and CA for the whole run on purpose.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
cg_log "fuzzing ${targets[*]} for ${seconds} s each, at the same time"
pids=()
for t in "${targets[@]}"; do
  corpus="$CG_ROOT/tests/fuzz/corpus/$t"
  work="$build/corpus/$t"          # grows during the run; the committed seeds stay as they are
  artifacts="$build/artifacts/$t/"
  mkdir -p "$work" "$artifacts"
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts" \
    -dict="$CG_ROOT/tests/fuzz/$t.dict" "$work" "$corpus" 2>"$build/fuzz-$t.log" &
  pids+=($!)
done
failed=()
for i in "${!targets[@]}"; do
  t="${targets[$i]}"
  if ! wait "${pids[$i]}"; then
    tail -n 60 "$build/fuzz-$t.log" >&2
    echo "error: fuzz target $t failed; input(s) in $build/artifacts/$t/" >&2
    failed+=("$t")
    continue
  fi
  grep -E '^stat::(number_of_executed_units|new_units_added)' "$build/fuzz-$t.log" |
    sed "s/^/  $t: /" >&2 || true
done
[ ${#failed[@]} -eq 0 ] || exit 1
cg_log "fuzzing passed: ${targets[*]} (${seconds} s each)"
