#!/usr/bin/env bash
# Side-by-side benchmark of `pulse sweep` and the same sweep in vectorbt (issue #5).
#   1. agreement: vectorbt vs `pulse backtest` on 6 daily and 3 one-minute parameter sets
#      (same trades, final equity within 1e-9 relative, same equity curve and Sharpe); stops on failure;
#   2. timing + peak RSS (GNU time) of both sides on the 10,000-point daily grid over TSLA+TSLL and a
#      500-point grid over a seeded synthetic year of 1-minute bars (98,280 per symbol);
#   3. a markdown table. The pulse side is target/release/pulse as it is when this runs
#      (build it first: cargo build --release -p pulse).
# Env: VBT_CHUNK_1D (default 2500) and VBT_CHUNK_1M (default 25) combinations per vectorbt call.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PULSE="$ROOT/target/release/pulse"
PY="$ROOT/.venv-vbt/bin/python"
VBT="$ROOT/bench/peers/vectorbt_pulse.py"
[ -x "$PULSE" ] || { echo "no $PULSE: run cargo build --release -p pulse" >&2; exit 2; }
[ -x "$PY" ] || { echo "no $PY: run bash bench/peers/setup_vectorbt.sh" >&2; exit 2; }
W="$(mktemp -d /tmp/pulse-vbt-bench.XXXXXX)"
D1="$W/daily.db"; M1="$W/minute.db"
cd "$W"
PULSE_DB="$D1" "$PULSE" data seed >/dev/null
"$PY" "$VBT" --gen-1m "$W/1m"
PULSE_DB="$M1" "$PULSE" data import "$W/1m" --timeframe 1m >/dev/null

echo "== agreement (reference: $PULSE)"
"$PY" "$VBT" --db "$D1" --pulse "$PULSE" --check
"$PY" "$VBT" --db "$M1" --pulse "$PULSE" --timeframe 1m --check --sets \
  '[{"rsi_high":70.0,"rsi_low":30.0,"bbands_k":2.0,"rsi_fast_low":20.0},{"rsi_high":65.0,"rsi_low":25.0,"bbands_k":1.6,"rsi_fast_low":10.0},{"rsi_high":80.0,"rsi_low":33.0,"bbands_k":2.4,"rsi_fast_low":25.0}]'

GRID_1D=(--param rsi_high=60:84:1 --param rsi_low=15:34:1 --param bbands_k=1.6:2.4:0.2 --param rsi_fast_low=10:25:5)
GRID_1M=(--param rsi_high=60:84:6 --param rsi_low=15:34:1 --param bbands_k=1.6:2.4:0.2)
echo "== timing (one run each, 2-core machine; nothing else should run)"
PULSE_DB="$D1" /usr/bin/time -v -o "$W/pulse-1d.time" "$PULSE" sweep "${GRID_1D[@]}" --objective sharpe --json >"$W/pulse-1d.json"
/usr/bin/time -v -o "$W/vbt-1d.time" "$PY" "$VBT" --db "$D1" --bench --chunk "${VBT_CHUNK_1D:-2500}" >"$W/vbt-1d.json"
PULSE_DB="$M1" /usr/bin/time -v -o "$W/pulse-1m.time" "$PULSE" sweep --timeframe 1m "${GRID_1M[@]}" --objective sharpe --json >"$W/pulse-1m.json"
/usr/bin/time -v -o "$W/vbt-1m.time" "$PY" "$VBT" --db "$M1" --timeframe 1m --bench --chunk "${VBT_CHUNK_1M:-25}" \
  --grid "rsi_high=60:84:6,rsi_low=15:34:1,bbands_k=1.6:2.4:0.2" >"$W/vbt-1m.json"

"$PY" - "$W" <<'PYEOF'
import json, sys, re
w = sys.argv[1]
def gtime(path):
    t = open(path).read()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1).split(":")
    secs = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall)))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
    return secs, rss
print("\n| case | side | trials | timed wall s | trials/s | peak RSS MB | best params | best Sharpe |")
print("|---|---|---:|---:|---:|---:|---|---:|")
for case in ("1d", "1m"):
    p = json.load(open(f"{w}/pulse-{case}.json"))
    v = json.loads(open(f"{w}/vbt-{case}.json").read().strip().splitlines()[-1])
    ps, prss = gtime(f"{w}/pulse-{case}.time")
    vs, vrss = gtime(f"{w}/vbt-{case}.time")
    n = p["new_trials"]
    assert n == v["trials"], (n, v["trials"])
    pb = {k: p["best"]["params"][k] for k in sorted(p["best"]["params"])}
    vb = {k: v["best"][k] for k in sorted(pb)}
    same = pb == vb and p["best"]["score"] == v["best_sharpe"]
    print(f"| {case} ({v['bars']} bars) | pulse sweep (whole command) | {n} | {ps:.2f} | {n/ps:.1f} | {prss:.0f} | {pb} | {p['best']['score']:.15g} |")
    st = p["timing"]
    print(f"| {case} | pulse sweep (search phase: indicators + every trial; {st['reused_runs']} runs reused) | {n} | {st['search_seconds']:.2f} | {st['trials_per_second']:.1f} | | | |")
    print(f"| {case} | vectorbt (weights+simulation+Sharpe; JIT {v['compile_s']} s and indicators {v['indicators_s']} s excluded; process wall {vs:.1f} s) | {n} | {v['sweep_s']:.2f} | {v['trials_per_s']} | {vrss:.0f} | {vb} | {v['best_sharpe']:.15g} |")
    print(f"| {case} | ratio pulse/vectorbt, whole command vs vectorbt timed | | | {(n/ps)/v['trials_per_s']:.2f}x | {prss/vrss:.3f} | best identical: {same} | |")
    print(f"| {case} | ratio pulse/vectorbt, search phase vs vectorbt timed | | | {st['trials_per_second']/v['trials_per_s']:.2f}x | | | |")
    print(f"| {case} | ratio pulse/vectorbt, whole processes | | | {vs/ps:.2f}x | | | |")
PYEOF
echo "(work files in $W)"
