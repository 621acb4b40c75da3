#!/usr/bin/env python3
"""PyPortfolioOpt timings on the exact returns matrices the Rust bench wrote
(/tmp/pulse_opt_<name>.f64: little-endian f64 T, N, then T×N returns row-major).
Same operations as crates/optimize/benches/optimize.rs: Ledoit-Wolf and the sample covariance
(PSD-checked) from returns, min volatility
and max Sharpe (rf 0.02) on mean-historical μ and the LW Σ with PyPortfolioOpt's DEFAULT cvxpy
solver, HRP (single linkage) from returns. Best of R runs, wall time. Prints a markdown table.
Run: .venv-opt/bin/python bench/peers/pypfopt_bench.py real47 synth200 synth500"""
import sys
import time
import warnings

import numpy as np
import pandas as pd
from pypfopt import EfficientFrontier, HRPOpt, expected_returns, risk_models

warnings.simplefilter("ignore")


def best(f, reps):
    b, out = float("inf"), None
    for _ in range(reps):
        t = time.perf_counter()
        out = f()
        b = min(b, time.perf_counter() - t)
    return b, out


def fmt(s):
    return f"{s * 1e6:.1f} µs" if s < 1e-3 else f"{s * 1e3:.2f} ms"


print("| universe | T×N | Ledoit-Wolf | sample cov | min volatility | max Sharpe (rf 0.02) | HRP (single, from returns) | max-Sharpe outcome |")
print("|---|---|---|---|---|---|---|---|")
for name in sys.argv[1:] or ["real47", "synth200", "synth500"]:
    raw = np.fromfile(f"/tmp/pulse_opt_{name}.f64", dtype="<f8")
    t, n = int(raw[0]), int(raw[1])
    rets = pd.DataFrame(raw[2:].reshape(t, n), columns=[f"A{i}" for i in range(n)])
    reps = 3 if n >= 500 else 7
    # Ledoit-Wolf is cheap on both sides: best of 15 (the Rust bench does the same).
    lw_t, S = best(lambda: risk_models.CovarianceShrinkage(rets, returns_data=True).ledoit_wolf(), 15)
    # sample_cov also runs PyPortfolioOpt's PSD check (fix_nonpositive_semidefinite), as Pulse's.
    sc_t, _ = best(lambda: risk_models.sample_cov(rets, returns_data=True), 15)
    mu = expected_returns.mean_historical_return(rets, returns_data=True)

    def minvol():
        ef = EfficientFrontier(mu, S)
        return ef.min_volatility()

    def maxsharpe():
        ef = EfficientFrontier(mu, S)
        w = ef.max_sharpe(risk_free_rate=0.02)
        return ef.portfolio_performance(risk_free_rate=0.02)[2]

    mv_t, _ = best(minvol, reps)
    try:
        ms_t, sharpe = best(maxsharpe, reps)
        outcome = f"ok (Sharpe {sharpe:.4f})"
        ms = fmt(ms_t)
    except Exception as e:  # the default solver may fail on large problems
        ms, outcome = "failed", f"{type(e).__name__}: {str(e)[:60]}"
    h_t, _ = best(lambda: HRPOpt(rets).optimize(linkage_method="single"), reps)
    print(f"| {name} | {t}×{n} | {fmt(lw_t)} | {fmt(sc_t)} | {fmt(mv_t)} | {ms} | {fmt(h_t)} | {outcome} |")
