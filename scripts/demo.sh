#!/usr/bin/env bash
# Installs what is missing, builds, and runs the demo on loopback: a SOC with a temporary
# data dir, one agent enrolled into it, one posture cycle, then the device as an analyst
# sees it. Everything stops at the end (or on Ctrl-C).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cg_install_deps
cg_build -DCG_BUILD_TESTS=OFF

bin="$CG_BUILD_DIR"
work="$(mktemp -d /tmp/counterguard-demo.XXXXXX)"
soc_pid=""
cleanup() {
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

cgctl=("$bin/soc/cgctl" --server "https://localhost:$operator_port" \
  --token-file "$work/soc/admin.token" --ca "$work/soc/ca.pem")

cg_log "cgctl enroll-token create --group laocai/bac-ha"
token=$("${cgctl[@]}" enroll-token create --group laocai/bac-ha | tail -n 1)

cg_log "cg-agent enroll"
"$bin/agent/cg-agent" enroll --server "localhost:$agent_port" --token "$token" \
  --ca "$work/soc/ca.pem" --state-dir "$work/agent"

cg_log "cg-agent run --once (checks, report over mutual TLS)"
"$bin/agent/cg-agent" run --once --state-dir "$work/agent"

cg_log "cgctl devices"
"${cgctl[@]}" devices
device_id=$("$bin/agent/cg-agent" status --state-dir "$work/agent" --json |
  sed -n 's/.*"device_id": *"\([^"]*\)".*/\1/p')
cg_log "cgctl device $device_id"
"${cgctl[@]}" device "$device_id"
