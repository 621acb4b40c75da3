#!/usr/bin/env bash
# The real-time collector's cost (issue 13, "the collector at 50 symbols x 1 Hz into Redis"):
# the release `pulse collect` polling 50 minute-bar series once a second for 120 s into Redis,
# timed by GNU time (CPU seconds / wall seconds = share of one core), Redis's own CPU read
# from INFO before and after. Series: the 40 Binance pairs of intraday-1m-many, plus 10 of them
# imported a second time under an alias (NAME.B) to reach 50 (same real bars, same cost).
# The source is the replay of stored bars (SQLite reads), not a vendor's HTTP API.
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${PULSE_SHARED_DATA:-$PWD/../shared/data}"
ticks="${TICKS:-120}"
url="$(bash scripts/ensure_redis.sh)"
cargo build --release --locked -q -p pulse
pulse="${CARGO_TARGET_DIR:-$PWD/target}/release/pulse"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
db="$work/collect.db"
"$pulse" -q --db "$db" data import "$shared/intraday-1m-many/"
symbols=()
for f in "$shared"/intraday-1m-many/*.csv.gz; do symbols+=("$(basename "$f" .csv.gz)"); done
for s in "${symbols[@]:0:10}"; do
    "$pulse" -q --db "$db" data import "$shared/intraday-1m-many/$s.csv.gz" --symbol "$s.B"
    symbols+=("$s.B")
done
list="$(IFS=,; echo "${symbols[*]}")"
redis_cpu() { redis-cli -u "$url" info cpu | awk -F: '/used_cpu_(sys|user):/ {s+=$2} END {printf "%.3f", s}'; }
before="$(redis_cpu)"
/usr/bin/time -f "%U %S %e %M" -o "$work/time" \
    "$pulse" -q --db "$db" collect --symbols "$list" --start 2021-04-20T12:00:00Z --every 1 \
    --ticks "$ticks" --redis "$url" --prefix "bench-$$" --json > "$work/summary.json"
after="$(redis_cpu)"
read -r user sys wall rss < "$work/time"
python3 - "$work/summary.json" "$user" "$sys" "$wall" "$rss" "$before" "$after" "${#symbols[@]}" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
user, sys_, wall, rss = map(float, sys.argv[2:6])
rb, ra, n = float(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8])
cpu = user + sys_
print(f"symbols {n}, polls {summary['ticks']}, quotes written {summary['written']}, errors {summary['errors']}, late polls {summary['overruns']}")
print(f"pulse collect: {cpu:.2f} CPU s over {wall:.1f} s wall = {100*cpu/wall:.2f} % of one core; peak RSS {rss/1024:.1f} MiB")
print(f"per symbol poll: {1e6*cpu/max(summary['written'],1):.0f} us CPU")
print(f"redis-server: {ra-rb:.2f} CPU s = {100*(ra-rb)/wall:.2f} % of one core")
PY
