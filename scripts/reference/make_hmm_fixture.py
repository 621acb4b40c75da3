#!/usr/bin/env python3
"""Reference fixture for pulse_ml::hmm (crates/ml): hmmlearn's GaussianHMM on real BTCUSDT data.

Input series: 15-minute absolute log returns of Binance BTCUSDT, in percent,
    x_j = 100 * |ln(close[e_j] / close[e_{j-1}])|,
where e_j is the row index of the j-th minute bar whose timestamp is a multiple of 15 minutes
(the close of every 15th row of ../shared/data/intraday-1m-many/BTCUSDT.csv.gz when no minute is
missing), over the first DAYS days of the file. The Rust test rebuilds the same series from the same
file (the series is also written to the fixture so that a mismatch is visible at once).

Both implementations start from the same fixed parameters (init_params="" here, and the same
numbers in the Rust test), run EM with the same tolerance / iteration cap / variance prior, and the
fixture records for each case (2 and 3 states): the fitted parameters (states sorted by mean, as
pulse_ml returns them), the EM iteration count and log-likelihood history, model.score(x), the
Viterbi path and its log-probability (model.decode), and the filtered (forward-only) state
probabilities computed here with numpy from the fitted parameters. A third case fits one 2-state
model to two sequences at once (BTCUSDT's series and ETHUSDT's, built the same way), hmmlearn's
fit(X, lengths), recorded under "multi".

Pinned in scripts/reference/requirements-hmm.txt. Run from the repository root:
    python3 -m venv .venv && .venv/bin/pip install -r scripts/reference/requirements-hmm.txt
    .venv/bin/python scripts/reference/make_hmm_fixture.py
Writes crates/ml/tests/fixtures/hmm_btcusdt_15m.json (read by crates/ml/tests/hmm_reference.rs).
"""
import gzip
import json
import os
import platform

import hmmlearn
import numpy as np
from hmmlearn.hmm import GaussianHMM

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.environ.get("PULSE_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
SRC = os.path.join(DATA, "intraday-1m-many", "BTCUSDT.csv.gz")
SRC2 = os.path.join(DATA, "intraday-1m-many", "ETHUSDT.csv.gz")
OUT = os.path.join(ROOT, "crates", "ml", "tests", "fixtures", "hmm_btcusdt_15m.json")
DAYS = 7
TOL = 1e-6
N_ITER = 500
COVARS_PRIOR = 1e-6  # squared percent; hmmlearn's default 1e-2 would dominate small variances

CASES = [
    {
        "name": "2 states",
        "startprob": [0.5, 0.5],
        "transmat": [[0.9, 0.1], [0.1, 0.9]],
        "means": [0.05, 0.4],
        "variances": [0.01, 0.1],
    },
    {
        "name": "3 states",
        "startprob": [0.4, 0.3, 0.3],
        "transmat": [[0.9, 0.08, 0.02], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]],
        "means": [0.05, 0.2, 0.6],
        "variances": [0.005, 0.03, 0.2],
    },
]


def series(src=SRC):
    ts, close = [], []
    with gzip.open(src, "rt") as f:
        header = f.readline().strip().split(",")
        i_ts, i_c = header.index("ts"), header.index("close")
        for line in f:
            row = line.strip().split(",")
            ts.append(row[i_ts])
            close.append(float(row[i_c]))
    # Seconds since the epoch from ISO `YYYY-MM-DDTHH:MM:SSZ`.
    secs = np.array([np.datetime64(t.rstrip("Z"), "s").astype(np.int64) for t in ts])
    close = np.array(close)
    end = secs[0] + DAYS * 86400
    keep = (secs % 900 == 0) & (secs < end)
    c = close[keep]
    return 100.0 * np.abs(np.diff(np.log(c))), secs[keep][1:]


def filtered(model, x):
    """P(s_t | x_0..t): the normalised forward variables, in log space with numpy only."""
    logb = -0.5 * (np.log(2 * np.pi) + np.log(model._covars_[:, 0])
                   + (x[:, None] - model.means_[:, 0]) ** 2 / model._covars_[:, 0])
    with np.errstate(divide="ignore"):
        loga = np.log(model.transmat_)
        la = np.log(model.startprob_) + logb[0]
    out = np.empty_like(logb)
    for t in range(len(x)):
        if t > 0:
            la = np.logaddexp.reduce(la[:, None] + loga, axis=0) + logb[t]
        out[t] = np.exp(la - np.logaddexp.reduce(la))
    return out


def fit_case(case, X, lengths=None):
    k = len(case["means"])
    m = GaussianHMM(n_components=k, covariance_type="diag", n_iter=N_ITER, tol=TOL,
                    covars_prior=COVARS_PRIOR, covars_weight=1, params="stmc", init_params="",
                    implementation="log")
    m.startprob_ = np.array(case["startprob"])
    m.transmat_ = np.array(case["transmat"])
    m.means_ = np.array(case["means"])[:, None]
    m.covars_ = np.array(case["variances"])[:, None]
    m.fit(X, lengths)
    # Sort states by mean (pulse_ml's convention) and permute everything accordingly.
    order = np.argsort(m.means_[:, 0], kind="stable")
    m.startprob_ = m.startprob_[order]
    m.transmat_ = m.transmat_[np.ix_(order, order)]
    m.means_ = m.means_[order]
    m.covars_ = m._covars_[order]  # (k, 1) diagonal variances
    return m


def main():
    x, ts = series()
    x2, _ = series(SRC2)
    cases = []
    for case in CASES:
        k = len(case["means"])
        X = x[:, None]
        m = fit_case(case, X)  # states sorted by mean (pulse_ml's convention)
        logprob, path = m.decode(X, algorithm="viterbi")
        cases.append({
            "name": case["name"],
            "init": {k2: case[k2] for k2 in ("startprob", "transmat", "means", "variances")},
            "iterations": int(m.monitor_.iter),
            "converged": bool(m.monitor_.converged),
            "last_history": [float(v) for v in m.monitor_.history],
            "fitted": {
                "startprob": m.startprob_.tolist(),
                "transmat": m.transmat_.ravel().tolist(),
                "means": m.means_[:, 0].tolist(),
                "variances": m._covars_[:, 0].tolist(),
            },
            "score": float(m.score(X)),
            "viterbi_logprob": float(logprob),
            "viterbi": path.tolist(),
            "filtered": filtered(m, x).ravel().tolist(),
        })
        print(f"{case['name']}: {m.monitor_.iter} iterations, score {m.score(X):.6f}, "
              f"means {m.means_[:, 0]}, state counts {np.bincount(path, minlength=k)}")
    multi_case = CASES[0]
    X = np.concatenate([x, x2])[:, None]
    mm = fit_case(multi_case, X, [len(x), len(x2)])
    multi = {
        "name": "2 states, BTCUSDT + ETHUSDT",
        "x2": x2.tolist(),
        "init": {k2: multi_case[k2] for k2 in ("startprob", "transmat", "means", "variances")},
        "iterations": int(mm.monitor_.iter),
        "converged": bool(mm.monitor_.converged),
        "last_history": [float(v) for v in mm.monitor_.history],
        "fitted": {
            "startprob": mm.startprob_.tolist(),
            "transmat": mm.transmat_.ravel().tolist(),
            "means": mm.means_[:, 0].tolist(),
            "variances": mm._covars_[:, 0].tolist(),
        },
        "score": float(mm.score(X, [len(x), len(x2)])),
    }
    print(f"multi: {mm.monitor_.iter} iterations, score {multi['score']:.6f}, means {mm.means_[:, 0]}")
    doc = {
        "comment": "hmmlearn GaussianHMM reference for crates/ml/tests/hmm_reference.rs; "
                   "made by scripts/reference/make_hmm_fixture.py",
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "hmmlearn": hmmlearn.__version__},
        "source": "intraday-1m-many/BTCUSDT.csv.gz",
        "series": "100 * |ln(close_t / close_{t-1})| over closes at timestamps that are multiples "
                  f"of 900 s, first {DAYS} days",
        "days": DAYS,
        "tol": TOL,
        "n_iter": N_ITER,
        "covars_prior": COVARS_PRIOR,
        "first_ts": int(ts[0]),
        "x": x.tolist(),
        "cases": cases,
        "multi": multi,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT} ({len(x)} observations)")


if __name__ == "__main__":
    main()
