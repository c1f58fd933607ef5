#!/usr/bin/env bash
# One SOC node under N simulated agents (issue 17; default 10,000), every figure next to its
# goal or to a reference measured in the same run:
#   1. idle: N agents (tests/bench/cg_loadgen: own certificates from POST /v1/enroll, a first
#      report each, long-polls held) -> cg-soc's VmRSS / VmHWM / anonymous memory / descriptors
#      (reference: the same process before the agents came), and its CPU over a window while
#      the agents only hold their long-polls (each answered and asked again every 55 s);
#   2. policy push: a signed policy pushed over the operator API -> time until 95 % and 100 %
#      of the agents have it (each confirms it with a report);
#   3. reconnect storm: cg-soc stopped (SIGTERM; CG_LOAD_STOP_SIGNAL=KILL for kill -9), each
#      agent queues K reports meanwhile, cg-soc started again on the same port -> time until
#      every agent holds a long-poll again and every report is stored; every answer that is not
#      200 is counted by route and status (the SOC's back-pressure is 503/429 with Retry-After)
#      and the reports in the database are counted against the reports the agents made;
#   4. ingest with the N agents connected: tests/bench/ingest_load (32 agents x 100 reports over
#      keep-alive mTLS) against the same raw SQLite reference as ingest_bench.sh, before and
#      after (the reference is their mean).
# Usage: tests/bench/load_bench.sh [BUILD_DIR] [--agents N] [--database URL] [--idle-seconds S]
#          [--backlog K] [--pushes P] [--stop-after push] [--smoke]
# --database is handed to `cg-soc init/serve/policy-key add` (a PostgreSQL node); the raw ingest
# reference is SQLite's, so its ratio is printed only for the SQLite backend.
# --smoke: 200 agents, short windows, small ingest (the ctest load_bench_smoke); exits 1 when a
# report is lost, refused otherwise than by back-pressure, or a push does not reach everyone.
# Environment: CG_BENCH_DIR (where the data goes; default /var/tmp, disk-backed).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="$repo/build"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
  build="$1"
  shift
fi
agents=10000 database="" idle=60 backlog=3 pushes=2 smoke=0 stop_after=""
ingest_agents=32 ingest_reports=100
while [ $# -gt 0 ]; do
  case "$1" in
    --agents) agents="$2"; shift 2 ;;
    --database) database="$2"; shift 2 ;;
    --idle-seconds) idle="$2"; shift 2 ;;
    --backlog) backlog="$2"; shift 2 ;;
    --pushes) pushes="$2"; shift 2 ;;
    --stop-after) stop_after="$2"; shift 2 ;;
    --smoke) smoke=1; agents=200; idle=3; backlog=2; pushes=1; ingest_agents=4
      ingest_reports=20; shift ;;
    *) echo "error: unknown argument $1" >&2; exit 2 ;;
  esac
done
soc="$build/soc/cg-soc"
ctl="$build/cgctl/cgctl"
lg="$build/tests/bench/cg_loadgen"
il="$build/tests/bench/ingest_load"
for f in "$soc" "$ctl" "$lg" "$il"; do
  [ -x "$f" ] || { echo "error: $f not built (cmake --build $build)" >&2; exit 2; }
done
# Each agent holds one connection: N descriptors here and N in cg-soc, plus reconnects.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((agents + 500)) ]; then
  echo "error: open-file limit $(ulimit -n) is below $((agents + 500)) for $agents agents" >&2
  exit 2
fi
db_args=()
[ -n "$database" ] && db_args=(--database "$database")
work="$(mktemp -d "${CG_BENCH_DIR:-/var/tmp}/cg-load-bench.XXXXXX")"
soc_pid=""
cleanup() {
  if [ -n "${LG_PID:-}" ]; then kill "$LG_PID" 2>/dev/null || true; fi
  if [ -n "$soc_pid" ]; then
    kill "$soc_pid" 2>/dev/null || true
    wait "$soc_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
die() {
  echo "error: $*" >&2
  tail -n 20 "$work/loadgen.err" "$work/soc.log" >&2 2>/dev/null || true
  exit 1
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)
j() { python3 -c 'import json, sys; v = json.loads(sys.argv[1]); [v := v[k] for k in sys.argv[2:]]; print(v if not isinstance(v, float) else round(v, 3))' "$@"; }

"$soc" init --data-dir "$work/soc" --hostname localhost "${db_args[@]}" >/dev/null
"$ctl" policy keygen --out "$work/signing" >/dev/null
"$soc" policy-key add --data-dir "$work/soc" "${db_args[@]}" "$work/signing.pub" >/dev/null
agent_port=0 op_port=0
start_soc() {
  rm -f "$work/ready.json"
  "$soc" --log-level warn serve --data-dir "$work/soc" "${db_args[@]}" \
    --agent-listen "127.0.0.1:$agent_port" --operator-listen "127.0.0.1:$op_port" \
    --ready-file "$work/ready.json" --enroll-burst $((agents + 1000)) \
    --enroll-per-minute 60000 --max-connections $((2 * agents + 1000)) 2>>"$work/soc.log" &
  soc_pid=$!
  for _ in $(seq 300); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
  [ -s "$work/ready.json" ] || die "cg-soc did not start"
  agent_port=$(sed -n 's/.*"agent_port": *\([0-9]*\).*/\1/p' "$work/ready.json")
  op_port=$(sed -n 's/.*"operator_port": *\([0-9]*\).*/\1/p' "$work/ready.json")
}
stop_soc() {  # SIGNAL
  kill -s "$1" "$soc_pid"
  wait "$soc_pid" 2>/dev/null || true
  soc_pid=""
}

echo "load bench: $agents simulated agents against one cg-soc ($(
  [ -n "$database" ] && echo "database $database" || echo "SQLite")), $(nproc) CPUs, $(uname -r)"
echo "load average at start: $(loadavg)"
start_soc
sleep $((smoke ? 0 : 2))
rss0=$(status_kb "$soc_pid" VmRSS)
fd0=$(ls "/proc/$soc_pid/fd" | wc -l)
token=$("$ctl" --server "https://localhost:$op_port" --ca "$work/soc/ca.pem" \
  --token-file "$work/soc/admin.token" enroll-token create --group laocai/bac-ha \
  --uses "$agents" | tail -n 1)

coproc LG { "$lg" --server "localhost:$agent_port" --operator "localhost:$op_port" \
  --ca "$work/soc/ca.pem" --token "$token" --admin-token-file "$work/soc/admin.token" \
  --signing-key "$work/signing.key" --agents "$agents" 2>"$work/loadgen.err"; }
exec {lg_in}>&"${LG[1]}" {lg_out}<&"${LG[0]}"
send() { echo "$1" >&"$lg_in"; }
answer() {  # WORD -> the JSON of the loadgen's next answer line starting with WORD
  local line
  while IFS= read -r -t 3600 line <&"$lg_out"; do
    case "$line" in
      "$1 "*) echo "${line#* }"; return 0 ;;
      ERROR*) die "cg_loadgen: $line" ;;
      *) echo "$line" >&2 ;;
    esac
  done
  die "cg_loadgen ended without answering $1"
}

# 1. Idle.
enrolled=$(answer ENROLLED)
ready=$(answer READY)
lg_pid=$(pgrep -P "$LG_PID" -x cg_loadgen || echo "$LG_PID")
sleep $((smoke ? 1 : 5))  # the first reports' group commits settle
rss=$(status_kb "$soc_pid" VmRSS)
hwm=$(status_kb "$soc_pid" VmHWM)
anon=$(status_kb "$soc_pid" RssAnon)
fds=$(ls "/proc/$soc_pid/fd" | wc -l)
threads=$(status_kb "$soc_pid" Threads)
idle_load_before=$(loadavg)
c0=$(cpu_ticks "$soc_pid")
l0=$(cpu_ticks "$lg_pid")
sleep "$idle"
c1=$(cpu_ticks "$soc_pid")
l1=$(cpu_ticks "$lg_pid")
idle_cpu=$(awk -v a="$c0" -v b="$c1" -v t="$tck" -v s="$idle" 'BEGIN { printf "%.2f", (b - a) / t / s * 100 }')
lg_idle_cpu=$(awk -v a="$l0" -v b="$l1" -v t="$tck" -v s="$idle" 'BEGIN { printf "%.2f", (b - a) / t / s * 100 }')
lg_rss=$(status_kb "$lg_pid" VmRSS)
held=$(send status; answer STATUS)
echo
echo "1. idle, $agents agents holding long-polls (load average $idle_load_before -> $(loadavg))"
echo "   enrollment through POST /v1/enroll: $(j "$enrolled" seconds) s; all connected, first report stored, long-polls held: $(j "$ready" seconds) s"
awk -v r0="$rss0" -v r="$rss" -v h="$hwm" -v a="$anon" -v n="$agents" -v f0="$fd0" -v f="$fds" \
  -v th="$threads" 'BEGIN {
    printf "   cg-soc before the agents (reference): VmRSS %.1f MiB, %d descriptors\n", r0 / 1024, f0
    printf "   cg-soc with the agents: VmRSS %.1f MiB (goal <= 1024 MiB: %s), VmHWM %.1f MiB, anonymous %.1f MiB, %d descriptors, %d threads\n",
      r / 1024, (r <= 1048576 ? "met" : "NOT met"), h / 1024, a / 1024, f, th
    printf "   per agent connection: %.1f KiB (VmRSS difference / %d)\n", (r - r0) / n, n }'
echo "   cg-soc CPU while idle over ${idle} s: ${idle_cpu} % of one core (polls held: $(j "$held" polls_held))"
echo "   cg_loadgen: VmRSS $((lg_rss / 1024)) MiB, CPU ${lg_idle_cpu} % of one core"

# 2. Policy push.
echo
echo "2. policy push to $agents connected agents (goal: 95 % within 5 s)"
push_ok=1
for v in $(seq 1 "$pushes"); do
  load_before=$(loadavg)
  c0=$(cpu_ticks "$soc_pid")
  send "push $v"
  p=$(answer PUSH)
  c1=$(cpu_ticks "$soc_pid")
  t95=$(j "$p" t95_s)
  t100=$(j "$p" t100_s)
  echo "   push $v: 95 % after ${t95} s ($(awk -v t="$t95" 'BEGIN { print (t >= 0 && t <= 5) ? "met" : "NOT met" }')), all $(j "$p" delivered)/$agents after ${t100} s; the push request answered $(j "$p" push_status) in $(j "$p" push_request_s) s; cg-soc CPU $(awk -v a="$c0" -v b="$c1" -v t="$tck" 'BEGIN { printf "%.1f", (b - a) / t }') s; load average $load_before -> $(loadavg)"
  [ "$(j "$p" delivered)" = "$agents" ] || push_ok=0
  sleep $((smoke ? 0 : 2))
done

if [ "$stop_after" = push ]; then
  send quit
  answer FINAL >/dev/null
  [ "$push_ok" = 1 ] || { echo "FAIL: a push did not reach every agent"; exit 1; }
  exit 0
fi

# 3. Reconnect storm.
sig="${CG_LOAD_STOP_SIGNAL:-TERM}"
echo
echo "3. reconnect storm: cg-soc stopped with SIG$sig, $backlog reports queued per agent, started again"
send down
answer OK >/dev/null
storm_load_before=$(loadavg)
t_stop=$(date +%s.%N)
stop_soc "$sig"
t_stopped=$(date +%s.%N)
send "backlog $backlog"
answer OK >/dev/null
start_soc
t_up=$(date +%s.%N)
send restarted
c0=$(cpu_ticks "$soc_pid")
storm=$(answer STORM)
c1=$(cpu_ticks "$soc_pid")
s_rss=$(status_kb "$soc_pid" VmRSS)
s_hwm=$(status_kb "$soc_pid" VmHWM)
awk -v a="$t_stop" -v b="$t_stopped" -v c="$t_up" 'BEGIN {
  printf "   stop took %.2f s, start %.2f s\n", b - a, c - b }'
echo "   every agent back on a long-poll after $(j "$storm" back_s) s, every report stored after $(j "$storm" drained_s) s (from the restart)"
echo "   cg-soc during the storm: CPU $(awk -v a="$c0" -v b="$c1" -v t="$tck" 'BEGIN { printf "%.1f", (b - a) / t }') s, VmHWM $((s_hwm / 1024)) MiB, VmRSS after $((s_rss / 1024)) MiB; load average $storm_load_before -> $(loadavg)"
echo "   answers other than 200 since the start: $(j "$storm" answers)"
echo "   connections that failed: connect $(j "$storm" connect_failures), handshake $(j "$storm" handshake_failures), broken mid-request $(j "$storm" broken_exchanges)"

# 4. Ingest with the agents connected.
echo
echo "4. ingest: $ingest_agents agents x $ingest_reports reports over keep-alive mTLS while $agents agents hold long-polls"
mkdir -p "$work/raw1" "$work/raw2" "$work/ingest"
raw_args=(--agents "$ingest_agents" --reports "$ingest_reports" --checks 6)
raw1=$("$il" sqlite --work "$work/raw1" "${raw_args[@]}")
ing=$("$il" ingest --server "localhost:$agent_port" --operator "localhost:$op_port" \
  --data-dir "$work/soc" --work "$work/ingest" "${raw_args[@]}")
raw2=$("$il" sqlite --work "$work/raw2" "${raw_args[@]}")
r1=$(j "$raw1" per_second)
r2=$(j "$raw2" per_second)
rs=$(j "$ing" per_second)
echo "   raw SQLite, 1 transaction per report (reference, before / after): $r1 / $r2 reports/s"
if [ -z "$database" ]; then
  awk -v a="$r1" -v b="$r2" -v s="$rs" 'BEGIN {
    printf "   cg-soc: %.0f reports/s = %.2fx the mean raw rate (goal >= 0.50: %s)\n", s,
      s / ((a + b) / 2), (s >= 0.25 * (a + b) ? "met" : "NOT met") }'
else
  echo "   cg-soc: $rs reports/s (no raw reference in the same engine for $database yet)"
fi
echo "   $(j "$ing" retried_503) answers 503 retried; load average $(loadavg)"

# 5. Every report the agents made is in the database.
send quit
final=$(answer FINAL)
stop_soc TERM
if [ -z "$database" ]; then
  stored=$(sqlite3 "$work/soc/soc.db" 'SELECT count(*) FROM reports')
else
  stored=$(psql "$database" -Atc 'SELECT count(*) FROM reports')
fi
made=$(($(j "$final" created) + $(j "$ing" reports)))
echo
echo "5. reports: the agents made $(j "$final" created) (+ $(j "$ing" reports) by ingest_load), the SOC committed $(j "$final" committed) ($(j "$final" duplicates) answered as duplicates of a retry), rejected $(j "$final" rejected); in the database: $stored (expected $made)"
echo "load average at the end: $(loadavg)"
bad=$(python3 -c '
import json, sys
a = json.loads(sys.argv[1])["answers"]
print(sum(n for k, n in a.items() if not k.endswith((" 503", " 429"))))' "$final")
ok=1
[ "$stored" = "$made" ] || { echo "FAIL: $stored reports stored, $made made"; ok=0; }
[ "$(j "$final" lost)" = 0 ] && [ "$(j "$final" rejected)" = 0 ] || { echo "FAIL: reports lost or rejected"; ok=0; }
[ "$bad" = 0 ] || { echo "FAIL: $bad answers other than 200, 503 and 429"; ok=0; }
[ "$(j "$final" retry_after_missing)" = 0 ] || { echo "FAIL: 503/429 without Retry-After"; ok=0; }
[ "$push_ok" = 1 ] || { echo "FAIL: a push did not reach every agent"; ok=0; }
[ "$(j "$storm" back)" = "$agents" ] || { echo "FAIL: not every agent came back"; ok=0; }
if [ "$ok" = 1 ]; then
  echo "RESULT ok: no report lost, only back-pressure refusals, every push and reconnect complete"
else
  exit 1
fi
