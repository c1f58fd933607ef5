#!/usr/bin/env bash
# How light `cg-agent` is, measured from /proc (issue 17): an enrolled `cg-agent run` talking
# to a real `cg-soc serve` on loopback, left alone at its default schedule.
#   - idle memory once start-up has settled (the first cycle sent, the long-poll held):
#     VmRSS and VmHWM from /proc/PID/status; Anonymous, Private_Dirty/Clean and Pss from
#     /proc/PID/smaps_rollup; threads;
#   - idle CPU: time on a CPU of all threads (/proc/PID/task/*/schedstat, ns) and their context
#     switches (wakeups, /proc/PID/task/*/status) over a window of CG_BENCH_IDLE_SECONDS
#     (default 120: two of the SOC's 55 s long-polls);
#   - the CPU of one full check cycle without YARA: `cg-agent check` of every other check on
#     this machine (utime+stime from GNU time, mean of CG_BENCH_CYCLES runs) and `cg-agent run
#     --once` (the same checks plus the report sent over mTLS, process start included);
#   - the average CPU over an hour at the default schedule: (idle CPU per second x 3600 +
#     cycles per hour x CPU of a cycle inside `run`) / 3600 s, as a percentage of one core;
#   - the binary size, as built and stripped (`strip -o`, a copy).
# Reference in the same run: /bin/true's CPU and an idle `sleep`'s RSS, started the same way.
# Goals: idle RSS <= 10 MB, a cycle <= 200 ms CPU, average < 0.1 % of a core.
#
#   tests/bench/agent_bench.sh AGENT_BUILD_DIR [SOC_BUILD_DIR]
# SOC_BUILD_DIR (default AGENT_BUILD_DIR) holds soc/cg-soc and cgctl/cgctl: the SOC is only the
# peer here. Use a Release build of the agent (-DCMAKE_BUILD_TYPE=Release).
set -euo pipefail
export LC_ALL=C

build=${1:?usage: agent_bench.sh AGENT_BUILD_DIR [SOC_BUILD_DIR]}
soc_build=${2:-$build}
agent=$(cd "$build" && pwd)/agent/cg-agent
soc=$soc_build/soc/cg-soc
ctl=$soc_build/cgctl/cgctl
window=${CG_BENCH_IDLE_SECONDS:-120}
cycles=${CG_BENCH_CYCLES:-15}
interval=900 # cg-agent run's default (--interval); a policy may set its own
for f in "$agent" "$soc" "$ctl"; do
  [ -x "$f" ] || { echo "agent_bench: $f is not built" >&2; exit 2; }
done
for tool in /usr/bin/time strip awk; do
  command -v "$tool" >/dev/null || { echo "agent_bench: $tool is required" >&2; exit 2; }
done
checks=antivirus,os_license,office_license,screen_lock,password_age

work=$(mktemp -d /tmp/cg-agent-bench.XXXXXX)
soc_pid=""
agent_pid=""
cleanup() {
  for p in $agent_pid $soc_pid; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# ---- a SOC and an enrolled agent -----------------------------------------------------------
"$soc" init --data-dir "$work/soc" --hostname localhost >/dev/null
"$soc" --log-level warn serve --data-dir "$work/soc" --agent-listen 127.0.0.1:0 \
  --operator-listen 127.0.0.1:0 --ready-file "$work/ports.json" 2>"$work/soc.log" &
soc_pid=$!
for _ in $(seq 1 200); do [ -s "$work/ports.json" ] && break; sleep 0.1; done
agent_port=$(sed -n 's/.*"agent_port": *\([0-9]*\).*/\1/p' "$work/ports.json")
operator_port=$(sed -n 's/.*"operator_port": *\([0-9]*\).*/\1/p' "$work/ports.json")
[ -n "$agent_port" ] || { cat "$work/soc.log" >&2; exit 2; }
"$ctl" --server "https://localhost:$operator_port" --ca "$work/soc/ca.pem" \
  --token-file "$work/soc/admin.token" enroll-token create --group laocai/bac-ha --uses 1 |
  tail -n 1 >"$work/enroll.token"
"$agent" --log-level warn enroll --server "localhost:$agent_port" --token-file "$work/enroll.token" \
  --ca "$work/soc/ca.pem" --state-dir "$work/state" >/dev/null

# ---- a cycle -------------------------------------------------------------------------------
# cpu_runs CMD...: "CPU_ms peak_RSS_KB" of $cycles runs of CMD made in one shell loop under GNU
# time (which counts the waited-for children): the mean CPU per run (a single run is below GNU
# time's 10 ms resolution) and the largest process's peak RSS.
cpu_runs() {
  /usr/bin/time -f '%U %S %M' -o "$work/t" sh -c \
    'n=$1; shift; i=0; while [ $i -lt $n ]; do "$@" >/dev/null 2>&1; i=$((i + 1)); done' \
    sh "$cycles" "$@" || true
  awk -v n="$cycles" '{ printf "%.1f %d\n", ($1 + $2) * 1000 / n, $3 }' "$work/t"
}
read -r true_ms true_rss < <(cpu_runs /bin/true)
read -r check_ms check_rss < <(cpu_runs "$agent" check --only "$checks" --state-dir "$work/check-state")
read -r once_ms once_rss < <(cpu_runs "$agent" --log-level warn run --once --state-dir "$work/state")

# ---- idle `cg-agent run` -------------------------------------------------------------------
# CPU time of all threads in ns (/proc/PID/task/*/schedstat: time on a CPU, nanoseconds; the
# utime+stime of /proc/PID/stat counts 10 ms ticks, too coarse for an idle process).
proc_cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d", s }'; }
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { s += $2 } END { print s }'; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
rollup_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/smaps_rollup"; }

"$agent" --log-level warn run --state-dir "$work/state" 2>"$work/agent.log" &
agent_pid=$!
# Settled: the first cycle's report is on the SOC and the long-poll is waiting.
sleep 10
kill -0 "$agent_pid" || { cat "$work/agent.log" >&2; exit 1; }
start_ns=$(proc_cpu_ns "$agent_pid")
start_sw=$(switches "$agent_pid")
rss=$(status_kb "$agent_pid" VmRSS)
hwm=$(status_kb "$agent_pid" VmHWM)
anon=$(rollup_kb "$agent_pid" Anonymous)
pdirty=$(rollup_kb "$agent_pid" Private_Dirty)
pclean=$(rollup_kb "$agent_pid" Private_Clean)
pss=$(rollup_kb "$agent_pid" Pss)
threads=$(status_kb "$agent_pid" Threads)
sleep "$window"
end_ns=$(proc_cpu_ns "$agent_pid")
end_sw=$(switches "$agent_pid")
rss_end=$(status_kb "$agent_pid" VmRSS)
idle_ms=$(awk -v a="$start_ns" -v b="$end_ns" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')
wakeups=$((end_sw - start_sw))

# Reference for memory: a process that only sleeps, started the same way.
sleep 60 &
sleep_pid=$!
sleep 0.2
sleep_rss=$(status_kb "$sleep_pid" VmRSS)
kill "$sleep_pid"
wait "$sleep_pid" 2>/dev/null || true

# Reference for a TLS client: `openssl s_client` connected to the SOC's operator port (server
# authentication only), handshake done, idle, 2 s after start. It maps the same libcrypto,
# libssl and libc from Debian's packages: what any OpenSSL TLS client on this system costs.
lib_rss_kb() { # PID LIBRARY-NAME-PART: Rss of that library's mappings
  awk -v lib="$2" '/^[0-9a-f]+-[0-9a-f]+ / { name = $6 } /^Rss:/ && index(name, lib) { s += $2 }
    END { printf "%d", s }' "/proc/$1/smaps"
}
agent_crypto=$(lib_rss_kb "$agent_pid" libcrypto.so)
openssl s_client -connect "127.0.0.1:$operator_port" -CAfile "$work/soc/ca.pem" -ign_eof \
  < <(sleep 30) >/dev/null 2>&1 &
client_pid=$!
sleep 2
client_rss=0 client_pss=0 client_crypto=0
if kill -0 "$client_pid" 2>/dev/null; then
  client_rss=$(status_kb "$client_pid" VmRSS)
  client_pss=$(rollup_kb "$client_pid" Pss)
  client_crypto=$(lib_rss_kb "$client_pid" libcrypto.so)
fi
kill "$client_pid" 2>/dev/null || true
wait "$client_pid" 2>/dev/null || true
[ "$client_rss" -gt 0 ] || echo "agent_bench: the openssl s_client reference did not stay connected" >&2

size=$(stat -c %s "$agent")
strip -o "$work/cg-agent.stripped" "$agent"
stripped=$(stat -c %s "$work/cg-agent.stripped")

# ---- report --------------------------------------------------------------------------------
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
avg=$(awk -v idle="$idle_ms" -v w="$window" -v cyc="$once_ms" -v iv="$interval" \
  'BEGIN { printf "%.4f", (idle / w * 3600 + 3600 / iv * cyc) / 3600 / 1000 * 100 }')
echo "cg-agent lightness, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "agent: $agent"
echo
printf '%-52s %s\n' "idle cg-agent run (10 s after start)" "VmRSS $(mb "$rss") MB (after ${window} s: $(mb "$rss_end") MB), VmHWM $(mb "$hwm") MB"
printf '%-52s %s\n' "  smaps_rollup" "Anonymous $(mb "$anon") MB, Private_Dirty $(mb "$pdirty") MB, Private_Clean $(mb "$pclean") MB, Pss $(mb "$pss") MB"
printf '%-52s %s\n' "  of which libcrypto.so.3" "$(mb "$agent_crypto") MB"
printf '%-52s %s\n' "  threads" "$threads"
printf '%-52s %s\n' "  reference: sleep(1)" "VmRSS $(mb "$sleep_rss") MB"
printf '%-52s %s\n' "  reference: idle openssl s_client (TLS, connected)" "VmRSS $(mb "$client_rss") MB, of which libcrypto.so.3 $(mb "$client_crypto") MB; Pss $(mb "$client_pss") MB"
printf '%-52s %s\n' "  cg-agent / openssl s_client" "VmRSS $(awk -v a="$rss" -v b="$client_rss" 'BEGIN { printf "%.2f", b ? a / b : 0 }')x, Pss $(awk -v a="$pss" -v b="$client_pss" 'BEGIN { printf "%.2f", b ? a / b : 0 }')x"
printf '%-52s %s\n' "idle CPU over ${window} s" "$idle_ms ms ($wakeups context switches, $(awk -v s="$wakeups" -v w="$window" 'BEGIN { printf "%.2f", s / w }')/s)"
printf '%-52s %s\n' "cg-agent check (every check but yara), mean of $cycles" "$check_ms ms CPU, peak RSS $(mb "$check_rss") MB"
printf '%-52s %s\n' "cg-agent run --once (checks + mTLS report)" "$once_ms ms CPU, peak RSS $(mb "$once_rss") MB"
printf '%-52s %s\n' "  reference: /bin/true" "$true_ms ms CPU"
printf '%-52s %s\n' "average CPU, default schedule (${interval} s)" "$avg % of one core (idle rate x 3600 s + $((3600 / interval)) cycles x $once_ms ms, per hour)"
printf '%-52s %s\n' "binary" "$(mb $((size / 1024))) MB as built, $(mb $((stripped / 1024))) MB stripped"
echo
awk -v r="$rss" -v c="$once_ms" -v a="$avg" -v p="$pss" -v an="$anon" 'BEGIN {
  printf "goals: idle RSS <= 10 MB %s; cycle <= 200 ms %s; average < 0.1 %% %s\n",
    (r <= 10240 ? "met" : "NOT MET"), (c <= 200 ? "met" : "NOT MET"), (a < 0.1 ? "met" : "NOT MET")
  printf "proposed memory goal (docs/performance.md): Pss <= 10 MB %s, anonymous <= 4 MB %s\n",
    (p <= 10240 ? "met" : "NOT MET"), (an <= 4096 ? "met" : "NOT MET") }'
