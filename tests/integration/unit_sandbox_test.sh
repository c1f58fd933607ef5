#!/usr/bin/env bash
# Enforcement under cg-agent.service's sandbox (issue 14). systemd is not PID 1 on the CI
# machine (a container), so `systemd-run -p ...` cannot apply the unit here; the sandbox is
# rebuilt from the unit file with bubblewrap instead, the way systemd builds it:
#   ProtectSystem=strict    the whole tree read-only (--ro-bind / /)
#   ReadWritePaths=         /etc -> a private copy of the machine's /etc (bound over /etc, so
#                           the real one is never touched), the state dir -> a scratch dir
#   ReadOnlyPaths=          bound read-only again on top (those that exist)
#   PrivateTmp, PrivateDevices   --tmpfs /tmp /var/tmp, --dev /dev
#   CapabilityBoundingSet=  --cap-drop ALL --cap-add each capability the unit keeps
#   NoNewPrivileges=yes     bubblewrap always sets it
# The system call filter is checked by tracing the runs (strace -f) and comparing every call
# made with what SystemCallFilter= allows (systemd-analyze syscall-filter): the enforcement
# below, and one service cycle (`cg-agent run --once`: every check, the spool, mutual TLS to a
# cg-soc on loopback) of an agent enrolled with that SOC. Not rebuilt:
# RestrictAddressFamilies (no network here), MemoryDenyWriteExecute, ProtectClock/Kernel*.
# Then: `cg-agent check --enforce --only password_age,screen_lock` must set PASS_MAX_DAYS in
# login.defs, run chage for an account without a maximum, and write the GNOME screen-lock
# settings to the dconf system database (/etc/dconf: profile, keyfile, locks, compiled db; a
# GNOME session file is bound at /usr/share/xsessions inside the sandbox so that the machine
# counts as a desktop); without /etc writable, and without CAP_CHOWN, it must fail (what the
# unit keeps is needed, and the sandbox really is in force).
# Root only (exit 77: skipped). Usage: unit_sandbox_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=${1:?usage: unit_sandbox_test.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: unit_sandbox_test.sh BUILD_DIR SOURCE_DIR}
unit="$src/installer/linux/cg-agent.service"
agent="$build/agent/cg-agent"

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: unit_sandbox_test runs enforcement as root"
  exit 77
fi
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
for tool in bwrap strace systemd-analyze chage openssl; do
  command -v "$tool" >/dev/null 2>&1 ||
    fail "$tool is not installed (Debian packages bubblewrap, strace, systemd, passwd, openssl)"
done

tmp=$(mktemp -d /tmp/cg-sandbox.XXXXXX)
# The GNOME session file needs a mount point; an empty /usr/share/xsessions made here (and
# removed at the end) changes nothing for anything else on the machine.
made_xsessions=no
soc_pid=""
cleanup() {
  if [ -n "$soc_pid" ]; then
    kill "$soc_pid" 2>/dev/null || true
    wait "$soc_pid" 2>/dev/null || true
  fi
  if [ "$made_xsessions" = yes ]; then
    rmdir /usr/share/xsessions 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
if [ ! -e /usr/share/xsessions ]; then
  mkdir /usr/share/xsessions
  made_xsessions=yes
fi
mkdir "$tmp/xsessions"
printf '[Desktop Entry]\nName=GNOME\nExec=gnome-session\nDesktopNames=GNOME\n' \
  >"$tmp/xsessions/gnome.desktop"
unit_values() { sed -n "s/^$1=//p" "$unit" | tr ' ' '\n' | sed '/^$/d'; }

# A copy of /etc with something to enforce: no 90-day maximum in login.defs, and an
# interactive account with a password that never expires.
make_etc() {  # dir
  cp -a /etc "$1"
  sed -i '/^PASS_MAX_DAYS/d' "$1/login.defs"
  echo "PASS_MAX_DAYS	99999" >>"$1/login.defs"
  echo "cgpilot:x:1999:1999:CounterGuard sandbox test:/nonexistent:/bin/bash" >>"$1/passwd"
  echo "cgpilot:x:1999:" >>"$1/group"
  echo "cgpilot:$(openssl passwd -6 -salt cgsandbox sandbox):19700:0:99999:7:::" >>"$1/shadow"
}

# bwrap arguments for the unit's sandbox around ETC_COPY; CAPS_DROP: capabilities to take away
# from the unit's set; RW_ETC=no: /etc left read-only.
sandbox_args() {  # etc_copy state_dir rw_etc caps_drop
  local etc=$1 state=$2 rw_etc=$3 drop=$4 path cap
  args=(--die-with-parent --ro-bind / / --proc /proc --dev /dev --tmpfs /tmp --tmpfs /var/tmp
        --unshare-ipc --unshare-uts --ro-bind "$tmp/xsessions" /usr/share/xsessions)
  for path in $(unit_values ReadWritePaths); do
    case "$path" in
      /etc) if [ "$rw_etc" = yes ]; then args+=(--bind "$etc" /etc); else args+=(--ro-bind "$etc" /etc); fi ;;
      /var/lib/counterguard) args+=(--bind "$state" "$state") ;;
      *) fail "ReadWritePaths=$path: the test does not know how to sandbox it" ;;
    esac
  done
  for path in $(unit_values ReadOnlyPaths); do
    path=${path#-}
    case "$path" in
      /etc/*) [ -e "$etc/${path#/etc/}" ] && args+=(--ro-bind "$etc/${path#/etc/}" "$path") ;;
      *) fail "ReadOnlyPaths=$path: the test does not know how to sandbox it" ;;
    esac
  done
  args+=(--cap-drop ALL)
  for cap in $(unit_values CapabilityBoundingSet); do
    [[ " $drop " == *" $cap "* ]] || args+=(--cap-add "$cap")
  done
}

enforce() {  # etc_copy rw_etc caps_drop trace_file
  local state="$tmp/state.$RANDOM"
  mkdir -m 0700 "$state"
  sandbox_args "$1" "$state" "$2" "$3"
  local trace=()
  # Written into the state dir: /tmp is the sandbox's own (PrivateTmp).
  [ -n "$4" ] && trace=(strace -f -qq -o "$state/trace")
  bwrap "${args[@]}" -- "${trace[@]}" "$agent" check --enforce --only password_age,screen_lock \
    --json \
    --state-dir "$state" >"$tmp/out.json" 2>"$tmp/err.log" || true
  if [ -n "$4" ]; then
    cp "$state/trace" "$4" || fail "no system call trace: $(cat "$tmp/err.log")"
  fi
}
field5() { awk -F: -v u=cgpilot '$1 == u {print $5}' "$1"; }

host_shadow=$(sha256sum /etc/shadow /etc/login.defs /etc/passwd)
[ "$(unit_values CapabilityBoundingSet | tr '\n' ' ')" = \
  "CAP_DAC_READ_SEARCH CAP_DAC_OVERRIDE CAP_CHOWN CAP_SYS_PTRACE " ] ||
  fail "the unit's capabilities changed: update this test ($(unit_values CapabilityBoundingSet))"

# 1. As the unit runs it: login.defs and chage's /etc/shadow both changed.
make_etc "$tmp/etc"
enforce "$tmp/etc" yes "" "$tmp/trace"
grep -q '^PASS_MAX_DAYS[[:space:]]*90$' "$tmp/etc/login.defs" ||
  fail "login.defs not enforced in the sandbox: $(cat "$tmp/err.log" "$tmp/out.json")"
[ "$(field5 "$tmp/etc/shadow")" = 90 ] ||
  fail "chage did not set the maximum in the sandbox: $(cat "$tmp/err.log" "$tmp/out.json")"
[ "$(stat -c '%a %U:%G' "$tmp/etc/shadow")" = "$(stat -c '%a %U:%G' /etc/shadow)" ] ||
  fail "/etc/shadow lost its owner or mode: $(stat -c '%a %U:%G' "$tmp/etc/shadow")"
for f in profile/user db/local.d/50-counterguard db/local.d/locks/50-counterguard db/local; do
  [ -f "$tmp/etc/dconf/$f" ] ||
    fail "/etc/dconf/$f not written in the sandbox: $(cat "$tmp/err.log" "$tmp/out.json")"
done
grep -q 'lock-enabled=true' "$tmp/etc/dconf/db/local.d/50-counterguard" ||
  fail "the dconf keyfile does not turn the lock on"
echo "enforced in the sandbox: PASS_MAX_DAYS 90, chage -M 90 cgpilot, dconf screen lock"

# 2. The system calls made are all ones the unit's filter allows.
expand() {  # a syscall group or name -> names
  local item
  if [[ "$1" == @* ]]; then
    for item in $(systemd-analyze syscall-filter "$1" 2>/dev/null | sed -n '2,$p' |
                  sed 's/^ *//; /^#/d; /^$/d'); do
      expand "$item"
    done
  else
    echo "$1"
  fi
}
allowed=$(for g in $(sed -n 's/^SystemCallFilter=\([^~].*\)$/\1/p' "$unit"); do expand "$g"; done |
          sort -u)
denied=$(for g in $(sed -n 's/^SystemCallFilter=~//p' "$unit"); do expand "$g"; done | sort -u)
[ -n "$allowed" ] || fail "could not read SystemCallFilter= of the unit"
# One service cycle under the sandbox too, against a SOC on loopback (kernel-chosen ports).
soc="$build/soc/cg-soc"
"$soc" init --data-dir "$tmp/soc" --hostname localhost >/dev/null 2>&1
"$soc" serve --data-dir "$tmp/soc" --agent-listen 127.0.0.1:0 --operator-listen 127.0.0.1:0 \
  --ready-file "$tmp/ready.json" 2>"$tmp/soc.log" &
soc_pid=$!
for _ in $(seq 1 300); do
  [ -s "$tmp/ready.json" ] && break
  sleep 0.05
done
agent_port=$(sed -n 's/.*"agent_port":\([0-9]*\).*/\1/p' "$tmp/ready.json")
operator_port=$(sed -n 's/.*"operator_port":\([0-9]*\).*/\1/p' "$tmp/ready.json")
[ -n "$agent_port" ] || { kill "$soc_pid"; fail "cg-soc did not start: $(cat "$tmp/soc.log")"; }
"$build/cgctl/cgctl" --server "https://localhost:$operator_port" --ca "$tmp/soc/ca.pem" \
  --token-file "$tmp/soc/admin.token" enroll-token create --group sandbox | tail -n 1 \
  >"$tmp/token"
run_state="$tmp/state.run"
"$agent" enroll --server "localhost:$agent_port" --token-file "$tmp/token" --ca "$tmp/soc/ca.pem" \
  --state-dir "$run_state" --machine-id "$(cat /proc/sys/kernel/random/uuid)" >/dev/null 2>&1 ||
  { kill "$soc_pid"; fail "enrollment for the service run failed"; }
make_etc "$tmp/etc-run"
sandbox_args "$tmp/etc-run" "$run_state" yes ""
run_status=0
bwrap "${args[@]}" -- strace -f -qq -o "$run_state/trace" "$agent" run --once \
  --state-dir "$run_state" >/dev/null 2>"$tmp/run.log" || run_status=$?
kill "$soc_pid"
wait "$soc_pid" 2>/dev/null || true
soc_pid=""
[ "$run_status" -eq 0 ] || fail "the service cycle failed in the sandbox: $(cat "$tmp/run.log")"
cat "$run_state/trace" >>"$tmp/trace"
echo "a service cycle (checks, spool, mutual TLS) ran in the sandbox"

used=$(sed -n 's/^[0-9]\+ \+\([a-z0-9_]\+\)(.*/\1/p' "$tmp/trace" | sort -u)
[ -n "$used" ] || fail "the trace holds no system call"
refused=$(comm -23 <(echo "$used") <(comm -23 <(echo "$allowed") <(echo "$denied")))
[ -z "$refused" ] || fail "system calls the unit's filter refuses: $(echo $refused)"
echo "system calls: $(echo "$used" | wc -l) different, all allowed by SystemCallFilter="

# 3. The sandbox is in force, and what the unit keeps is needed.
make_etc "$tmp/etc-ro"
enforce "$tmp/etc-ro" no "" ""
grep -qi 'read-only file system' "$tmp/err.log" "$tmp/out.json" ||
  fail "enforcement with /etc read-only did not fail as it should: $(cat "$tmp/err.log")"
[ "$(field5 "$tmp/etc-ro/shadow")" = 99999 ] || fail "/etc/shadow changed while read-only"
make_etc "$tmp/etc-nochown"
enforce "$tmp/etc-nochown" yes "CAP_CHOWN" ""
[ "$(field5 "$tmp/etc-nochown/shadow")" = 99999 ] ||
  fail "chage succeeded without CAP_CHOWN: the unit keeps a capability it does not need"
grep -q 'chage' "$tmp/err.log" "$tmp/out.json" || fail "no chage failure reported without CAP_CHOWN"
echo "without /etc writable or without CAP_CHOWN, enforcement fails (as it must)"

[ "$(sha256sum /etc/shadow /etc/login.defs /etc/passwd)" = "$host_shadow" ] ||
  fail "the machine's own /etc changed"
echo "unit sandbox: 1 passed, 0 failed"
