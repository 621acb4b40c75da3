#!/usr/bin/env bash
# DQN training and inference (issue 17 item 1): pulse-deep (candle 0.11, release) against the same
# agent in PyTorch on the CPU (scripts/reference/dqn_torch.py), on TSLA daily closes 2015-2019,
# EPISODES episodes each (default 2). Each configuration runs RUNS times (default 3), alternating
# sides; the summary keeps each one's best figure (the machine may be shared). Prints the raw JSON
# lines and the load averages before and after.
#
# The peer needs PyTorch from PyPI:  python3 -m venv .venv && .venv/bin/pip install torch numpy
# (PY=... picks another interpreter). Without it only the pulse-deep rows run.
#
# candle 0.11 asks for its thread count at every matmul and, unless RAYON_NUM_THREADS is set, reads
# /proc/cpuinfo to count physical cores each time; the rows show the default and the variable set.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-3}
EPISODES=${EPISODES:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
cargo build -q --release -p pulse-deep --example dqn_bench
bin=target/release/examples/dqn_bench
have_torch=0
if "$PY" -c 'import torch' 2>/dev/null; then have_torch=1; else echo "# no torch at $PY: peer skipped"; fi
for r in $(seq 1 "$RUNS"); do
  "$bin" "$EPISODES" | sed 's/"impl":"candle"/"impl":"candle (RAYON_NUM_THREADS unset)"/' >> "$tmp/out"
  for t in 1 2; do
    RAYON_NUM_THREADS=$t "$bin" "$EPISODES" | sed "s/\"impl\":\"candle\"/\"impl\":\"candle (RAYON_NUM_THREADS=$t)\"/" >> "$tmp/out"
  done
  if [ "$have_torch" = 1 ]; then
    for t in 1 2; do
      "$PY" scripts/reference/dqn_torch.py --episodes "$EPISODES" --threads "$t" \
        | sed "s/\"impl\": \"torch \([^\"]*\)\"/\"impl\": \"torch \1 ($t thread(s))\"/" >> "$tmp/out"
    done
  fi
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg); best of $RUNS runs"
cat "$tmp/out"
echo
python3 - "$tmp/out" <<'EOF'
import json, sys
best_train, best_decide = {}, {}
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d["what"] == "train":
        best_train[d["impl"]] = max(best_train.get(d["impl"], 0), d["steps_per_sec"])
    else:
        best_decide[d["impl"]] = min(best_decide.get(d["impl"], 1e18), d["us_per_decision"])
print("| implementation | training steps/s (1 replay of 32 per step) | µs per decision |")
print("|---|---:|---:|")
for k in best_train:
    print(f"| {k} | {best_train[k]:.0f} | {best_decide.get(k, float('nan')):.1f} |")
EOF
