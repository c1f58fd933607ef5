#!/bin/sh
# CMAKE_CROSSCOMPILING_EMULATOR of the mingw build: runs one Windows program under Wine in
# the build tree's own prefix (CG_WINEPREFIX), creating that prefix on first use under a
# lock (tests run in parallel) and setting it to report Windows 10, the oldest Windows the
# agent supports (Wine 8 creates Windows 7 prefixes). No display: the programs are console
# programs; Wine's debug channels are off so test output stays readable.
set -eu
prefix="${CG_WINEPREFIX:?CG_WINEPREFIX not set}"
wine="${CG_WINE:-/usr/lib/wine/wine64}"
wineserver="${CG_WINESERVER:-/usr/lib/wine/wineserver64}"
export WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY
mkdir -p "$(dirname "$prefix")"
(
  flock 9
  if [ ! -f "$prefix/.cg-ready" ]; then
    "$wine" wineboot --init >/dev/null 2>&1 || true
    "$wine" winecfg /v win10 >/dev/null 2>&1
    "$wineserver" -w
    [ -f "$prefix/system.reg" ] || {
      echo "wine-run: wineboot did not create $prefix" >&2
      exit 1
    }
    touch "$prefix/.cg-ready"
  fi
) 9>"$prefix.lock"
exec "$wine" "$@"
