#!/bin/sh
# CMAKE_CROSSCOMPILING_EMULATOR of the mingw build: runs one Windows program under Wine in
# the build tree's own prefix (CG_WINEPREFIX), creating that prefix on first use under a
# lock (tests run in parallel) and setting it to report Windows 10, the oldest Windows the
# agent supports (Wine 8 creates Windows 7 prefixes). No display: the programs are console
# programs; Wine's debug channels are off so test output stays readable (CG_WINEDEBUG sets
# them for a run that wants them).
#
# CG_WINEPREFIX_TEMPLATE (set by the build tree): a pristine prefix made once with wineboot
# and copied into every new prefix. Making a prefix takes 20-30 s of CPU (wineboot, winecfg);
# copying the template takes about 4 s, and the tests that need a fresh prefix of their own
# (the service and the MSI) would otherwise each pay the full price.
set -eu
prefix="${CG_WINEPREFIX:?CG_WINEPREFIX not set}"
template="${CG_WINEPREFIX_TEMPLATE:-}"
wine="${CG_WINE:-/usr/lib/wine/wine64}"
wineserver="${CG_WINESERVER:-/usr/lib/wine/wineserver64}"
export WINEDEBUG="${CG_WINEDEBUG:--all}" WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY

# make_prefix DIR: wineboot + Windows 10, under DIR.lock; nothing when DIR is ready.
make_prefix() {
  mkdir -p "$(dirname "$1")"
  (
    flock 9
    if [ ! -f "$1/.cg-ready" ]; then
      WINEPREFIX="$1" "$wine" wineboot --init >/dev/null 2>&1 || true
      WINEPREFIX="$1" "$wine" winecfg /v win10 >/dev/null 2>&1
      WINEPREFIX="$1" "$wineserver" -w
      [ -f "$1/system.reg" ] || {
        echo "wine-run: wineboot did not create $1" >&2
        exit 1
      }
      touch "$1/.cg-ready"
    fi
  ) 9>"$1.lock"
}

if [ ! -f "$prefix/.cg-ready" ]; then
  if [ -n "$template" ] && [ "$template" != "$prefix" ]; then
    make_prefix "$template"
    mkdir -p "$(dirname "$prefix")"
    (
      flock 9
      if [ ! -f "$prefix/.cg-ready" ]; then
        rm -rf "$prefix"
        cp -a "$template" "$prefix.tmp.$$"
        mv "$prefix.tmp.$$" "$prefix"
      fi
    ) 9>"$prefix.lock"
  else
    make_prefix "$prefix"
  fi
fi
export WINEPREFIX="$prefix"
exec "$wine" "$@"
