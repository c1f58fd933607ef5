# Shared by scripts/demo.sh and scripts/test.sh: dependency install and the build.
# shellcheck shell=bash

CG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CG_BUILD_DIR="${CG_BUILD_DIR:-$CG_ROOT/build}"

# Debian 12 packages the build, the demo and the tests need.
CG_PACKAGES=(
  g++ cmake ninja-build pkg-config ccache make
  libboost1.81-dev libssl-dev openssl nlohmann-json3-dev libyara-dev yara
  libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libsqlite3-dev sqlite3 libcli11-dev
  libargon2-dev libqrencode-dev libicu-dev zbar-tools
  clang-format-14 dconf-cli passwd procps iproute2 time clang-14
  sslscan testssl.sh python3 util-linux
  dpkg-dev lintian systemd bubblewrap strace
  rsyslog rsyslog-gnutls
  libpq-dev postgresql
  chromium nodejs
)

# What the Windows job (scripts/windows-test.sh) adds: the mingw-w64 cross compiler, Wine to
# run the tests, wixl for the MSI, Debian's GoogleTest sources (built with the cross
# compiler), and the tools scripts/build-mingw-deps.sh builds OpenSSL, libyara and SQLite with.
CG_WINDOWS_PACKAGES=(
  g++-mingw-w64-x86-64 wine wine64 wixl googletest
  dpkg-dev autoconf automake libtool perl make tcl
)

cg_log() { printf '==> %s\n' "$*" >&2; }

# The deb-src entries scripts/build-mingw-deps.sh fetches OpenSSL, libyara and SQLite sources
# from. Written once; returns 0 when it wrote them (apt's lists then need the one update that
# cg_install_deps makes when CG_APT_STALE=1), 1 when they were there already.
CG_DEB_SRC_FILE=/etc/apt/sources.list.d/counterguard-src.sources
cg_write_deb_src() {
  [ ! -f "$CG_DEB_SRC_FILE" ] || return 1
  [ "$(id -u)" -eq 0 ] || return 1
  cg_log "adding deb-src entries (bookworm, bookworm-security, trixie) in $CG_DEB_SRC_FILE"
  cat >"$CG_DEB_SRC_FILE" <<'EOF'
# Source packages only (deb-src): scripts/build-mingw-deps.sh builds OpenSSL (bookworm) and
# libyara 4.5.2 (trixie) for the mingw-w64 cross-build from Debian's own sources.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

# Installs what is missing (as root), or prints the exact apt-get line and stops (as non-root).
cg_install_deps() {
  local missing=()
  local p
  for p in "${CG_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ] && [ "${CG_APT_STALE:-0}" != "1" ]; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing Debian packages: ${missing[*]}" >&2
    echo "run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  CG_APT_STALE=0
  if [ ${#missing[@]} -gt 0 ]; then
    cg_log "installing: ${missing[*]}"
    apt-get install -y -q "${missing[@]}"
  fi
}

# Configures (Ninja when present) and builds with two jobs.
cg_build() {
  local generator=()
  if command -v ninja >/dev/null 2>&1; then
    generator=(-G Ninja)
  fi
  if [ ! -f "$CG_BUILD_DIR/CMakeCache.txt" ]; then
    cmake -S "$CG_ROOT" -B "$CG_BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
  else
    cmake -S "$CG_ROOT" -B "$CG_BUILD_DIR" "$@" >/dev/null
  fi
  cmake --build "$CG_BUILD_DIR" -j2
}
