#!/usr/bin/env bash
# Makes sure Python's optuna (the release whose RDB schema pulse writes: 5.1.0, alembic head
# v3.2.0.a) and a PostgreSQL driver are importable, for the test that opens a study written by
# `pulse sweep --storage` with Optuna itself (crates/cli/tests/sweep_shared_cli.rs, through
# scripts/reference/optuna_best_trial.py). SQLAlchemy 2.1 takes `postgresql://` URLs with psycopg
# (3); psycopg2-binary serves `postgresql+psycopg2://` and older SQLAlchemy. Installs with pip
# when missing (python3-pip with apt when the interpreter has none).
set -euo pipefail
OPTUNA="5.1.0"
PYTHON="${PULSE_PYTHON:-python3}"
log() { echo "$@" >&2; }
pip_install() { # Debian's own python3 refuses plain `pip install` (PEP 668): then retry with the override
    "$PYTHON" -m pip install --quiet --disable-pip-version-check "$@" >&2 \
        || "$PYTHON" -m pip install --quiet --disable-pip-version-check --break-system-packages "$@" >&2
}
if ! command -v "$PYTHON" >/dev/null; then
    log "== installing python3 and python3-pip (apt)"
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3 python3-pip >&2
fi
if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
    log "== installing python3-pip (apt)"
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-pip >&2
fi
have="$("$PYTHON" -c 'import optuna, psycopg, psycopg2; print(optuna.__version__)' 2>/dev/null || true)"
if [ "$have" != "$OPTUNA" ]; then
    log "== installing optuna==$OPTUNA, psycopg[binary] and psycopg2-binary (pip; found: ${have:-none})"
    pip_install "optuna==$OPTUNA" "psycopg[binary]" psycopg2-binary
fi
"$PYTHON" -c 'import optuna, psycopg, psycopg2' >&2
