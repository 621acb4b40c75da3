#!/usr/bin/env bash
# Runs the pulse-indicators bench (writes /tmp/pulse_bench_10m.f64) and the TA-Lib peer on the same
# series, then prints one table with ratio = talib_time / pulse_time (> 1 means Pulse is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
pulse_out=$(cargo bench -q -p pulse-indicators --bench indicators 2>/dev/null)
talib_out=$("$PY" bench/peers/talib_bench.py /tmp/pulse_bench_10m.f64)
echo "$talib_out" | grep '^#' || true
echo
echo "| indicator | Pulse batch ms | TA-Lib ms | ratio TA-Lib/Pulse | Pulse streaming ns/update |"
echo "|---|---:|---:|---:|---:|"
echo "$pulse_out" | awk -F'|' 'NR>2 {gsub(/^ +| +$/,"",$2); gsub(/ /,"",$3); gsub(/ /,"",$5); print $2 "\t" $3 "\t" $5}' |
while IFS=$'\t' read -r name pms sns; do
  t=$(echo "$talib_out" | awk -F'\t' -v n="$name" '$1==n {print $2}')
  if [ -n "$t" ]; then
    awk -v n="$name" -v p="$pms" -v t="$t" -v s="$sns" 'BEGIN{printf "| %s | %.2f | %.2f | %.2f | %.2f |\n", n, p, t*1000, (t*1000)/p, s}'
  else
    awk -v n="$name" -v p="$pms" -v s="$sns" 'BEGIN{printf "| %s | %.2f | n/a | n/a | %.2f |\n", n, p, s}'
  fi
done
