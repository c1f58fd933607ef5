#!/usr/bin/env bash
# CPU time and peak RSS of one full `cg-agent check` (every check but yara), on this machine
# and on a generated fixture root with 200 interactive accounts and 50 users' own dconf
# databases. CPU is the mean of 20 runs; RSS the largest process's peak. Goals (issue 3): <= 200 ms CPU and
# <= 10 MB peak RSS. Reference in the same run: `/bin/true` started the same way, so the
# process start-up cost is visible next to the check's.
# Usage: tests/bench/check_bench.sh [BUILD_DIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${1:-$repo/build}"
agent="$build/agent/cg-agent"
[ -x "$agent" ] || { echo "error: $agent not built (cmake --build $build)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
checks=antivirus,os_license,office_license,screen_lock,password_age

work="$(mktemp -d /tmp/cg-check-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/root"
cp -a "$repo/tests/fixtures/screen_lock/gnome_user_override" "$root"
user_db="$repo/tests/fixtures/screen_lock/gnome_user_override/home/alice/.config/dconf/user"
cp "$repo/tests/fixtures/os_license/debian12_lts/etc/os-release" "$root/etc/os-release"
mkdir -p "$root/var/lib/dpkg"
cp "$repo/tests/fixtures/office_license/libreoffice/var/lib/dpkg/status" "$root/var/lib/dpkg/status"
{
  echo "root:x:0:0:root:/root:/bin/bash"
  for i in $(seq 1 200); do echo "user$i:x:$((1000 + i)):$((1000 + i))::/home/user$i:/bin/bash"; done
} >"$root/etc/passwd"
{
  echo 'root:$6$salt$hash:20700:0:99999:7:::'
  for i in $(seq 1 200); do echo "user$i:\$6\$salt\$hash:$((20700 + i % 60)):0:90:7:::"; done
} >"$root/etc/shadow"
for i in $(seq 1 50); do
  mkdir -p "$root/home/user$i/.config/dconf"
  cp "$user_db" "$root/home/user$i/.config/dconf/user"
done

# CPU: user+sys of 20 runs in one loop, divided by 20 (GNU time counts the waited-for
# children; a single run is below its 10 ms resolution). RSS: the largest process's peak.
measure() {
  local out="$work/time.out"
  /usr/bin/time -f '%U %S %M' -o "$out" sh -c \
    'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do "$@" >/dev/null 2>&1; done' \
    sh "$@" || true
  read -r u s m < <(tail -n 1 "$out")
  printf '%s %s\n' "$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.1f", (u + s) * 1000 / 20 }')" "$m"
}

read -r ref_cpu ref_rss < <(measure /bin/true)
read -r live_cpu live_rss < <(measure "$agent" check --only "$checks" --state-dir "$work/state")
read -r fix_cpu fix_rss < <(measure "$agent" check --root "$root" --only "$checks" \
  --state-dir "$work/state")

printf '%-44s %10s %12s\n' "run (mean of 20)" "CPU ms" "peak RSS KB"
printf '%-44s %10s %12s\n' "/bin/true (process start reference)" "$ref_cpu" "$ref_rss"
printf '%-44s %10s %12s\n' "cg-agent check, this machine" "$live_cpu" "$live_rss"
printf '%-44s %10s %12s\n' "cg-agent check, 200 accounts + 50 dconf dbs" "$fix_cpu" "$fix_rss"
verdict() {
  awk -v c="$1" -v r="$2" 'BEGIN { print (c <= 200 && r <= 10240) ? "within goals" : "OVER GOALS" }'
}
echo "this machine: $(verdict "$live_cpu" "$live_rss"); fixture root: $(verdict "$fix_cpu" "$fix_rss")"
echo "fixture root result (check: status):"
"$agent" check --root "$root" --only "$checks" --state-dir "$work/state" | awk 'NR > 1 { print "  " $1 ": " $2 }' || true
