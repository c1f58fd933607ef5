#!/usr/bin/env bash
# The dashboard end to end (issue 16): a real cg-soc on loopback with four enrolled agents
# (one running as a service), an admin account made with `cg-soc account create-admin`, then
# dashboard_e2e.mjs drives Debian's chromium through playwright-core.
#   run_e2e.sh BUILD_DIR SOURCE_DIR
# Screenshots and the downloaded report go to BUILD_DIR/tests/e2e/artifacts (printed).
# playwright-core comes from npm (tests/e2e/package-lock.json) into BUILD_DIR/tests/e2e/npm;
# no browser is downloaded. Everything it starts is stopped on exit.
# With CG_IT_BACKEND=postgres (CTest's pg.dashboard_e2e), the SOC runs on a database of its own
# in the throw-away cluster of the pg_cluster fixture (BUILD_DIR/pg-test/uri), dropped on exit;
# artifacts go to BUILD_DIR/tests/e2e/artifacts-pg. Exit 77 (skipped) without the PostgreSQL
# server binaries.
set -euo pipefail
build="$(cd "$1" && pwd)"
src="$(cd "$2" && pwd)"
chromium="${CG_CHROMIUM:-/usr/bin/chromium}"
for tool in node npm "$chromium"; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing (scripts/lib.sh installs it)" >&2; exit 1; }
done

out="$build/tests/e2e"
backend=${CG_IT_BACKEND:-sqlite}
artifacts="$out/artifacts"
if [ "$backend" = postgres ]; then
  if [ -f "$build/pg-test/absent" ]; then
    cat "$build/pg-test/absent" >&2
    exit 77
  fi
  if [ ! -s "$build/pg-test/uri" ]; then
    echo "error: no PostgreSQL test cluster ($build/pg-test/uri): run through ctest" >&2
    exit 1
  fi
  pg_base=$(cat "$build/pg-test/uri")
  pg_name="cg_e2e_$$"
  artifacts="$out/artifacts-pg"
fi
npm_dir="$out/npm"
mkdir -p "$out" "$npm_dir"
rm -rf "$artifacts"
mkdir -p "$artifacts"

# playwright-core, installed again only when the lock file changed.
if ! cmp -s "$src/tests/e2e/package-lock.json" "$npm_dir/package-lock.json" ||
   [ ! -d "$npm_dir/node_modules/playwright-core" ]; then
  cp "$src/tests/e2e/package.json" "$src/tests/e2e/package-lock.json" "$npm_dir/"
  (cd "$npm_dir" && timeout 300 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
fi

work="$(mktemp -d /tmp/cg-e2e.XXXXXX)"
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ] && [ -f "$work/soc.log" ]; then
    echo "--- cg-soc log (last 40 lines)" >&2
    tail -n 40 "$work/soc.log" >&2
  fi
  rm -rf "$work"
  if [ -n "${pg_created:-}" ]; then
    psql -X "$pg_base" -qc "DROP DATABASE IF EXISTS $pg_name WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  exit "$rc"
}
trap cleanup EXIT INT TERM

soc="$build/soc/cg-soc"
ctl="$build/cgctl/cgctl"
agent="$build/agent/cg-agent"
database=()
if [ "$backend" = postgres ]; then
  psql -X "$pg_base" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $pg_name" >/dev/null
  pg_created=1
  database=(--database "${pg_base%/*}/$pg_name")
fi
"$soc" init --data-dir "$work/soc" --hostname localhost "${database[@]}" >/dev/null
if [ "$backend" = postgres ] &&
   { [ ! -f "$work/soc/database.uri" ] || [ -e "$work/soc/soc.db" ]; }; then
  echo "error: the PostgreSQL run's SOC is not on PostgreSQL" >&2
  exit 1
fi
"$ctl" policy keygen --out "$work/policy-signing" >/dev/null
"$soc" policy-key add --data-dir "$work/soc" "$work/policy-signing.pub" >/dev/null
"$soc" serve --data-dir "$work/soc" --agent-listen 127.0.0.1:0 --operator-listen 127.0.0.1:0 \
  --ready-file "$work/ports.json" --dashboard-dir "$src/dashboard" 2>"$work/soc.log" &
pids+=($!)
for _ in $(seq 1 150); do
  [ -s "$work/ports.json" ] && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "error: cg-soc exited" >&2; exit 1; }
  sleep 0.1
done
[ -s "$work/ports.json" ] || { echo "error: cg-soc did not start" >&2; exit 1; }
agent_port=$(sed -n 's/.*"agent_port": *\([0-9]*\).*/\1/p' "$work/ports.json")
operator_port=$(sed -n 's/.*"operator_port": *\([0-9]*\).*/\1/p' "$work/ports.json")
cgctl=("$ctl" --server "https://localhost:$operator_port" --token-file "$work/soc/admin.token"
       --ca "$work/soc/ca.pem")

# Four PCs of this machine, told apart by machine id. A signed policy for laocai/ asks for 10
# years of OS support left, which no release has: the two laocai PCs, running as services,
# apply it and report noncompliant whatever this machine is. One PC reports an unsigned policy
# of its own (unverified), one never reports (unknown).
t() { timeout 60 "$@"; }
enroll() {  # NAME GROUP
  local token
  token=$(t "${cgctl[@]}" enroll-token create --group "$2" | tail -n 1)
  printf '%s\n' "$token" | t "$agent" enroll --server "localhost:$agent_port" --token-file - \
    --ca "$work/soc/ca.pem" --policy-key "$work/policy-signing.pub" --state-dir "$work/$1" \
    --machine-id "$(cat /proc/sys/kernel/random/uuid)" >/dev/null 2>&1
  t "$agent" status --state-dir "$work/$1" --json | sed -n 's/.*"device_id": *"\([^"]*\)".*/\1/p'
}
service_device=$(enroll pc-bac-ha laocai/bac-ha)
other_device=$(enroll pc-sa-pa laocai/sa-pa)
enroll pc-lax hanoi/ba-dinh >/dev/null
enroll pc-silent hanoi/hoan-kiem >/dev/null
cat >"$work/policy.json" <<'JSON'
{"version": 1, "name": "e2e-laocai", "target": {"groups": ["laocai/"]},
 "checks": {"os_license": {"min_days_left": 3650}}}
JSON
t "$ctl" policy sign --key "$work/policy-signing.key" "$work/policy.json" >"$work/policy.signed.json"
t "${cgctl[@]}" policy push "$work/policy.signed.json" >/dev/null
echo '{"version": 99, "name": "lax", "checks": {"antivirus": {"enabled": false}, "password_age": {"enabled": false}}}' \
  >"$work/lax.json"
t "$agent" run --once --state-dir "$work/pc-lax" --policy "$work/lax.json" 2>"$work/pc-lax.log"
for pc in pc-bac-ha pc-sa-pa; do
  "$agent" run --state-dir "$work/$pc" 2>"$work/$pc.log" &
  pids+=($!)
done
# Both services applied the policy and reported, so that the fleet is settled before the
# browser looks.
for device in "$service_device" "$other_device"; do
  for _ in $(seq 1 300); do
    answer=$(t "${cgctl[@]}" --json device "$device" 2>/dev/null || true)
    grep -q '"policy_version": *1\b' <<<"$answer" && grep -q '"status": *"noncompliant"' <<<"$answer" &&
      break
    sleep 0.2
  done
done

# A group's Vietnamese name, set with cgctl; the dashboard shows it next to the slug.
t "${cgctl[@]}" group name laocai/bac-ha "Xã Bắc Hà" >/dev/null

admin=$(t "$soc" account create-admin --data-dir "$work/soc" thu.tran \
  --display-name "Trần Thị Thu" --json)
setup_code=$(printf '%s' "$admin" | sed -n 's/.*"setup_code": *"\([^"]*\)".*/\1/p')
[ -n "$setup_code" ] || { echo "error: no setup code from create-admin: $admin" >&2; exit 1; }

echo "artifacts: $artifacts"
CG_URL="https://localhost:$operator_port/" CG_ACCOUNT=thu.tran CG_SETUP_CODE="$setup_code" \
CG_SERVICE_DEVICE="$service_device" CG_REPORT_GROUP=laocai CG_NONCOMPLIANT=2 \
CG_NAMED_GROUP=laocai/bac-ha CG_NAMED_GROUP_NAME="Xã Bắc Hà" \
CG_ARTIFACTS="$artifacts" CG_CHROMIUM="$chromium" CG_USER_DATA="$work/chromium-profile" \
NODE_PATH="$npm_dir/node_modules" \
  timeout 240 node "$src/tests/e2e/dashboard_e2e.mjs"
