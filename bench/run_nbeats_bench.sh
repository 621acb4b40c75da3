#!/usr/bin/env bash
# N-BEATS training epoch time (issue 17 item 5): pulse-deep (candle 0.11, release) against the same
# generic network in PyTorch on the CPU (scripts/reference/nbeats_torch.py), on the pooled windows
# of SPY, TLT, GLD, QQQ, EFA daily log returns 2010-2019 (12,180 windows of 60 -> 20), EPOCHS
# epochs each (default 5), no early stopping. Each configuration runs RUNS times (default 2),
# alternating sides; the summary keeps each one's best seconds per epoch (the machine may be shared).
#
# The peer needs PyTorch: PY=/path/to/python with torch and numpy (default .venv/bin/python).
# Without it only the pulse-deep rows run. candle 0.11 reads /proc/cpuinfo at every matmul unless
# RAYON_NUM_THREADS is set: the rows set it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-2}
EPOCHS=${EPOCHS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
cargo build -q --release -p pulse-deep --example nbeats_bench
bin=target/release/examples/nbeats_bench
have_torch=0
if "$PY" -c 'import torch' 2>/dev/null; then have_torch=1; else echo "# no torch at $PY: peer skipped"; fi
for r in $(seq 1 "$RUNS"); do
  for t in 1 2; do
    RAYON_NUM_THREADS=$t "$bin" "$EPOCHS" SPY,TLT,GLD,QQQ,EFA 2010-01-01 2019-12-31 2021-12-31 42 0 \
      | grep '"what":"train"' | sed "s/\"impl\":\"candle\"/\"impl\":\"pulse-deep (RAYON_NUM_THREADS=$t)\"/" >> "$tmp/out"
  done
  if [ "$have_torch" = 1 ]; then
    for t in 1 2; do
      "$PY" scripts/reference/nbeats_torch.py --epochs "$EPOCHS" --threads "$t" \
        | grep '"what": "train"' | sed "s/\"impl\": \"torch \([^\"]*\)\"/\"impl\": \"torch \1 ($t thread(s))\"/" >> "$tmp/out"
    done
  fi
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg); best of $RUNS runs"
cat "$tmp/out"
echo
python3 - "$tmp/out" <<'PYEOF'
import json, sys
best = {}
for line in open(sys.argv[1]):
    d = json.loads(line)
    best[d["impl"]] = min(best.get(d["impl"], 1e18), d["sec_per_epoch"])
print("| implementation | s per epoch (12,180 windows, batch 256) |")
print("|---|---:|")
for k, v in best.items():
    print(f"| {k} | {v:.2f} |")
PYEOF
