#!/usr/bin/env bash
# The full test suite, as CI runs it: formatting, lints, every test of the workspace on the real
# shared data (../shared/data beside the repository, or $PULSE_SHARED_DATA), then the dashboard's
# browser test in headless Chromium (scripts/browser_test.sh installs Chromium and playwright-core
# when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

shared="${PULSE_SHARED_DATA:-$PWD/../shared/data}"
if [ ! -f "$shared/README.md" ]; then
    echo "error: the shared market data is missing at $shared (clone ../shared beside this repository or set PULSE_SHARED_DATA)" >&2
    exit 1
fi
command -v cargo >/dev/null || { echo "error: cargo not found; install Rust with rustup (https://rustup.rs)" >&2; exit 1; }

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy (all targets, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked --no-fail-fast
echo "== browser test (headless Chromium)"
bash scripts/browser_test.sh
echo "All tests passed."
