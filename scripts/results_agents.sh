#!/usr/bin/env bash
# Re-measures issue 17's "honest results" for the agents (docs/results.md): the DQN trained on
# 2005-2014 daily closes of ten large US stocks, then the ensemble (DQN + factor + technical,
# SPEC §4 weights and 0.7 threshold), each agent alone and the equal-weight buy and hold traded
# out of sample from 2015-01-02 to the last stored bar through the engine (0.1 % commission,
# next-open fills). Writes the JSON outcomes to target/results/.
# Usage: bash scripts/results_agents.sh   (builds pulse with --features deep)
set -euo pipefail
cd "$(dirname "$0")/.."
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-2}"
SHARED="${PULSE_SHARED_DATA:-../shared/data}"
cargo build -q -p pulse --features deep
PULSE="$(pwd)/target/debug/pulse"
OUT="$(pwd)/target/results"
rm -rf "$OUT" && mkdir -p "$OUT"
DB="$OUT/results.db"
SYMBOLS=AAPL,MSFT,JPM,XOM,KO,JNJ,PG,WMT,INTC,CSCO
files=()
for t in ${SYMBOLS//,/ } IRX; do files+=("$SHARED/daily-adjclose/$t.csv"); done
"$PULSE" --db "$DB" -q data import "${files[@]}"
for reward in spec negated; do
  "$PULSE" --db "$DB" --json agents train-dqn --symbols "$SYMBOLS" --from 2005-01-01 --to 2014-12-31 \
    --episodes 20 --seed 42 --sell-reward "$reward" --out "$OUT/dqn-$reward" > "$OUT/train-$reward.json"
  "$PULSE" --db "$DB" --json agents backtest --symbols "$SYMBOLS" --agents dqn,factor,technical \
    --dqn-model "$OUT/dqn-$reward" --from 2015-01-02 --also-thresholds 0.5,0.3 \
    --fundamentals "$SHARED/fundamentals/sp500_yfinance_fundamentals_snapshot_2024-12.csv" \
    --fundamentals-as-of 2024-12-08 > "$OUT/backtest-$reward.json"
done
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
for reward in ("spec", "negated"):
    v = json.load(open(f"{out}/backtest-{reward}.json"))
    print(f"== DQN sell reward: {reward}; {v['from']} .. {v['to']}; deflated Sharpe of the ensemble "
          f"over {v['deflation']['configurations']} configurations: {v['deflation']['deflated_sharpe']:.3f}")
    print(f"{'strategy':28} {'CAGR':>8} {'Sharpe':>7} {'MDD':>8} {'fills':>6}")
    for r in v["runs"]:
        m = r["metrics"]
        print(f"{r['name']:28} {m['cagr']*100:7.2f}% {m['sharpe']:7.2f} {-m['max_drawdown']*100:7.2f}% {m['fills']:6d}")
PY
