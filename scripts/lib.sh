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
)

# What the Windows job (scripts/windows-test.sh) adds: the mingw-w64 cross compiler, Wine to
# run the tests, wixl for the MSI, Debian's GoogleTest sources (built with the cross
# compiler), and the tools scripts/build-mingw-deps.sh builds OpenSSL, libyara and SQLite with.
CG_WINDOWS_PACKAGES=(
  g++-mingw-w64-x86-64 wine wine64 wixl googletest
  dpkg-dev autoconf automake libtool perl make tcl
)

cg_log() { printf '==> %s\n' "$*" >&2; }

# Installs what is missing (as root), or prints the exact apt-get line and stops (as non-root).
cg_install_deps() {
  local missing=()
  local p
  for p in "${CG_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing Debian packages: ${missing[*]}" >&2
    echo "run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  cg_log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
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
