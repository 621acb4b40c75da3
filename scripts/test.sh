#!/usr/bin/env bash
# The full test suite, as CI runs it: formatting, lints, every test of the workspace on the real
# shared data (../shared/data beside the repository, or $PULSE_SHARED_DATA), then the dashboard's
# browser test in headless Chromium (scripts/browser_test.sh installs Chromium and playwright-core
# when missing). A Redis server for the quote-cache tests is started (or installed) by
# scripts/ensure_redis.sh when none answers on 127.0.0.1:6379. pulse-ml's `lightgbm` feature is
# linted and tested too: scripts/ensure_lightgbm.sh installs its build tools (clang, libclang-dev,
# CMake >= 3.28) and Python's lightgbm for the reference test, which must then run.
set -euo pipefail
cd "$(dirname "$0")/.."

shared="${PULSE_SHARED_DATA:-$PWD/../shared/data}"
if [ ! -f "$shared/README.md" ]; then
    echo "error: the shared market data is missing at $shared (clone ../shared beside this repository or set PULSE_SHARED_DATA)" >&2
    exit 1
fi
command -v cargo >/dev/null || { echo "error: cargo not found; install Rust with rustup (https://rustup.rs)" >&2; exit 1; }

echo "== services the tests need (Redis for the quote cache, PostgreSQL for the store suite)"
PULSE_TEST_REDIS_URL="${PULSE_TEST_REDIS_URL:-$(bash scripts/ensure_redis.sh)}"
export PULSE_TEST_REDIS_URL
PULSE_TEST_POSTGRES_URL="${PULSE_TEST_POSTGRES_URL:-$(bash scripts/ensure_postgres.sh)}"; export PULSE_TEST_POSTGRES_URL
echo "== LightGBM build tools (clang, CMake >= 3.28) and Python lightgbm for pulse-ml --features lightgbm"
CMAKE="$(bash scripts/ensure_lightgbm.sh)"; export CMAKE
export PULSE_REQUIRE_LIGHTGBM_PY=1
echo "== Python optuna for the test that opens a pulse sweep study with Optuna itself"
bash scripts/ensure_optuna.sh
export PULSE_REQUIRE_OPTUNA=1

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy (all targets, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p pulse-ml --features lightgbm --all-targets --locked -- -D warnings
cargo clippy -p pulse-app -p pulse --features pulse-app/ml,pulse/ml,pulse-app/deep,pulse/deep --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked --no-fail-fast
echo "== cargo test -p pulse-ml --features lightgbm (LightGBM models, Python lightgbm reference)"
cargo test -p pulse-ml --features lightgbm --locked
# candle counts the cores by reading /proc/cpuinfo at every matrix product unless this is set
# (half the training speed); the weights are bit-identical with any thread count.
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-2}"
echo "== ML and deep-learning use cases and CLI (pulse-app/pulse --features ml,deep: LightGBM, candle)"
cargo test -p pulse-app --features ml,deep --locked --test ml --test cycle --test trade_agents_dqn
cargo test -p pulse --features ml,deep --locked --test ml_cli --test agents_cli --test cycle --test forecast_cli
echo "== browser test (headless Chromium)"
bash scripts/browser_test.sh
echo "All tests passed."
