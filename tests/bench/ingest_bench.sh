#!/usr/bin/env bash
# SOC ingest and handshake benchmark (issue 7), every figure next to a reference measured in the
# same run on the same machine:
#   1. raw SQLite: the same rows inserted by a plain program (SOC schema and settings: WAL,
#      synchronous=FULL; one transaction per report, one INSERT per row), before and after
#      the SOC runs (the reference is their mean);
#   2. cg-soc ingest: N agents, each enrolled through POST /v1/enroll with its own key and
#      certificate, POSTing reports over keep-alive mTLS to a real `cg-soc serve`;
#      goal: >= 50 % of the raw SQLite rate;
#   3. full mTLS handshakes/s (no resumption, one HTTP request each so the server has verified
#      the client certificate) against cg-soc's agent port and against `openssl s_server` with
#      the same certificate, key and CA, from the same client (ingest_load handshake with
#      1 and 4 threads, and `openssl s_time -new`); goal: cg-soc >= 1.0x s_server.
# Usage: tests/bench/ingest_bench.sh [BUILD_DIR]
# Environment: CG_BENCH_AGENTS (32), CG_BENCH_REPORTS per agent (100), CG_BENCH_CHECKS (6),
# CG_BENCH_SECONDS per handshake run (10), CG_BENCH_DIR (a directory on the disk to measure;
# default a new directory under /var/tmp, which is disk-backed here, unlike a tmpfs /tmp).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${1:-$repo/build}"
soc="$build/soc/cg-soc"
load="$build/tests/bench/ingest_load"
for f in "$soc" "$load"; do
  [ -x "$f" ] || { echo "error: $f not built (cmake --build $build)" >&2; exit 2; }
done
command -v openssl >/dev/null || { echo "error: openssl CLI missing" >&2; exit 2; }
agents="${CG_BENCH_AGENTS:-32}"
reports="${CG_BENCH_REPORTS:-100}"
checks="${CG_BENCH_CHECKS:-6}"
seconds="${CG_BENCH_SECONDS:-10}"
work="$(mktemp -d "${CG_BENCH_DIR:-/var/tmp}/cg-ingest-bench.XXXXXX")"
soc_pid=""
ssl_pid=""
cleanup() {
  # Under set -e: a failing kill or wait (a killed server's status) must not end the
  # cleanup before the work directory is removed.
  if [ -n "$soc_pid" ]; then
    kill "$soc_pid" 2>/dev/null || true
    wait "$soc_pid" 2>/dev/null || true
  fi
  if [ -n "$ssl_pid" ]; then
    kill "$ssl_pid" 2>/dev/null || true
    wait "$ssl_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
field() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "filesystem of the databases: $(df -T "$work" | awk 'NR == 2 { print $2 " " $1 }')"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# start_soc, stop_soc, ingest: the steps both ingest benchmarks share.
source "$(dirname "${BASH_SOURCE[0]}")/soc_ingest_lib.sh"

mkdir -p "$work/raw" "$work/raw2" "$work/agents" "$work/agents1"
raw_json=$("$load" sqlite --work "$work/raw" --agents "$agents" --reports "$reports" \
  --checks "$checks")
start_soc "$work/soc1" --ingest-batch 1
single_json=$(ingest "$work/soc1" "$work/agents1")
stop_soc
start_soc "$work/soc"
ingest_json=$(ingest "$work/soc" "$work/agents")
# The reference again after the SOC runs: fsync time on a shared disk drifts within minutes,
# so the ratio is taken against the mean of the two.
raw2_json=$("$load" sqlite --work "$work/raw2" --agents "$agents" --reports "$reports" \
  --checks "$checks")
raw_before=$(echo "$raw_json" | field per_second)
raw_after=$(echo "$raw2_json" | field per_second)
raw_rate=$(awk -v a="$raw_before" -v b="$raw_after" 'BEGIN { print (a + b) / 2 }')
soc_rate=$(echo "$ingest_json" | field per_second)
single_rate=$(echo "$single_json" | field per_second)
retried=$(echo "$ingest_json" | field retried_503)

cert="$work/agents/agent0.crt"
key="$work/agents/agent0.key"
ca="$work/soc/ca.pem"
hs() {  # PORT THREADS
  "$load" handshake --server "127.0.0.1:$1" --ca "$ca" --cert "$cert" --key "$key" \
    --threads "$2" --seconds "$seconds" | field per_second
}
stime() {  # PORT
  openssl s_time -connect "127.0.0.1:$1" -new -cert "$cert" -key "$key" -CAfile "$ca" \
    -time "$seconds" -www / 2>/dev/null |
    sed -n 's/^\([0-9]*\) connections in \([0-9.]*\) real seconds.*/\1 \2/p' |
    awk '{ printf "%.1f", $1 / $2 }'
}
soc_hs1=$(hs "$agent_port" 1)
soc_hs4=$(hs "$agent_port" 4)
soc_st=$(stime "$agent_port")

ssl_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
openssl s_server -accept "127.0.0.1:$ssl_port" -cert "$work/soc/server.pem" \
  -key "$work/soc/server.key" -CAfile "$ca" -Verify 1 -verify_return_error -www -quiet \
  >/dev/null 2>"$work/s_server.log" &
ssl_pid=$!
sleep 1
ssl_hs1=$(hs "$ssl_port" 1)
ssl_hs4=$(hs "$ssl_port" 4)
ssl_st=$(stime "$ssl_port")

printf '\n%-64s %12s %8s\n' "ingest ($agents agents x $reports reports, $checks checks)" "reports/s" "ratio"
printf '%-64s %12.0f %8s\n' "raw SQLite, 1 transaction per report, before" "$raw_before" \
  "$(ratio "$raw_before" "$raw_rate")"
printf '%-64s %12.0f %8s\n' "raw SQLite, 1 transaction per report, after" "$raw_after" \
  "$(ratio "$raw_after" "$raw_rate")"
printf '%-64s %12.0f %8s\n' "raw SQLite, mean of the two (reference)" "$raw_rate" "1.00"
printf '%-64s %12.0f %8s\n' "cg-soc, one transaction per report (--ingest-batch 1)" \
  "$single_rate" "$(ratio "$single_rate" "$raw_rate")"
printf '%-64s %12.0f %8s\n' "cg-soc, group commit (default; $retried answers 503 retried)" \
  "$soc_rate" "$(ratio "$soc_rate" "$raw_rate")"
printf '\n%-64s %12s %8s\n' "full mTLS handshakes + 1 request" "per second" "ratio"
printf '%-64s %12.1f %8s\n' "openssl s_server, ingest_load 1 thread (reference)" "$ssl_hs1" "1.00"
printf '%-64s %12.1f %8s\n' "cg-soc agent port, ingest_load 1 thread" "$soc_hs1" "$(ratio "$soc_hs1" "$ssl_hs1")"
printf '%-64s %12.1f %8s\n' "openssl s_server, ingest_load 4 threads (reference)" "$ssl_hs4" "1.00"
printf '%-64s %12.1f %8s\n' "cg-soc agent port, ingest_load 4 threads" "$soc_hs4" "$(ratio "$soc_hs4" "$ssl_hs4")"
printf '%-64s %12.1f %8s\n' "openssl s_server, openssl s_time -new (reference)" "$ssl_st" "1.00"
printf '%-64s %12.1f %8s\n' "cg-soc agent port, openssl s_time -new" "$soc_st" "$(ratio "$soc_st" "$ssl_st")"
echo
awk -v s="$soc_rate" -v r="$raw_rate" 'BEGIN { print "ingest goal (>= 0.50 of raw SQLite): " (s >= 0.5 * r ? "met" : "NOT met") }'
awk -v a="$soc_hs4" -v b="$ssl_hs4" 'BEGIN { print "handshake goal (>= 1.0x s_server, 4 threads): " (a >= b ? "met" : "NOT met") }'
