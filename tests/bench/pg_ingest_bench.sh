#!/usr/bin/env bash
# SOC ingest on PostgreSQL (issue 17: "sustained ingest on each backend, as a ratio to raw inserts
# in the same engine"); tests/bench/ingest_bench.sh is the SQLite one. In one run, on one
# throw-away cluster with the server's default durability (scripts/pg-test-cluster.sh with
# CG_PG_DURABLE=1: fsync on, data under /var/tmp):
#   1. raw PostgreSQL: the same rows inserted by a plain libpq program (`ingest_load postgres`:
#      the SOC's schema, one transaction per report, one INSERT per row), before and after the
#      SOC runs (the reference is their mean);
#   2. cg-soc ingest on that server (`cg-soc init --database`): N agents enrolled through
#      POST /v1/enroll, POSTing reports over keep-alive mTLS, with group commit (default) and
#      with one transaction per report (--ingest-batch 1). Each run has its own database.
# Usage: tests/bench/pg_ingest_bench.sh [BUILD_DIR]
# Environment: CG_BENCH_AGENTS (32), CG_BENCH_REPORTS per agent (100), CG_BENCH_CHECKS (6).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${1:-$repo/build}"
soc="$build/soc/cg-soc"
load="$build/tests/bench/ingest_load"
for f in "$soc" "$load"; do
  [ -x "$f" ] || { echo "error: $f not built (cmake --build $build)" >&2; exit 2; }
done
psql=$(command -v psql || true)
[ -n "$psql" ] || { echo "error: psql missing (Debian's postgresql-client)" >&2; exit 2; }
agents="${CG_BENCH_AGENTS:-32}"
reports="${CG_BENCH_REPORTS:-100}"
checks="${CG_BENCH_CHECKS:-6}"
work="$(mktemp -d /var/tmp/cg-pg-ingest-bench.XXXXXX)"
soc_pid=""
cleanup() {
  if [ -n "$soc_pid" ]; then
    kill "$soc_pid" 2>/dev/null || true
    wait "$soc_pid" 2>/dev/null || true
  fi
  "$repo/scripts/pg-test-cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
field() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

CG_PG_DURABLE=1 "$repo/scripts/pg-test-cluster.sh" start "$work/pg" >/dev/null
[ -s "$work/pg/uri" ] || { cat "$work/pg/absent" >&2 2>/dev/null; exit 2; }
base_uri=$(cat "$work/pg/uri")            # postgresql://cg@127.0.0.1:PORT/cg_test
server_uri="${base_uri%/*}"               # postgresql://cg@127.0.0.1:PORT
database() {  # NAME -> a new empty database's URI
  "$psql" "$server_uri/postgres" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $1" >/dev/null
  echo "$server_uri/$1"
}
echo "PostgreSQL $("$psql" "$base_uri" -Atc 'SHOW server_version'), fsync" \
  "$("$psql" "$base_uri" -Atc 'SHOW fsync'), synchronous_commit" \
  "$("$psql" "$base_uri" -Atc 'SHOW synchronous_commit'), data on" \
  "$(df -T /var/tmp | awk 'NR == 2 { print $2 " " $1 }')"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# start_soc, stop_soc, ingest: the steps both ingest benchmarks share.
source "$(dirname "${BASH_SOURCE[0]}")/soc_ingest_lib.sh"
raw() {  # DATABASE_NAME -> reports/s line (JSON)
  "$load" postgres --uri "$(database "$1")" --agents "$agents" --reports "$reports" \
    --checks "$checks"
}

mkdir -p "$work/soc" "$work/soc1" "$work/agents" "$work/agents1"
raw_json=$(raw raw_before)
soc_init_args=(--database "$(database soc_single)")
start_soc "$work/soc1" --ingest-batch 1
single_json=$(ingest "$work/soc1" "$work/agents1")
stop_soc
soc_init_args=(--database "$(database soc_group)")
start_soc "$work/soc"
ingest_json=$(ingest "$work/soc" "$work/agents")
stop_soc
raw2_json=$(raw raw_after)
raw_before=$(echo "$raw_json" | field per_second)
raw_after=$(echo "$raw2_json" | field per_second)
raw_rate=$(awk -v a="$raw_before" -v b="$raw_after" 'BEGIN { print (a + b) / 2 }')
soc_rate=$(echo "$ingest_json" | field per_second)
single_rate=$(echo "$single_json" | field per_second)
retried=$(echo "$ingest_json" | field retried_503)

printf '\n%-64s %12s %8s\n' "ingest on PostgreSQL ($agents agents x $reports reports, $checks checks)" \
  "reports/s" "ratio"
printf '%-64s %12.0f %8s\n' "raw PostgreSQL (libpq), 1 transaction per report, before" \
  "$raw_before" "$(ratio "$raw_before" "$raw_rate")"
printf '%-64s %12.0f %8s\n' "raw PostgreSQL (libpq), 1 transaction per report, after" \
  "$raw_after" "$(ratio "$raw_after" "$raw_rate")"
printf '%-64s %12.0f %8s\n' "raw PostgreSQL, mean of the two (reference)" "$raw_rate" "1.00"
printf '%-64s %12.0f %8s\n' "cg-soc, one transaction per report (--ingest-batch 1)" \
  "$single_rate" "$(ratio "$single_rate" "$raw_rate")"
printf '%-64s %12.0f %8s\n' "cg-soc, group commit (default; $retried answers 503 retried)" \
  "$soc_rate" "$(ratio "$soc_rate" "$raw_rate")"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
