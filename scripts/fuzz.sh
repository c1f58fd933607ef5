#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in their own build dir and runs each for
# a bounded time from its committed seed corpus (tests/fuzz/corpus/<target>). A crash stops the
# script with the input saved under $CG_FUZZ_BUILD_DIR/artifacts/<target>/: fix the bug, then
# commit the input to tests/fuzz/regressions/<target>/ (fuzz_replay_test replays it).
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 60 s; report policy http)
# Environment: CG_FUZZ_BUILD_DIR (default build-fuzz), CG_FUZZ_SECONDS.
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

# LeakSanitizer is off: the targets keep one database and CA for the whole run on purpose.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
for t in "${targets[@]}"; do
  corpus="$CG_ROOT/tests/fuzz/corpus/$t"
  work="$build/corpus/$t"          # grows during the run; the committed seeds stay as they are
  artifacts="$build/artifacts/$t/"
  mkdir -p "$work" "$artifacts"
  cg_log "fuzzing $t for ${seconds} s"
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts" \
    -dict="$CG_ROOT/tests/fuzz/$t.dict" "$work" "$corpus" 2>"$build/fuzz-$t.log" || {
    tail -n 60 "$build/fuzz-$t.log" >&2
    echo "error: fuzz target $t failed; input(s) in $artifacts" >&2
    exit 1
  }
  grep -E '^stat::(number_of_executed_units|new_units_added)' "$build/fuzz-$t.log" |
    sed "s/^/  $t: /" >&2 || true
done
cg_log "fuzzing passed: ${targets[*]} (${seconds} s each)"
