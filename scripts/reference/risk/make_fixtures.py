#!/usr/bin/env python3
"""Reference fixture for crates/risk (pulse-risk): historical VaR / CVaR (95 %) of a fixed-weight
TSLA + TSLL portfolio's daily returns over rolling 60-day windows, the risk figure
`VaR + 0.5 * CVaR` and the SPEC §4 leverage (0.5 above 0.05, 0.7 above 0.03, else 1.0), computed
with numpy/pandas from the real daily closes in data/bundle (TSLA.csv, TSLL.csv).

Conventions (the ones pulse-risk documents):
- daily simple returns close-to-close on the dates both symbols have a close;
- portfolio return = sum(weight * return), the rest in cash earning nothing;
- VaR = -numpy.quantile(window, 0.05) (numpy's default "linear" method);
- CVaR = -mean(window[window <= quantile]).

Run from the repository root:
    python3 -m venv .venv && .venv/bin/pip install -r scripts/reference/risk/requirements.txt
    .venv/bin/python scripts/reference/risk/make_fixtures.py
Values are printed with 17 significant digits (exact float64 round trip).
"""
import os
import platform
import sys

import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUNDLE = os.path.join(ROOT, "data", "bundle")
OUT = os.path.join(ROOT, "crates", "risk", "tests", "fixtures", "var_tsla_tsll.csv")
WEIGHTS = {"TSLA": 0.5, "TSLL": 0.3}
WINDOW = 60
TAIL = 0.05


def leverage(risk):
    if risk > 0.05:
        return 0.5
    if risk > 0.03:
        return 0.7
    return 1.0


def main():
    closes = pd.concat(
        {s: pd.read_csv(os.path.join(BUNDLE, f"{s}.csv"), index_col="date")["close"] for s in WEIGHTS},
        axis=1,
        join="inner",
    ).sort_index()
    returns = closes / closes.shift(1) - 1.0
    returns = returns.iloc[1:]
    port = sum(w * returns[s] for s, w in WEIGHTS.items())
    rows = []
    values = port.to_numpy()
    for i in range(WINDOW - 1, len(values)):
        window = values[i - WINDOW + 1 : i + 1]
        q = np.quantile(window, TAIL)
        var = -q
        cvar = -window[window <= q].mean()
        risk = var + 0.5 * cvar
        rows.append((port.index[i], var, cvar, risk, leverage(risk)))
    with open(OUT, "w") as f:
        f.write(f"# weights {WEIGHTS}, window {WINDOW} daily returns, tail {TAIL}\n")
        f.write(f"# numpy {np.__version__}, pandas {pd.__version__}, python {platform.python_version()}\n")
        f.write(f"# {' '.join(sys.argv)}\n")
        f.write("date,var,cvar,risk,leverage\n")
        for d, v, c, r, l in rows:
            f.write(f"{d},{v:.17g},{c:.17g},{r:.17g},{l}\n")
    print(f"wrote {len(rows)} rows to {OUT}")


if __name__ == "__main__":
    main()
