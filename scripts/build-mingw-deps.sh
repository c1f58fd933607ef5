#!/usr/bin/env bash
# Builds the compiled libraries the Windows cross-build needs, static, for
# x86_64-w64-mingw32, from Debian's own source packages (no other downloads):
#   OpenSSL 3  - the bookworm source package (the release this tree builds on),
#   libyara    - 4.5.2 from trixie (Debian 12's yara source tarball is no longer served),
#   SQLite 3   - the bookworm source package (the yara check's scan cache).
# The result is cached OUTSIDE the clone, keyed by the source versions, the recipe and the
# compiler, and reused when present. Prints the prefix (include/ and lib/) on stdout.
#
#   scripts/build-mingw-deps.sh            build what is missing, print the prefix
#   CG_MINGW_DEPS_CACHE=/dir ...           cache root (default /var/cache/counterguard/mingw-deps)
#   CG_MINGW_DEPS_JOBS=N ...               make -j (default 2)
set -euo pipefail

CACHE_ROOT="${CG_MINGW_DEPS_CACHE:-/var/cache/counterguard/mingw-deps}"
JOBS="${CG_MINGW_DEPS_JOBS:-2}"
HOST=x86_64-w64-mingw32
YARA_VERSION=4.5.2-1
SOURCES_FILE=/etc/apt/sources.list.d/counterguard-src.sources
# Bump when the recipe below changes in a way that changes the output.
RECIPE=2

log() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# deb-src entries only (scripts/lib.sh cg_write_deb_src): binary installs keep coming from the
# system's own sources (bookworm), and trixie contributes nothing but source packages.
ensure_deb_src() {
  if [ -f "$SOURCES_FILE" ]; then
    return 0
  fi
  [ "$(id -u)" -eq 0 ] || die "missing $SOURCES_FILE (deb-src entries); run this script once as root"
  # shellcheck source=scripts/lib.sh
  source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
  cg_write_deb_src
  apt-get update -q >&2
}

# The bookworm (deb12) source versions of package $1 that apt knows, newest first.
bookworm_candidates() {
  apt-cache showsrc "$1" 2>/dev/null | sed -n 's/^Version: //p' | grep -E '[~+]deb12' |
    sort -u | sort -r -V
}
openssl_candidates() { bookworm_candidates openssl; }

compiler_id() { "$HOST-gcc-posix" --version | head -1; }

# Downloads and unpacks (with Debian's patches applied) one source package version into $2.
fetch_source() {
  local spec="$1" dest="$2"
  local dl
  dl="$(mktemp -d)"
  if ! (cd "$dl" && apt-get source -q "$spec" >"$dl/log" 2>&1); then
    rm -rf "$dl"
    return 1
  fi
  local dir
  dir="$(find "$dl" -mindepth 1 -maxdepth 1 -type d | head -1)"
  [ -n "$dir" ] || die "apt-get source $spec unpacked nothing"
  rm -rf "$dest"
  mv "$dir" "$dest"
  rm -rf "$dl"
}

build_openssl() {
  local version="$1" prefix="$2"
  log "OpenSSL $version for $HOST (static) -> $prefix"
  (
    cd "$WORK/openssl"
    # CC is prefixed by --cross-compile-prefix: x86_64-w64-mingw32-gcc-posix.
    # OPENSSLDIR is where OpenSSL looks for openssl.cnf, which it loads at initialisation: it
    # must be a directory only administrators can write (a default such as C:\usr\local\ssl
    # lets any user plant a configuration in a SYSTEM service). Configure only takes an
    # absolute path in the build machine's syntax; on Windows it resolves on the system drive.
    # no-dso/no-module: nothing is ever loaded from ENGINESDIR/MODULESDIR.
    ./Configure mingw64 no-shared no-tests no-module no-dso --cross-compile-prefix="$HOST-" \
      CC=gcc-posix --prefix="$prefix" --libdir=lib --openssldir=/ProgramData/CounterGuard/ssl >&2
    make -j"$JOBS" build_libs >&2
    make install_dev >&2
  )
}

build_yara() {
  local prefix="$1" ssl_prefix="$2"
  log "libyara $YARA_VERSION for $HOST (static, hash module on the mingw OpenSSL) -> $prefix"
  (
    cd "$WORK/yara"
    ./bootstrap.sh >&2
    # --with-crypto (the default) finds libcrypto through these flags; a static libcrypto on
    # Windows needs the system libraries it calls.
    ./configure --host="$HOST" --disable-shared --enable-static --prefix="$prefix" \
      CC="$HOST-gcc-posix" CPPFLAGS="-I$ssl_prefix/include" LDFLAGS="-L$ssl_prefix/lib" \
      LIBS="-lcrypt32 -lws2_32 -lgdi32 -ladvapi32 -luser32" >&2
    make -j"$JOBS" libyara.la >&2
    # Only the library: the yara/yarac programs are not needed and `make install` would build them.
    mkdir -p "$prefix/lib" "$prefix/include/yara"
    cp .libs/libyara.a "$prefix/lib/"
    cp libyara/include/yara.h "$prefix/include/"
    cp libyara/include/yara/*.h "$prefix/include/yara/"
  )
}

# SQLite (the yara check's scan cache) from the bookworm source: its build makes the
# amalgamation with the build machine's tclsh, which is then compiled with the cross compiler.
# Added to an existing prefix, with its own marker, so adding it needed no OpenSSL rebuild.
build_sqlite() {
  local prefix="$1" version="" candidate
  if ls "$prefix"/.sqlite-* >/dev/null 2>&1; then
    return 0
  fi
  for candidate in $(bookworm_candidates sqlite3); do
    if fetch_source "sqlite3=$candidate" "$WORK/sqlite"; then
      version="$candidate"
      break
    fi
  done
  [ -n "$version" ] || die "no bookworm SQLite source package could be fetched (apt-get source sqlite3)"
  log "SQLite $version for $HOST (static) -> $prefix"
  local t0
  t0=$(date +%s)
  (
    cd "$WORK/sqlite"
    mkdir -p build
    cd build
    # lemon and mkkeywordhash run on the build machine (Debian's CROSS_BUILDING rules).
    ../configure --host="$HOST" --disable-shared --disable-tcl --disable-readline \
      CC="$HOST-gcc-posix" BUILD_CC=gcc >&2
    make sqlite3.c CROSS_BUILDING=yes BCC="gcc -O2" BEXE= >&2
    "$HOST-gcc-posix" -O2 -DSQLITE_THREADSAFE=1 -DSQLITE_OMIT_LOAD_EXTENSION \
      -DSQLITE_DEFAULT_FOREIGN_KEYS=1 -c sqlite3.c -o sqlite3.o
    "$HOST-ar" rcs libsqlite3.a sqlite3.o
    mkdir -p "$prefix/lib" "$prefix/include"
    cp libsqlite3.a "$prefix/lib/"
    cp sqlite3.h "$prefix/include/"
    [ ! -f sqlite3ext.h ] || cp sqlite3ext.h "$prefix/include/"
  )
  echo "sqlite3 $version ($(($(date +%s) - t0)) s)" >>"$prefix/VERSIONS"
  touch "$prefix/.sqlite-$version"
}

main() {
  command -v "$HOST-gcc-posix" >/dev/null || die "$HOST-gcc-posix missing (apt-get install g++-mingw-w64-x86-64)"
  ensure_deb_src
  mkdir -p "$CACHE_ROOT"

  local openssl_version="" key prefix candidate
  local compiler
  compiler="$(compiler_id)"
  # The newest bookworm version already built, else the newest whose source is served
  # (the mirror sometimes lists a security version whose files are not there).
  # Global: the EXIT trap runs after main has returned.
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/cg-mingw-deps.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
  for candidate in $(openssl_candidates); do
    key="$(printf '%s\n' "$RECIPE" "$compiler" "openssl=$candidate" "yara=$YARA_VERSION" |
      sha256sum | cut -c1-16)"
    if [ -f "$CACHE_ROOT/$key/.complete" ]; then
      log "cached: $CACHE_ROOT/$key (OpenSSL $candidate, yara $YARA_VERSION)"
      build_sqlite "$CACHE_ROOT/$key"
      echo "$CACHE_ROOT/$key"
      return 0
    fi
  done
  for candidate in $(openssl_candidates); do
    if fetch_source "openssl=$candidate" "$WORK/openssl"; then
      openssl_version="$candidate"
      break
    fi
    log "openssl $candidate: source not served, trying the next version"
  done
  [ -n "$openssl_version" ] || die "no bookworm OpenSSL source package could be fetched (apt-get source openssl)"
  fetch_source "yara=$YARA_VERSION" "$WORK/yara" || die "apt-get source yara=$YARA_VERSION failed"

  key="$(printf '%s\n' "$RECIPE" "$compiler" "openssl=$openssl_version" "yara=$YARA_VERSION" |
    sha256sum | cut -c1-16)"
  prefix="$CACHE_ROOT/$key"
  rm -rf "$prefix"
  mkdir -p "$prefix"
  local t0 t1 t2
  t0=$(date +%s)
  build_openssl "$openssl_version" "$prefix"
  t1=$(date +%s)
  build_yara "$prefix" "$prefix"
  t2=$(date +%s)
  cat >"$prefix/VERSIONS" <<EOF
openssl $openssl_version ($((t1 - t0)) s)
yara $YARA_VERSION ($((t2 - t1)) s)
compiler $compiler
recipe $RECIPE
EOF
  touch "$prefix/.complete"
  build_sqlite "$prefix"
  log "built in $((t2 - t0)) s: OpenSSL $((t1 - t0)) s, libyara $((t2 - t1)) s"
  echo "$prefix"
}

main "$@"
