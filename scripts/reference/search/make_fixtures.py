"""Reference fixtures for crates/search (pulse-search): normal CDF/PPF, PSR/DSR and PBO by CSCV.

Independent implementations with numpy/scipy (versions pinned in requirements.txt), written from the
papers' formulas, not from the Rust code:
  * Bailey & Lopez de Prado (2012) PSR and (2014) DSR, with scipy.stats.norm, scipy.stats.skew and
    scipy.stats.kurtosis(fisher=False) (population moments), std with ddof=1.
  * Bailey, Borwein, Lopez de Prado & Zhu (2017) CSCV: np.array_split blocks, itertools.combinations,
    np.argmax for the IS winner, scipy.stats.rankdata (average ties) for the OOS rank.
Writes crates/search/tests/fixtures/reference.json.

    python3 -m venv .venv && .venv/bin/pip install -r scripts/reference/search/requirements.txt \
      && .venv/bin/python scripts/reference/search/make_fixtures.py
"""
import csv
import itertools
import json
import math
import os
import sys

import numpy as np
import scipy
from scipy import stats

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SHARED = os.environ.get("PULSE_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
OUT = os.path.join(ROOT, "crates", "search", "tests", "fixtures", "reference.json")
EULER = 0.5772156649015329


def adj_close_returns(symbol):
    path = os.path.join(SHARED, "daily-adjclose", f"{symbol}.csv")
    with open(path, newline="") as f:
        closes = [float(r["adj_close"]) for r in csv.DictReader(f)]
    c = np.array(closes)
    return c[1:] / c[:-1] - 1.0  # simple returns, close to close


def moments(r):
    r = np.asarray(r, dtype=float)
    sd = r.std(ddof=1)
    return {
        "n": int(r.size),
        "mean": float(r.mean()),
        "std": float(sd),
        "sharpe": float(r.mean() / sd),
        "skewness": float(stats.skew(r, bias=True)),
        "kurtosis": float(stats.kurtosis(r, fisher=False, bias=True)),
    }


def psr(sr, sr_star, n, skew, kurt):
    return float(stats.norm.cdf((sr - sr_star) * math.sqrt(n - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr * sr)))


def expected_max_sr(n_trials, var):
    if n_trials == 1:
        return 0.0
    return math.sqrt(var) * ((1 - EULER) * stats.norm.ppf(1 - 1 / n_trials) + EULER * stats.norm.ppf(1 - 1 / (n_trials * math.e)))


def dsr_case(name, returns, trial_sharpes, inline, spy_tail=None):
    m = moments(returns)
    var = float(np.var(trial_sharpes, ddof=1))
    sr0 = float(expected_max_sr(len(trial_sharpes), var))
    case = {
        "name": name,
        "trial_sharpes": [float(s) for s in trial_sharpes],
        "expected": {
            **m,
            "trial_sharpe_variance": var,
            "sharpe_null": sr0,
            "dsr": psr(m["sharpe"], sr0, m["n"], m["skewness"], m["kurtosis"]),
            "psr_0": psr(m["sharpe"], 0.0, m["n"], m["skewness"], m["kurtosis"]),
            "psr_bench": psr(m["sharpe"], 0.05, m["n"], m["skewness"], m["kurtosis"]),
        },
    }
    if inline:
        case["returns"] = [float(x) for x in returns]
    else:
        case["spy_tail"] = spy_tail  # 0 = all SPY returns, else the last spy_tail of them
    return case


def momentum_trials(r, lookbacks):
    """Trial k: hold the asset on day t when the sum of the previous L returns is positive, else cash."""
    out = []
    for L in lookbacks:
        csum = np.concatenate([[0.0], np.cumsum(r)])
        sig = np.zeros_like(r)
        for t in range(L, r.size):
            sig[t] = 1.0 if csum[t] - csum[t - L] > 0 else 0.0
        out.append((sig * r)[max(lookbacks):])
    return out


def cscv(matrix, s, metric):
    """matrix: T x N. Returns (pbo, logits) by the paper's recipe."""
    t, n = matrix.shape
    blocks = np.array_split(np.arange(t), s)

    def perf(rows):
        sub = matrix[rows]
        if metric == "sharpe":
            sd = sub.std(axis=0, ddof=1)
            return np.where(sd > 0, sub.mean(axis=0) / np.where(sd > 0, sd, 1.0), -np.inf)
        return sub.mean(axis=0)

    logits = []
    for combo in itertools.combinations(range(s), s // 2):
        is_rows = np.concatenate([blocks[b] for b in combo])
        oos_rows = np.concatenate([blocks[b] for b in range(s) if b not in combo])
        is_perf, oos_perf = perf(is_rows), perf(oos_rows)
        best = int(np.argmax(is_perf))
        rank = stats.rankdata(oos_perf, method="average")[best]
        w = rank / (n + 1)
        logits.append(math.log(w / (1 - w)))
    logits = np.array(logits)
    return float(np.mean(logits <= 0)), [float(x) for x in logits]


def main():
    rng = np.random.default_rng(20141021)
    spy = adj_close_returns("SPY")

    cases = []
    # 1. Real SPY daily returns (whole file) as the chosen strategy; trials = momentum rules on SPY.
    lookbacks = list(range(1, 41))
    trials = momentum_trials(spy, lookbacks)
    spy_sharpes = [moments(x)["sharpe"] for x in trials]
    cases.append(dsr_case("SPY buy-and-hold vs 40 SPY momentum trials", spy, spy_sharpes, inline=False, spy_tail=0))
    # 2. SPY's last 1260 daily returns (about 5 years), deflated by the same 40 trials.
    cases.append(dsr_case("SPY last 1260 returns vs 40 SPY momentum trials", spy[-1260:], spy_sharpes, inline=False, spy_tail=1260))
    # 3. Synthetic fat-tailed, skewed returns; 100 noise trials.
    t = 750
    synth = 0.0006 + 0.01 * (rng.standard_t(4, size=t) - 0.3 * (rng.standard_exponential(size=t) - 1.0))
    noise_sr = [moments(0.01 * rng.standard_normal(t))["sharpe"] for _ in range(100)]
    cases.append(dsr_case("synthetic t(4)+skew, 750 periods, 100 noise trials", synth, noise_sr, inline=True))

    normal = [{"x": float(x), "cdf": float(stats.norm.cdf(x)), "sf": float(stats.norm.sf(x))}
              for x in [-30.0, -12.5, -8.0, -5.0, -3.3, -2.0, -1.0, -0.5, -1e-3, 0.0, 0.3, 1.0, 1.96, 2.5, 4.0, 6.0, 9.0]]
    ppf = [{"p": p, "ppf": float(stats.norm.ppf(p))}
           for p in [1e-300, 1e-100, 1e-20, 1e-10, 1e-5, 0.001, 0.02, 0.02425, 0.1, 0.25, 0.5, 0.6, 0.9, 0.975, 0.99, 0.999, 1 - 1e-9, 1 - 1 / 40, 1 - 1 / (40 * math.e)]]

    # CSCV: seeded 400 x 12 matrix, trials with small different drifts, S = 8 and S = 10; Sharpe and mean.
    mat = 0.01 * rng.standard_normal((400, 12)) + np.linspace(-0.0005, 0.0008, 12)
    pbo_cases = []
    for s, metric in [(8, "sharpe"), (10, "mean"), (16, "sharpe")]:
        pbo, logits = cscv(mat, s, metric)
        case = {"blocks": s, "metric": metric, "pbo": pbo, "logit_sum": float(np.sum(logits)), "logits_head": logits[:64]}
        pbo_cases.append(case)

    doc = {
        "notes": ("Generated by scripts/reference/search/make_fixtures.py with numpy " + np.__version__ +
                  ", scipy " + scipy.__version__ + ", Python " + sys.version.split()[0] +
                  ". Sharpe ratios per period (mean/std ddof=1), skew/kurtosis population (bias=True), kurtosis Pearson. "
                  "SPY returns are simple close-to-close returns of shared/data/daily-adjclose/SPY.csv; SPY cases' returns are not inlined "
                  "(spy_tail: the Rust test recomputes them from the CSV). CSCV matrix is T x N row-major, seed 20141021."),
        "normal": normal,
        "ppf": ppf,
        "dsr": cases,
        "cscv": {"n_periods": int(mat.shape[0]), "n_trials": int(mat.shape[1]),
                 "matrix_row_major": [float(x) for x in mat.ravel()], "cases": pbo_cases},
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print("wrote", OUT)
    for c in cases:
        print(c["name"], {k: c["expected"][k] for k in ("sharpe", "sharpe_null", "dsr", "psr_0")})
    for c in pbo_cases:
        print("cscv", c["blocks"], c["metric"], c["pbo"])


if __name__ == "__main__":
    main()
