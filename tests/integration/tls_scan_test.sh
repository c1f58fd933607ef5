#!/usr/bin/env bash
# TLS scan of both SOC listeners (issue 4): sslscan against the agent and the operator port,
# testssl.sh against the operator port. Fails on any protocol below TLS 1.2, any accepted suite
# that is not forward-secret AEAD (ECDHE + GCM/ChaCha20-Poly1305 in TLS 1.2; every TLS 1.3
# suite is both), any vulnerability or warning either tool reports, and on a tool that is
# missing or whose output cannot be read (a scan that could not decide is not a pass).
# testssl.sh runs only protocols (-p), cipher categories (-s), forward secrecy (-f) and
# vulnerabilities (-U), which takes about half a minute; the certificate checks are skipped
# (the SOC's CA is private on purpose).
# Usage: tls_scan_test.sh BUILD_DIR
set -euo pipefail

build=${1:?usage: tls_scan_test.sh BUILD_DIR}
soc_bin="$build/soc/cg-soc"
for tool in sslscan testssl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "FAIL: $tool is not installed (Debian packages sslscan and testssl.sh, see scripts/lib.sh)" >&2
    exit 1
  fi
done

tmp=$(mktemp -d)
soc_pid=""
cleanup() {
  if [ -n "$soc_pid" ]; then
    kill "$soc_pid" 2>/dev/null || true
    wait "$soc_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

"$soc_bin" init --data-dir "$tmp/soc" --hostname localhost >/dev/null
"$soc_bin" serve --data-dir "$tmp/soc" --agent-listen 127.0.0.1:0 --operator-listen 127.0.0.1:0 \
  --ready-file "$tmp/ready.json" 2>"$tmp/soc.log" &
soc_pid=$!
for _ in $(seq 1 300); do
  [ -s "$tmp/ready.json" ] && break
  kill -0 "$soc_pid" 2>/dev/null || { cat "$tmp/soc.log" >&2; exit 1; }
  sleep 0.05
done
ready=$(cat "$tmp/ready.json")
agent_port=$(sed -n 's/.*"agent_port":\([0-9]*\).*/\1/p' <<<"$ready")
operator_port=$(sed -n 's/.*"operator_port":\([0-9]*\).*/\1/p' <<<"$ready")
if [ -z "$agent_port" ] || [ -z "$operator_port" ]; then
  echo "FAIL: cg-soc did not report its ports: $ready" >&2
  exit 1
fi

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

scan_with_sslscan() {
  local name=$1 port=$2 out start
  start=$(date +%s)
  out=$(sslscan --no-colour "127.0.0.1:$port" 2>&1) || { fail "$name: sslscan failed: $out"; return; }
  echo "--- sslscan $name port ($port), $(($(date +%s) - start)) s"
  echo "$out" | sed -n '/SSL\/TLS Protocols:/,/Server Key Exchange/p'
  local p
  for p in SSLv2 SSLv3 TLSv1.0 TLSv1.1; do
    grep -Eq "^$p +disabled" <<<"$out" || fail "$name: $p is not reported disabled"
  done
  grep -Eq '^TLSv1.3 +enabled' <<<"$out" || fail "$name: TLS 1.3 is not offered"
  grep -Eq '^TLSv1.2 +enabled' <<<"$out" || fail "$name: TLS 1.2 is not offered"
  local accepted=0 line proto cipher
  while read -r line; do
    proto=$(awk '{print $2}' <<<"$line")
    cipher=$(awk '{print $5}' <<<"$line")
    accepted=$((accepted + 1))
    case "$proto" in
      TLSv1.3) ;;  # every TLS 1.3 suite is AEAD with (EC)DHE
      TLSv1.2)
        if ! [[ "$cipher" =~ ^ECDHE- ]] || ! [[ "$cipher" =~ (GCM|CHACHA20-POLY1305) ]]; then
          fail "$name: TLS 1.2 suite $cipher is not ECDHE + AEAD"
        fi
        ;;
      *) fail "$name: suite $cipher accepted with $proto" ;;
    esac
  done < <(grep -E '^(Preferred|Accepted) ' <<<"$out")
  [ "$accepted" -gt 0 ] || fail "$name: sslscan listed no accepted suite (could not decide)"
  grep -Ei 'vulnerable to heartbleed' <<<"$out" | grep -Eiqv 'not vulnerable' &&
    fail "$name: heartbleed"
  grep -Eiq 'Insecure session renegotiation' <<<"$out" && fail "$name: insecure renegotiation"
  grep -Eiq '^Compression enabled' <<<"$out" && fail "$name: TLS compression enabled"
  return 0
}

scan_with_sslscan agent "$agent_port"
scan_with_sslscan operator "$operator_port"

start=$(date +%s)
testssl --quiet --color 0 --warnings off --sneaky -p -s -f -U --csvfile "$tmp/testssl.csv" \
  "127.0.0.1:$operator_port" >"$tmp/testssl.txt" 2>&1 || true
echo "--- testssl.sh operator port ($operator_port), $(($(date +%s) - start)) s"
if [ ! -s "$tmp/testssl.csv" ]; then
  cat "$tmp/testssl.txt" >&2
  fail "testssl.sh wrote no results"
else
  # Columns: "id","fqdn/ip","port","severity","finding","cve","cwe"
  bad=$(awk -F'","' 'NR > 1 && $4 ~ /^(LOW|MEDIUM|HIGH|CRITICAL|WARN|FATAL)$/ {print $1 "\": " $4 ": " $5}' \
    "$tmp/testssl.csv")
  if [ -n "$bad" ]; then
    fail "testssl.sh findings:
$bad"
  fi
  expect() {  # id, finding prefix
    grep -Eq "^\"$1\",\"[^\"]*\",\"[0-9]+\",\"[A-Z]+\",\"$2" "$tmp/testssl.csv" ||
      fail "testssl.sh: $1 is not '$2'"
  }
  expect SSLv2 "not offered"
  expect SSLv3 "not offered"
  expect TLS1 "not offered"
  expect TLS1_1 "not offered"
  expect TLS1_2 "offered"
  expect TLS1_3 "offered"
  expect cipherlist_NULL "not offered"
  expect cipherlist_aNULL "not offered"
  expect cipherlist_EXPORT "not offered"
  expect cipherlist_LOW "not offered"
  expect cipherlist_3DES_IDEA "not offered"
  expect cipherlist_AVERAGE "not offered"
  expect PFS "offered"
  expect secure_client_renego "not vulnerable"
  expect CRIME_TLS "not vulnerable"
  expect heartbleed "not vulnerable"
  awk -F'","' 'NR > 1 {print "  " $1 "\": " $4 ": " $5}' "$tmp/testssl.csv"
fi

if [ "$failures" -gt 0 ]; then
  echo "tls_scan: $failures failure(s)" >&2
  exit 1
fi
echo "tls_scan: both listeners pass"
