#!/usr/bin/env bash
# The dashboard's speed (issue 14, "Measured"): the release `pulse serve` over a store holding
# 30 years of daily closes of the ~50 `daily-adjclose` series plus the bundled TSLA/TSLL, and
# 1,000 recorded runs (one real `pulse backtest` run with its alerts, copied 999 times in SQL:
# the pages read them as they read any run). Measures
#   1. server time per page (curl's time to the last byte on loopback, median and max of 20),
#   2. the JSON API under load from wrk on loopback (throughput and latency percentiles), the
#      runs list both as fast as it answers and paced to the goal's ~500 requests/s,
#   3. 100 concurrent live-update clients on the SSE quote stream for 10 s (events received,
#      the server's CPU and resident memory).
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${PULSE_SHARED_DATA:-$PWD/../shared/data}"
command -v wrk >/dev/null || { echo "error: wrk not found (apt-get install wrk)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "error: sqlite3 not found (apt-get install sqlite3)" >&2; exit 1; }
redis_url="$(bash scripts/ensure_redis.sh)"
cargo build --release --locked -q -p pulse
pulse="${CARGO_TARGET_DIR:-$PWD/target}/release/pulse"
work="$(mktemp -d)"
server=""
clients=()
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
    # Only the SSE clients this script started, by their ids.
    for pid in "${clients[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
export XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data"
db="$work/dash.db"
"$pulse" -q --db "$db" data import "$shared/daily-adjclose/" data/bundle/TSLA.csv data/bundle/TSLL.csv >/dev/null
"$pulse" -q --db "$db" backtest --json > /dev/null
sqlite3 "$db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 999)
  INSERT INTO runs (kind, created_at, strategy, sample, data_from, data_to, config, metrics_json)
  SELECT r.kind, r.created_at + n.i, r.strategy, r.sample, r.data_from, r.data_to, r.config, r.metrics_json
  FROM n, (SELECT * FROM runs ORDER BY id LIMIT 1) r;
  INSERT INTO run_alerts SELECT r.id, a.seq, a.ts, a.strategy, a.message, a.old_weights_json, a.new_weights_json
  FROM runs r, run_alerts a WHERE a.run_id = (SELECT MIN(id) FROM runs) AND r.id <> a.run_id;"
echo "store: $(sqlite3 "$db" 'SELECT COUNT(*) FROM runs') runs, $(sqlite3 "$db" 'SELECT COUNT(*) FROM bars') bars, $(sqlite3 "$db" 'SELECT COUNT(*) FROM run_alerts') run alerts"
port=18731
"$pulse" --db "$db" serve --bind "127.0.0.1:$port" --redis "$redis_url" --redis-prefix "bench-$$" \
    --quote-symbols SPY,QQQ,TSLA > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
    grep -q "Serving the dashboard" "$work/serve.log" 2>/dev/null && break
    sleep 0.1
done
token="$(cat "$XDG_CONFIG_HOME/pulse/server-token")"
auth="Authorization: Bearer $token"
base="http://127.0.0.1:$port"
first_run="$(sqlite3 "$db" 'SELECT MIN(id) FROM runs')"
echo
echo "| page | median ms | max ms |"
echo "|---|---:|---:|"
for page in / /backtest "/runs/$first_run" "/runs/$first_run/report" /sweeps /portfolio /risk /trade /rebalance /data \
    "/api/runs?limit=1000" /api/data /api/trade /api/openapi.json; do
    times=()
    for _ in $(seq 1 20); do
        times+=("$(curl -s -o /dev/null -H "$auth" -w '%{time_total}' "$base$page")")
    done
    printf '%s\n' "${times[@]}" | python3 -c "
import sys, statistics
t = [1000 * float(x) for x in sys.stdin.read().split()]
print(f'| \`{sys.argv[1]}\` | {statistics.median(t):.1f} | {max(t):.1f} |')" "$page"
done
echo
echo "wrk, 2 threads, 50 connections, 10 s, GET /api/runs?limit=20 (as fast as it answers):"
wrk -t2 -c50 -d10s --latency -H "$auth" "$base/api/runs?limit=20" | grep -E "Requests/sec|50%|90%|99%"
# The goal's load: each of 50 connections waits 100 ms before its next request (wrk's latency
# is timed from the request's sending, so the pause is not counted): about 500 requests/s.
printf 'function delay()\n   return 100\nend\n' > "$work/pace.lua"
echo "wrk, 2 threads, 50 connections paced to ~500 req/s, 10 s, GET /api/runs?limit=20:"
wrk -t2 -c50 -d10s --latency -s "$work/pace.lua" -H "$auth" "$base/api/runs?limit=20" | grep -E "Requests/sec|50%|90%|99%"
echo "wrk, 2 threads, 10 connections, 10 s, GET /api/data:"
wrk -t2 -c10 -d10s --latency -H "$auth" "$base/api/data" | grep -E "Requests/sec|50%|90%|99%"
echo "wrk, 2 threads, 10 connections, 10 s, GET /api/rebalance/status:"
wrk -t2 -c10 -d10s --latency -H "$auth" "$base/api/rebalance/status" | grep -E "Requests/sec|50%|90%|99%" || true
echo
cpu() { awk '{print $14 + $15}' "/proc/$server/stat"; }
before="$(cpu)"
for i in $(seq 1 100); do
    curl -N -s -m 10 -H "$auth" "$base/api/quotes/stream" > "$work/sse.$i" 2>/dev/null &
    clients+=($!)
done
for pid in "${clients[@]}"; do wait "$pid" 2>/dev/null || true; done
after="$(cpu)"
events="$(cat "$work"/sse.* | grep -c '^event: quotes' || true)"
rss="$(awk '/VmRSS/ {print $2}' "/proc/$server/status")"
ticks="$(getconf CLK_TCK)"
python3 -c "
b, a, t, e, r = float('$before'), float('$after'), float('$ticks'), int('$events'), int('$rss')
print(f'100 SSE clients for 10 s: {e} quote events received ({e / 100:.1f} per client), server CPU {100 * (a - b) / t / 10:.1f} % of one core, RSS {r / 1024:.1f} MiB')"
