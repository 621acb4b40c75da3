#!/usr/bin/env bash
# Runs the pulse-indicators bench (writes /tmp/pulse_bench_10m.f64) and the TA-Lib peer on the same
# series, then prints one table with ratio = talib_time / pulse_time (> 1 means Pulse is faster).
# Each side runs RUNS times (default 2), alternating, and each row keeps its best time (the machine
# may be shared: best-of filters out other processes' interference). PULSE_BENCH_ONLY=substring
# restricts the Pulse rows. Load averages before and after are printed for the record.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
cargo bench -q -p pulse-indicators --bench indicators --no-run 2>/dev/null
for r in $(seq 1 "$RUNS"); do
  cargo bench -q -p pulse-indicators --bench indicators 2>/dev/null > "$tmp/pulse.$r"
  "$PY" bench/peers/talib_bench.py /tmp/pulse_bench_10m.f64 > "$tmp/talib.$r"
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg); best of $RUNS runs (each itself best of 5 calls)"
grep -h '^#' "$tmp/talib.1" || true
# name <TAB> best pulse ms <TAB> best streaming ns (first row of each run is the header)
best_pulse=$(cat "$tmp"/pulse.* | awk -F'|' '$2 !~ /indicator|---/ && NF > 4 {
  gsub(/^ +| +$/, "", $2); gsub(/ /, "", $3); gsub(/ /, "", $5)
  if (!($2 in p) || $3 + 0 < p[$2]) p[$2] = $3 + 0
  if (!($2 in s) || $5 + 0 < s[$2]) s[$2] = $5 + 0
  if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
} END { for (i = 1; i <= n; i++) printf "%s\t%s\t%s\n", order[i], p[order[i]], s[order[i]] }')
best_talib=$(cat "$tmp"/talib.* | awk -F'\t' '$1 !~ /^#/ && NF == 2 {
  if (!($1 in t) || $2 + 0 < t[$1]) t[$1] = $2 + 0
} END { for (k in t) printf "%s\t%s\n", k, t[k] }')
echo
echo "| indicator | Pulse batch ms | TA-Lib ms | ratio TA-Lib/Pulse | Pulse streaming ns/update |"
echo "|---|---:|---:|---:|---:|"
echo "$best_pulse" | while IFS=$'\t' read -r name pms sns; do
  t=$(echo "$best_talib" | awk -F'\t' -v n="$name" '$1==n {print $2}')
  if [ -n "$t" ]; then
    awk -v n="$name" -v p="$pms" -v t="$t" -v s="$sns" 'BEGIN{printf "| %s | %.2f | %.2f | %.2f | %.2f |\n", n, p, t*1000, (t*1000)/p, s}'
  else
    awk -v n="$name" -v p="$pms" -v s="$sns" 'BEGIN{printf "| %s | %.2f | n/a | n/a | %.2f |\n", n, p, s}'
  fi
done
