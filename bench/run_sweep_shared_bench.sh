#!/usr/bin/env bash
# Shared sweeps (issue 18 item 3, measured part): trials/s of `pulse sweep --storage postgres://…
# --study NAME` with 1, 2 and 4 worker processes (--jobs 1 each) sharing one study in Optuna's
# schema on the local PostgreSQL, next to the same search in one process without a storage.
# Grid: 36 x 36 = 1,296 points of rsi_high x rsi_low on the bundled TSLA/TSLL data (755 bars, the
# sweep kernel); TPE: a 300-trial budget over the same space. Rate = trials / wall seconds from
# the first worker's start to the last one's exit (process start, data load and the statistics
# at the end included); each worker's JSON gives its own share.
set -euo pipefail
cd "$(dirname "$0")/.."
admin="$(bash scripts/ensure_postgres.sh)"
cargo build --release --locked -q -p pulse
pulse="${CARGO_TARGET_DIR:-$PWD/target}/release/pulse"
work="$(mktemp -d)"
db="pulse_sweep_bench_$$"
base="${admin%/*}"
url="$base/$db"
psql "$admin" -qc "CREATE DATABASE $db"
trap 'psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; rm -rf "$work"' EXIT
export XDG_DATA_HOME="$work" XDG_CONFIG_HOME="$work"
grid=(--param rsi_high=55:90:1 --param rsi_low=10:45:1 --budget 5000)
tpe=(--param rsi_high=55:90:1 --param rsi_low=10:45:1 --method tpe --budget 300)
"$pulse" -q --json sweep --param rsi_high=70 --budget 1 > /dev/null # seeds the data store
now() { date +%s.%N; }

run() { # run LABEL WORKERS ARGS… : N workers on one fresh study, prints the rate
    local label="$1" n="$2"; shift 2
    local study="$label-$n"
    local start end pids=()
    start="$(now)"
    for i in $(seq 1 "$n"); do
        "$pulse" -q --json sweep "$@" --jobs 1 --storage "$url" --study "$study" > "$work/$study.$i.json" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    end="$(now)"
    python3 - "$work" "$study" "$n" "$start" "$end" <<'PY'
import json, sys
work, study, n, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
outs = [json.load(open(f"{work}/{study}.{i}.json")) for i in range(1, n + 1)]
trials = outs[0]["trials"]
wall = end - start
shares = "/".join(str(o["new_trials"]) for o in outs)
print(f"{study:10s} workers {n}: {trials} trials in {wall:6.2f} s = {trials / wall:7.1f} trials/s (per worker {shares})")
PY
}

local_run() { # the same search in one process, no storage
    local label="$1" jobs="$2"; shift 2
    local start end
    start="$(now)"
    "$pulse" -q --json sweep "$@" --jobs "$jobs" > "$work/local.json"
    end="$(now)"
    python3 - "$work/local.json" "$label" "$jobs" "$start" "$end" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
wall = float(sys.argv[5]) - float(sys.argv[4])
print(f"{sys.argv[2]:10s} one process, --jobs {sys.argv[3]}, no storage: {o['trials']} trials in {wall:6.2f} s = {o['trials'] / wall:7.1f} trials/s (search alone {o['timing']['trials_per_second']:.1f}/s)")
PY
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for n in 1 2 4; do run grid "$n" "${grid[@]}"; done
local_run grid 1 "${grid[@]}"
local_run grid 2 "${grid[@]}"
for n in 1 2 4; do run tpe "$n" "${tpe[@]}"; done
local_run tpe 1 "${tpe[@]}"
