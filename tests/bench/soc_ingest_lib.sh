# shellcheck shell=bash
# The cg-soc and ingest steps ingest_bench.sh (SQLite) and pg_ingest_bench.sh (PostgreSQL)
# share. Needs $soc (cg-soc), $load (ingest_load), $agents, $reports and $checks; the extra
# `cg-soc init` options go in the array soc_init_args (e.g. --database URI).
soc_init_args=()

start_soc() {  # DATA_DIR [serve options...]: starts cg-soc, sets soc_pid agent_port op_port
  local dir="$1"
  shift
  "$soc" init --data-dir "$dir" --hostname localhost "${soc_init_args[@]}" >/dev/null 2>&1
  rm -f "$dir/ready.json"
  "$soc" --log-level warn serve --data-dir "$dir" --agent-listen 127.0.0.1:0 \
    --operator-listen 127.0.0.1:0 --ready-file "$dir/ready.json" --enroll-burst 100000 \
    --max-connections-per-address 100000 "$@" 2>"$dir/soc.log" &
  soc_pid=$!
  for _ in $(seq 100); do [ -s "$dir/ready.json" ] && break; sleep 0.1; done
  [ -s "$dir/ready.json" ] || { cat "$dir/soc.log" >&2; exit 1; }
  agent_port=$(sed -n 's/.*"agent_port":\([0-9]*\).*/\1/p' "$dir/ready.json")
  op_port=$(sed -n 's/.*"operator_port":\([0-9]*\).*/\1/p' "$dir/ready.json")
}

stop_soc() {
  kill "$soc_pid" && wait "$soc_pid" 2>/dev/null || true
  soc_pid=""
}

ingest() {  # DATA_DIR AGENT_WORK_DIR -> reports/s line (JSON)
  "$load" ingest --server "localhost:$agent_port" --operator "localhost:$op_port" \
    --data-dir "$1" --work "$2" --agents "$agents" --reports "$reports" --checks "$checks"
}
