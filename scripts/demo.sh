#!/usr/bin/env bash
# Installs what is missing, builds, and runs the demo on loopback: a SOC with a temporary
# data dir, one agent enrolled into it, one posture cycle, then the device as an analyst
# sees it; then the agent as a service, a signed policy pushed to it and an inspection.
# Everything stops at the end (or on Ctrl-C).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cg_install_deps
cg_build -DCG_BUILD_TESTS=OFF

bin="$CG_BUILD_DIR"
work="$(mktemp -d /tmp/counterguard-demo.XXXXXX)"
soc_pid=""
agent_pid=""
cleanup() {
  if [ -n "$agent_pid" ]; then
    kill "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
  fi
  if [ -n "$soc_pid" ]; then
    kill "$soc_pid" 2>/dev/null || true
    wait "$soc_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

cg_log "cg-soc init (CA, server certificate, database, admin token) in $work/soc"
"$bin/soc/cg-soc" init --data-dir "$work/soc" --hostname localhost >"$work/init.out"
tail -n +1 "$work/init.out" | sed '$d'   # everything but the secret on the last line

cg_log "cgctl policy keygen (offline signing key) and cg-soc policy-key add (the SOC verifies pushes)"
"$bin/cgctl/cgctl" policy keygen --out "$work/policy-signing"
"$bin/soc/cg-soc" policy-key add --data-dir "$work/soc" "$work/policy-signing.pub"

cg_log "cg-soc serve on loopback (ephemeral ports)"
"$bin/soc/cg-soc" serve --data-dir "$work/soc" --agent-listen 127.0.0.1:0 \
  --operator-listen 127.0.0.1:0 --ready-file "$work/ports.json" 2>"$work/soc.log" &
soc_pid=$!
for _ in $(seq 1 100); do
  [ -s "$work/ports.json" ] && break
  kill -0 "$soc_pid" 2>/dev/null || { cat "$work/soc.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$work/ports.json" ] || { echo "error: cg-soc did not start" >&2; cat "$work/soc.log" >&2; exit 1; }
agent_port=$(sed -n 's/.*"agent_port": *\([0-9]*\).*/\1/p' "$work/ports.json")
operator_port=$(sed -n 's/.*"operator_port": *\([0-9]*\).*/\1/p' "$work/ports.json")

cgctl=("$bin/cgctl/cgctl" --server "https://localhost:$operator_port" \
  --token-file "$work/soc/admin.token" --ca "$work/soc/ca.pem")

cg_log "cgctl enroll-token create --group laocai/bac-ha"
token=$("${cgctl[@]}" enroll-token create --group laocai/bac-ha | tail -n 1)

cg_log "cg-agent enroll --token-file - (the token on standard input, never in argv)"
printf '%s\n' "$token" | "$bin/agent/cg-agent" enroll --server "localhost:$agent_port" \
  --token-file - --ca "$work/soc/ca.pem" --policy-key "$work/policy-signing.pub" \
  --state-dir "$work/agent"

cg_log "cg-agent run --once (checks, report over mutual TLS)"
"$bin/agent/cg-agent" run --once --state-dir "$work/agent"

cg_log "cgctl devices"
"${cgctl[@]}" devices
device_id=$("$bin/agent/cg-agent" status --state-dir "$work/agent" --json |
  sed -n 's/.*"device_id": *"\([^"]*\)".*/\1/p')
cg_log "cgctl device $device_id"
"${cgctl[@]}" device "$device_id"

cg_log "cg-agent run (the service: long-poll for policy and inspections)"
"$bin/agent/cg-agent" run --state-dir "$work/agent" 2>"$work/agent.log" &
agent_pid=$!

cg_log "cgctl policy sign + push: passwords at most 60 days for laocai/"
cat >"$work/policy.json" <<'JSON'
{"version": 1, "name": "laocai-demo", "target": {"groups": ["laocai/"]},
 "checks": {"password_age": {"max_days": 60}}}
JSON
"$bin/cgctl/cgctl" policy sign --key "$work/policy-signing.key" "$work/policy.json" >"$work/policy.signed.json"
"${cgctl[@]}" policy push "$work/policy.signed.json"
for _ in $(seq 1 100); do
  "${cgctl[@]}" --json policy status | grep -q '"version": 1' && break
  sleep 0.1
done
cg_log "cgctl policy status (the agent confirmed version 1 within a second)"
"${cgctl[@]}" policy status

cg_log "cgctl inspect --device $device_id (an unannounced inspection)"
task=$("${cgctl[@]}" --json inspect --device "$device_id" | sed -n 's/.*"task_id": *"\([^"]*\)".*/\1/p')
for _ in $(seq 1 100); do
  "${cgctl[@]}" --json inspect status "$task" | grep -q '"state": "done"' && break
  sleep 0.1
done
"${cgctl[@]}" inspect status "$task"
