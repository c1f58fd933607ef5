#!/usr/bin/env bash
# The Windows job: installs the cross toolchain and Wine, builds (or reuses) the static mingw
# OpenSSL and libyara, cross-builds the Windows tree into build-win/ with warnings as errors,
# and runs its tests under Wine through CTest (CMAKE_CROSSCOMPILING_EMULATOR).
#
#   scripts/windows-test.sh             everything
#   CG_WIN_BUILD_DIR=dir ...            build directory (default <repo>/build-win)
#   CG_WIN_BUILD_ONLY=1 ...             build, no tests
#   CG_LINUX_BUILD_DIR=dir ...          the Linux build whose cg-soc and cgctl the Windows
#                                       agent talks to in cg_win_agent_soc_test (default
#                                       CG_BUILD_DIR, <repo>/build, which scripts/test.sh
#                                       builds first); without one that test is skipped
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD_DIR="${CG_WIN_BUILD_DIR:-$CG_ROOT/build-win}"

# The Linux packages the Windows build also needs (header-only libraries) are in CG_PACKAGES.
CG_PACKAGES=("${CG_PACKAGES[@]}" "${CG_WINDOWS_PACKAGES[@]}")
cg_install_deps

start=$(date +%s)
cg_log "mingw OpenSSL + libyara (cached under ${CG_MINGW_DEPS_CACHE:-/var/cache/counterguard/mingw-deps})"
deps="$(bash "$CG_ROOT/scripts/build-mingw-deps.sh")"
deps_done=$(date +%s)

# The Linux SOC and cgctl for the agent-to-SOC test under Wine.
linux_build="${CG_LINUX_BUILD_DIR:-$CG_BUILD_DIR}"
if [ -x "$linux_build/soc/cg-soc" ] && [ -x "$linux_build/cgctl/cgctl" ]; then
  cg_log "Linux cg-soc and cgctl for the agent-to-SOC test: $linux_build"
else
  cg_log "no Linux build with cg-soc and cgctl in $linux_build: cg_win_agent_soc_test will be skipped"
  linux_build=""
fi

cg_log "cross-building into $BUILD_DIR"
generator=()
if command -v ninja >/dev/null 2>&1; then
  generator=(-G Ninja)
fi
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S "$CG_ROOT" -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_TOOLCHAIN_FILE="$CG_ROOT/cmake/mingw-w64-x86_64.cmake" -DCG_MINGW_DEPS="$deps" \
    -DCG_WERROR=ON -DCG_BUILD_TESTS=ON -DCG_LINUX_BUILD_DIR="$linux_build"
else
  cmake -S "$CG_ROOT" -B "$BUILD_DIR" -DCG_MINGW_DEPS="$deps" \
    -DCG_LINUX_BUILD_DIR="$linux_build" >/dev/null
fi
cmake --build "$BUILD_DIR" -j2
build_done=$(date +%s)

if [ "${CG_WIN_BUILD_ONLY:-0}" = "1" ]; then
  cg_log "Windows build: deps $((deps_done - start)) s, build $((build_done - deps_done)) s"
  exit 0
fi

# cmake/wine-run.sh (the CTest emulator) creates the build tree's Wine prefix on first use.
wineprefix="$(sed -n 's/^CG_WINEPREFIX:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")"

cg_log "running the Windows tests under Wine"
status=0
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 --timeout 300 || status=$?
# The tests leave wineserver running for a few seconds; wait for it rather than leave it.
WINEPREFIX="$wineprefix" /usr/lib/wine/wineserver64 -w || true
tests_done=$(date +%s)
cg_log "Windows job: deps $((deps_done - start)) s, build $((build_done - deps_done)) s, tests $((tests_done - build_done)) s"
exit "$status"
