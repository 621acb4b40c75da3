"""Reference fixtures for pulse-optimize, computed with PyPortfolioOpt (pinned, see requirements.txt).

Run from the repository root:
    python3 -m venv .venv-opt && .venv-opt/bin/pip install -r scripts/reference/optimize/requirements.txt
    .venv-opt/bin/python scripts/reference/optimize/make_fixtures.py

Writes crates/optimize/tests/fixtures/<universe>.json. Inputs are the real adjusted closes in
../shared/data/daily-adjclose (inner-joined on date, restricted to [start, end]).
Every cvxpy solve uses Clarabel with tight tolerances (1e-10) so that the reference weights are
accurate enough for 1e-6 relative comparisons of return/volatility/Sharpe.
"""
import json
import os
import sys
import warnings
from importlib.metadata import version

import cvxpy as cp
import numpy as np
import pandas as pd
from pypfopt import (
    EfficientFrontier,
    HRPOpt,
    expected_returns,
    objective_functions,
    risk_models,
)
from pypfopt.discrete_allocation import DiscreteAllocation

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DATA = os.environ.get("PULSE_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
OUT = os.path.join(ROOT, "crates", "optimize", "tests", "fixtures")
RF = 0.02
SOLVER = "CLARABEL"
SOLVER_OPTS = dict(tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10, max_iter=500)

UNIVERSES = {
    "etf15": dict(
        tickers="SPY QQQ IWM EEM EFA GLD SLV TLT IEF SHY TIP LQD HYG VNQ DBC".split(),
        start="2015-01-01",
        end="2024-12-31",
        market="SPY",
        sectors={
            "SPY": "equity", "QQQ": "equity", "IWM": "equity", "EEM": "equity", "EFA": "equity",
            "VNQ": "equity", "TLT": "bond", "IEF": "bond", "SHY": "bond", "TIP": "bond",
            "LQD": "bond", "HYG": "bond", "GLD": "commodity", "SLV": "commodity", "DBC": "commodity",
        },
        sector_upper={"bond": 0.3, "commodity": 0.3},
    ),
    "stocks12": dict(
        tickers="AAPL MSFT NVDA AMZN GOOGL META JPM V JNJ PG XOM WMT".split(),
        start="2019-01-01",
        end="2025-12-31",
        market="SPY",
        sectors={
            "AAPL": "tech", "MSFT": "tech", "NVDA": "tech", "AMZN": "tech", "GOOGL": "tech",
            "META": "tech", "JPM": "fin", "V": "fin", "JNJ": "staples", "PG": "staples",
            "XOM": "energy", "WMT": "staples",
        },
        sector_upper={"tech": 0.3, "staples": 0.3},
    ),
}


def load(tickers, start, end):
    frames = []
    for t in tickers:
        df = pd.read_csv(os.path.join(DATA, "daily-adjclose", f"{t}.csv"), dtype={"date": str})
        col = df.columns[1]
        frames.append(df.set_index("date")[col].astype(float).rename(t))
    prices = pd.concat(frames, axis=1, join="inner").sort_index()
    prices = prices[(prices.index >= start) & (prices.index <= end)]
    return prices


def vec(series, tickers):
    return [float(series[t]) for t in tickers]


def mat(df, tickers):
    a = np.asarray(pd.DataFrame(df).loc[tickers, tickers], dtype=float)
    return a.tolist()


def solve(ef_factory, method, **kw):
    ef = ef_factory()
    getattr(ef, method)(**kw)
    return ef


def frontier_case(name, mu, S, tickers, method, rf_perf, bounds=(0, 1), extra=None, **kw):
    ef = EfficientFrontier(mu, S, weight_bounds=bounds, solver=SOLVER, solver_options=SOLVER_OPTS)
    info = {"method": method, "params": dict(kw), "bounds": list(bounds)}
    if extra is not None:
        info.update(extra(ef))
    getattr(ef, method)(**kw)
    w = ef.weights
    ret, vol, sharpe = ef.portfolio_performance(risk_free_rate=rf_perf)
    info.update(
        weights=[float(x) for x in w],
        expected_return=float(ret),
        volatility=float(vol),
        sharpe=float(sharpe),
        rf=rf_perf,
    )
    return name, info


def main():
    warnings.simplefilter("ignore")
    os.makedirs(OUT, exist_ok=True)
    versions = {
        p: version(p) for p in ["pyportfolioopt", "cvxpy", "clarabel", "ecos", "scikit-learn", "scipy", "numpy", "pandas"]
    }
    for uname, u in UNIVERSES.items():
        tickers = u["tickers"]
        prices = load(tickers + ([u["market"]] if u["market"] not in tickers else []), u["start"], u["end"])
        market = prices[[u["market"]]]
        prices = prices[tickers]
        out = {
            "notes": {
                "generator": "scripts/reference/optimize/make_fixtures.py",
                "command": ".venv-opt/bin/python scripts/reference/optimize/make_fixtures.py",
                "versions": versions,
                "python": sys.version.split()[0],
                "data": "../shared/data/daily-adjclose/<T>.csv, inner join on date, start <= date <= end",
                "solver": f"{SOLVER} {SOLVER_OPTS}",
                "frequency": 252,
            },
            "tickers": tickers,
            "start": u["start"],
            "end": u["end"],
            "first_date": prices.index[0],
            "last_date": prices.index[-1],
            "rows": int(len(prices)),
            "market": u["market"],
        }
        er = {}
        er["mean_geometric"] = vec(expected_returns.mean_historical_return(prices, compounding=True), tickers)
        er["mean_arithmetic"] = vec(expected_returns.mean_historical_return(prices, compounding=False), tickers)
        er["ema_geometric_span500"] = vec(expected_returns.ema_historical_return(prices, span=500, compounding=True), tickers)
        er["ema_arithmetic_span180"] = vec(expected_returns.ema_historical_return(prices, span=180, compounding=False), tickers)
        er["capm_market_rf002"] = vec(expected_returns.capm_return(prices, market_prices=market, risk_free_rate=RF), tickers)
        er["capm_market_rf002_arithmetic"] = vec(
            expected_returns.capm_return(prices, market_prices=market, risk_free_rate=RF, compounding=False), tickers
        )
        er["capm_equal_weight_proxy"] = vec(expected_returns.capm_return(prices), tickers)
        out["expected_returns"] = er

        rm = {}
        rm["sample"] = mat(risk_models.sample_cov(prices), tickers)
        cs = risk_models.CovarianceShrinkage(prices)
        rm["ledoit_wolf"] = mat(cs.ledoit_wolf(), tickers)
        out["ledoit_wolf_shrinkage"] = float(cs.delta)
        rm["exp_span180"] = mat(risk_models.exp_cov(prices, span=180), tickers)
        rm["exp_span60"] = mat(risk_models.exp_cov(prices, span=60), tickers)
        rm["semi_benchmark0"] = mat(risk_models.semicovariance(prices, benchmark=0.0), tickers)
        rm["semi_default"] = mat(risk_models.semicovariance(prices), tickers)
        out["risk_models"] = rm
        # Nearest-PSD repair: the LW matrix with the first two assets' covariance negated and
        # doubled is not PSD; PyPortfolioOpt clips its negative eigenvalues.
        broken = np.array(rm["ledoit_wolf"])
        broken[0, 1] = broken[1, 0] = -2.0 * broken[0, 1]
        out["non_psd"] = {
            "input": broken.tolist(),
            "fixed": np.asarray(risk_models.fix_nonpositive_semidefinite(broken)).tolist(),
            "min_eigenvalue": float(np.linalg.eigvalsh(broken).min()),
        }

        mu = expected_returns.mean_historical_return(prices)
        S = risk_models.CovarianceShrinkage(prices).ledoit_wolf()
        # Targets inside the feasible range.
        ef0 = EfficientFrontier(mu, S, solver=SOLVER, solver_options=SOLVER_OPTS)
        ef0.min_volatility()
        r0, v0, _ = ef0.portfolio_performance()
        target_vol = round(1.5 * v0, 3)
        target_ret = round(0.5 * (r0 + float(mu.max())), 3)
        w0 = np.full(len(tickers), 1.0 / len(tickers))
        sectors = u["sectors"]
        cases = {}
        for name, info in [
            frontier_case("min_volatility", mu, S, tickers, "min_volatility", RF),
            frontier_case("max_sharpe", mu, S, tickers, "max_sharpe", RF, risk_free_rate=RF),
            frontier_case("efficient_risk", mu, S, tickers, "efficient_risk", RF, target_volatility=target_vol),
            frontier_case("efficient_return", mu, S, tickers, "efficient_return", RF, target_return=target_ret),
            frontier_case("max_quadratic_utility", mu, S, tickers, "max_quadratic_utility", RF, risk_aversion=2.0),
            frontier_case("min_volatility_cap030", mu, S, tickers, "min_volatility", RF, bounds=(0, 0.3)),
            frontier_case("max_sharpe_cap030", mu, S, tickers, "max_sharpe", RF, bounds=(0, 0.3), risk_free_rate=RF),
            frontier_case("max_sharpe_bounds005_025", mu, S, tickers, "max_sharpe", RF, bounds=(0.005, 0.25), risk_free_rate=RF),
            frontier_case(
                "min_volatility_l2_gamma01", mu, S, tickers, "min_volatility", RF,
                extra=lambda ef: (ef.add_objective(objective_functions.L2_reg, gamma=0.1), {"gamma": 0.1})[1],
            ),
            frontier_case(
                "efficient_return_sectors", mu, S, tickers, "efficient_return", RF,
                extra=lambda ef: (ef.add_sector_constraints(sectors, {}, u["sector_upper"]),
                                  {"sectors": sectors, "sector_upper": u["sector_upper"]})[1],
                target_return=round(0.5 * (r0 + target_ret), 3),
            ),
            frontier_case(
                "max_sharpe_sectors", mu, S, tickers, "max_sharpe", RF,
                extra=lambda ef: (ef.add_sector_constraints(sectors, {}, u["sector_upper"]),
                                  {"sectors": sectors, "sector_upper": u["sector_upper"]})[1],
                risk_free_rate=RF,
            ),
            frontier_case(
                "max_quadratic_utility_turnover020", mu, S, tickers, "max_quadratic_utility", RF,
                extra=lambda ef: (ef.add_constraint(lambda w: cp.sum(cp.abs(w - w0)) <= 0.2),
                                  {"current_weights": w0.tolist(), "turnover": 0.2})[1],
                risk_aversion=2.0,
            ),
        ]:
            cases[name] = info
        out["frontier"] = {
            "mu": "mean_geometric",
            "cov": "ledoit_wolf",
            "global_min_volatility_unconstrained": float(np.sqrt(1 / np.sum(np.linalg.pinv(S.values)))),
            "cases": cases,
        }

        rets = expected_returns.returns_from_prices(prices)
        hrp = {}
        for link in ["single", "complete", "average", "ward"]:
            h = HRPOpt(rets)
            w = h.optimize(linkage_method=link)
            r, v, s = h.portfolio_performance(risk_free_rate=RF)
            hrp[link] = {
                "weights": [float(w[t]) for t in tickers],
                "expected_return": float(r),
                "volatility": float(v),
                "sharpe": float(s),
                "rf": RF,
                "order": [int(i) for i in HRPOpt._get_quasi_diag(h.clusters)],
            }
        out["hrp"] = hrp

        latest = prices.iloc[-1]
        alloc = {}
        for src in ["max_sharpe", "min_volatility"]:
            w = dict(zip(tickers, cases[src]["weights"]))
            for value in [10000.0, 100000.0]:
                da = DiscreteAllocation(w, latest, total_portfolio_value=value)
                a, left = da.greedy_portfolio()
                da2 = DiscreteAllocation(w, latest, total_portfolio_value=value)
                a2, left2 = da2.lp_portfolio(solver="ECOS_BB")
                p = latest.values
                x2 = np.array([a2.get(t, 0) for t in tickers], dtype=float)
                lp_obj = float(np.sum(np.abs(np.array([w[t] for t in tickers]) * value - x2 * p)) + (value - x2 @ p))
                alloc[f"{src}_{int(value)}"] = {
                    "weights_from": src,
                    "total_value": value,
                    "latest_prices": [float(latest[t]) for t in tickers],
                    "greedy_shares": [int(a.get(t, 0)) for t in tickers],
                    "greedy_leftover": float(left),
                    "lp_shares": [int(a2.get(t, 0)) for t in tickers],
                    "lp_leftover": float(left2),
                    "lp_objective": lp_obj,
                }
        out["allocation"] = alloc
        path = os.path.join(OUT, f"{uname}.json")
        with open(path, "w") as f:
            json.dump(out, f, indent=1)
        print(f"wrote {path}: {len(prices)} rows {prices.index[0]}..{prices.index[-1]}; "
              f"min vol {v0:.4f}, target vol {target_vol}, target return {target_ret}")


if __name__ == "__main__":
    main()
