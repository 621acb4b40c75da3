#!/usr/bin/env bash
# Creates /work/main/.venv-vbt (gitignored) with the pinned vectorbt peer environment:
# vectorbt 1.2.0, numba 0.68.1, numpy 2.4.6, pandas 3.1.1, TA-Lib 0.8.2 (PyPI wheel, bundles the
# TA-Lib C library) and their pinned dependencies (bench/peers/requirements-vectorbt.txt).
# Also installs GNU time (/usr/bin/time -v measures peak RSS) with apt-get when it is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="$ROOT/.venv-vbt"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r "$ROOT/bench/peers/requirements-vectorbt.txt"
if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time (apt-get install -y time) for peak-RSS measurement"
  if [ "$(id -u)" = 0 ]; then apt-get install -y time; else sudo apt-get install -y time; fi
fi
"$VENV/bin/python" -c "import vectorbt, numba, numpy, pandas, talib; print('vectorbt', vectorbt.__version__, 'numba', numba.__version__, 'numpy', numpy.__version__, 'pandas', pandas.__version__, 'TA-Lib', talib.__version__)"
