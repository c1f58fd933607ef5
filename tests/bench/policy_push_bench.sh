#!/usr/bin/env bash
# Push-to-applied latency of signed policy (issue 5) with N simulated agents (default 100) on a
# real cg-soc over loopback: each round an admin push of a newer signed policy, and per agent
# the time until its confirming report is committed. Prints median / p95 / max per round and
# overall (goal: under 2 s), and the reference round trip of one report measured in the same
# run. Usage: tests/bench/policy_push_bench.sh [BUILD_DIR] [AGENTS] [ROUNDS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${1:-$repo/build}"
agents="${2:-100}"
rounds="${3:-5}"
soc="$build/soc/cg-soc"
ctl="$build/cgctl/cgctl"
bench="$build/tests/bench/policy_push_bench"
for b in "$soc" "$ctl" "$bench"; do
  [ -x "$b" ] || { echo "error: $b not built (cmake --build $build)" >&2; exit 1; }
done

work="$(mktemp -d /tmp/cg-push-bench.XXXXXX)"
soc_pid=""
cleanup() {
  # Under set -e: a failing kill or wait (a killed server's status) must not end the
  # cleanup before the work directory is removed.
  if [ -n "$soc_pid" ]; then
    kill "$soc_pid" 2>/dev/null || true
    wait "$soc_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$soc" init --data-dir "$work/soc" --hostname localhost >/dev/null
"$ctl" policy keygen --out "$work/signing" >/dev/null
"$soc" policy-key add --data-dir "$work/soc" "$work/signing.pub" >/dev/null
"$soc" --log-level warn serve --data-dir "$work/soc" --agent-listen 127.0.0.1:0 \
  --operator-listen 127.0.0.1:0 --ready-file "$work/ports.json" \
  --enroll-burst "$((agents + 10))" --max-connections-per-address "$((2 * agents + 10))" \
  2>"$work/soc.log" &
soc_pid=$!
for _ in $(seq 1 100); do [ -s "$work/ports.json" ] && break; sleep 0.1; done
agent_port=$(sed -n 's/.*"agent_port": *\([0-9]*\).*/\1/p' "$work/ports.json")
operator_port=$(sed -n 's/.*"operator_port": *\([0-9]*\).*/\1/p' "$work/ports.json")
token=$("$ctl" --server "https://localhost:$operator_port" --ca "$work/soc/ca.pem" \
  --token-file "$work/soc/admin.token" enroll-token create --group laocai/bac-ha \
  --uses "$agents" | tail -n 1)

echo "policy push: $agents simulated agents (own certificates, long-poll held 55 s), $rounds rounds"
echo "machine: $(nproc) cores, $(uname -r)"
"$bench" --agent-server "localhost:$agent_port" --operator-server "localhost:$operator_port" \
  --ca "$work/soc/ca.pem" --admin-token-file "$work/soc/admin.token" --enroll-token "$token" \
  --signing-key "$work/signing.key" --work-dir "$work" --agents "$agents" --rounds "$rounds"
