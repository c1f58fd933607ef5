#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, checks formatting, and runs the
# whole test suite (unit + integration) with CTest, then the fuzz targets for a bounded time.
# .ci/run calls exactly this.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The Windows job's packages and the deb-src entries of its dependency build come in the same
# single apt-get update and install; CG_WINDOWS=0 skips the Windows job.
if [ "${CG_WINDOWS:-1}" != "0" ]; then
  CG_PACKAGES+=("${CG_WINDOWS_PACKAGES[@]}")
  if cg_write_deb_src; then
    CG_APT_STALE=1
  fi
fi
cg_install_deps
cg_build -DCG_WERROR=ON -DCG_BUILD_TESTS=ON -DCG_TEST_HOOKS=ON

cg_log "checking formatting (clang-format 14, .clang-format)"
cd "$CG_ROOT"
unformatted=$(git ls-files '*.cpp' '*.h' | xargs -r clang-format-14 --dry-run 2>&1 | grep -c 'warning:' || true)
if [ "$unformatted" != "0" ]; then
  git ls-files '*.cpp' '*.h' | xargs -r clang-format-14 --dry-run 2>&1 | grep 'warning:' | cut -d: -f1 | sort -u >&2
  echo "error: the files above are not formatted (clang-format-14 -i FILE)" >&2
  exit 1
fi

# While the Linux tests run (they mostly wait on sockets, timers and child processes), the
# CPU-bound builds the later steps need run beside them at the lowest priority: the mingw
# OpenSSL and libyara (cached; about 5 min cold) and the libFuzzer targets. The Windows job
# and the fuzzing step then find them built. Their output goes to build/background.log.
background_pid=""
if [ "${CG_WINDOWS:-1}" != "0" ] || [ "${CG_FUZZ_SECONDS:-60}" != "0" ]; then
  # Its own process group (setsid), so that a failed test run can stop it whole.
  CG_BG_WINDOWS="${CG_WINDOWS:-1}" CG_BG_FUZZ="${CG_FUZZ_SECONDS:-60}" setsid bash -c '
    set -e
    if [ "$CG_BG_WINDOWS" != "0" ]; then
      nice -n 19 bash "$0/scripts/build-mingw-deps.sh" >/dev/null
    fi
    if [ "$CG_BG_FUZZ" != "0" ]; then
      CG_FUZZ_BUILD_ONLY=1 nice -n 19 bash "$0/scripts/fuzz.sh"
    fi' "$CG_ROOT" >"$CG_BUILD_DIR/background.log" 2>&1 &
  background_pid=$!
fi

cg_log "running tests"
phase_start=$(date +%s)
status=0
ctest --test-dir "$CG_BUILD_DIR" --output-on-failure -j2 --timeout 600 || status=$?
cg_log "Linux tests: $(($(date +%s) - phase_start)) s"
if [ -n "$background_pid" ]; then
  if [ "$status" != "0" ]; then
    kill -- "-$background_pid" 2>/dev/null || true
  elif ! wait "$background_pid"; then
    tail -n 60 "$CG_BUILD_DIR/background.log" >&2
    echo "error: the mingw dependencies or the fuzz targets did not build ($CG_BUILD_DIR/background.log)" >&2
    exit 1
  fi
  cg_log "background builds done: $(($(date +%s) - phase_start)) s after the tests started"
fi
[ "$status" = "0" ] || exit "$status"

# The Windows agent: mingw-w64 cross-build and its tests under Wine (docs/windows.md).
if [ "${CG_WINDOWS:-1}" != "0" ]; then
  cg_log "Windows job (scripts/windows-test.sh)"
  bash "$CG_ROOT/scripts/windows-test.sh"
fi

# libFuzzer targets (clang, own build dir), each for a bounded time from the committed seed
# corpus; CG_FUZZ_SECONDS (default 60) per target, the targets at the same time; 0 skips the
# step.
if [ "${CG_FUZZ_SECONDS:-60}" != "0" ]; then
  cg_log "fuzzing (${CG_FUZZ_SECONDS:-60} s per target)"
  bash "$CG_ROOT/scripts/fuzz.sh" "${CG_FUZZ_SECONDS:-60}"
fi
cg_log "scripts/test.sh: passed in $SECONDS s"
