#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests (issue 17): initdb + pg_ctl from Debian's
# `postgresql` package, run as an unprivileged user (PostgreSQL refuses to run as root; as root
# this uses `nobody`), listening on 127.0.0.1 only on a free port, trust authentication for the
# loopback and the cluster's own Unix socket directory only, data under a fresh /tmp directory.
#
#   scripts/pg-test-cluster.sh start STATE_DIR   # writes STATE_DIR/uri (a libpq URI)
#   scripts/pg-test-cluster.sh stop STATE_DIR    # stops the cluster and deletes its data
#
# CTest runs them as the FIXTURES_SETUP / FIXTURES_CLEANUP of the tests that need PostgreSQL
# (tests/unit/CMakeLists.txt); those tests read STATE_DIR/uri. Without the server binaries,
# start writes STATE_DIR/absent instead and the tests skip with that reason.
#
# CG_PG_DURABLE=1 (the benchmarks, tests/bench/pg_ingest_bench.sh): the data goes under /var/tmp
# (a disk here, where /tmp may be a tmpfs) and the server keeps its default durability (fsync,
# synchronous_commit, full_page_writes on), as a production server would.
set -euo pipefail

cmd=${1:-}
state=${2:-}
if [ -z "$cmd" ] || [ -z "$state" ]; then
  echo "usage: $0 start|stop STATE_DIR" >&2
  exit 2
fi

pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
      echo "$dir"
    fi
  done | sort -V | tail -n 1
}

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env -- "$@"
  else
    "$@"
  fi
}

stop_cluster() {
  [ -f "$state/datadir" ] || return 0
  local data bin
  data=$(cat "$state/datadir")
  bin=$(pg_bin)
  if [ -n "$bin" ] && [ -f "$data/db/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$data/db" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
  case "$data" in
    /tmp/cg-pgtest.* | /var/tmp/cg-pgtest.*) rm -rf -- "$data" ;;
  esac
  rm -f -- "$state/datadir" "$state/uri"
}

case "$cmd" in
  stop)
    stop_cluster
    exit 0
    ;;
  start) ;;
  *)
    echo "$0: unknown command $cmd" >&2
    exit 2
    ;;
esac

mkdir -p "$state"
stop_cluster  # a cluster left by an interrupted run
rm -f -- "$state/absent"
bin=$(pg_bin)
if [ -z "$bin" ]; then
  echo "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found under" \
    "/usr/lib/postgresql/*/bin: install Debian's postgresql package" | tee "$state/absent" >&2
  exit 0
fi

durable=${CG_PG_DURABLE:-0}
if [ "$durable" = 1 ]; then
  data=$(mktemp -d /var/tmp/cg-pgtest.XXXXXX)
  speed=""
else
  data=$(mktemp -d /tmp/cg-pgtest.XXXXXX)
  # fsync off: a test cluster that is thrown away; durability is tested on real clusters.
  speed="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
fi
echo "$data" >"$state/datadir"
chmod 0700 "$data"
if [ "$(id -u)" -eq 0 ]; then
  chown nobody:nogroup "$data"
fi
as_owner "$bin/initdb" -D "$data/db" -U cg --auth-local=trust --auth-host=reject \
  -E UTF8 --locale=C.UTF-8 --no-instructions >"$data/initdb.log" 2>&1 || {
  cat "$data/initdb.log" >&2
  exit 1
}
# Loopback only: the socket directory is the cluster's own (0700 as its owner), TCP on
# 127.0.0.1, and trust for exactly that address; everything else is refused.
cat >"$data/db/pg_hba.conf" <<'EOF'
local all all trust
host  all all 127.0.0.1/32 trust
EOF
chown "$(stat -c %u:%g "$data/db")" "$data/db/pg_hba.conf"

started=0
for _ in $(seq 1 20); do
  port=$((20000 + RANDOM % 40000))
  if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
    continue
  fi
  if as_owner "$bin/pg_ctl" -D "$data/db" -l "$data/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$data \
$speed -c max_connections=200" \
    start >/dev/null 2>&1; then
    started=1
    break
  fi
  rm -f "$data/db/postmaster.pid"
done
if [ "$started" -ne 1 ]; then
  cat "$data/server.log" >&2 || true
  echo "$0: could not start PostgreSQL" >&2
  exit 1
fi
as_owner "$bin/psql" -h "$data" -p "$port" -U cg -d postgres -v ON_ERROR_STOP=1 -q \
  -c "CREATE DATABASE cg_test" >/dev/null
echo "postgresql://cg@127.0.0.1:$port/cg_test" >"$state/uri"
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" \
  "(data $data): $(cat "$state/uri")"
