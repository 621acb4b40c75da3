#!/usr/bin/env python3
"""Reference fixtures for pulse-analytics, computed with numpy/pandas by the textbook formulas,
independently of the Rust code.

    /work/main/.venv/bin/pip install -r scripts/reference/analytics/requirements.txt
    /work/main/.venv/bin/python scripts/reference/analytics/make_fixtures.py

Writes crates/analytics/tests/fixtures/{hand.json, spy_buy_hold.json}.

Conventions (the same as the Rust docs; fractions, never percent):
  r_i          = E_i / E_{i-1} - 1                      simple period returns, i = 1..n-1
  rf_i         = per-period risk-free return at the START of period i (point i-1)
  total_return = E_T / E_0 - 1
  CAGR         = (E_T / E_0) ** (365.25 / days) - 1,  days = calendar days first..last date
  volatility   = std(r, ddof=1) * sqrt(ppy)            ppy = 252 (daily)
  sharpe       = mean(r - rf) / std(r - rf, ddof=1) * sqrt(ppy)
  sortino      = mean(r - rf) * ppy / (sqrt(mean(min(0, r - rf)^2)) * sqrt(ppy))   (all periods)
  max_drawdown = max(1 - E / cummax(E)), peak = argmax of E up to the trough, recovery = first
                 date after the trough with E >= E[peak]
  calmar       = CAGR / max_drawdown
  VaR95        = -np.quantile(r, 0.05)   (numpy default method 'linear')
  CVaR95       = -mean(r[r <= np.quantile(r, 0.05)])
  turnover     = sum(|q * price|) / 2 / mean(E) / (days / 365.25)
  trades       = FIFO lot matching per symbol; one closed trade per closing fill; P&L net of the
                 pro-rata entry fee (lot fee * q / lot qty) and pro-rata exit fee (fill fee * q / fill qty)
  win_rate     = wins / closed trades; profit_factor = gross profit / gross loss; expectancy = mean P&L
  exposure     = mean(gross exposure); time_in_market = share of points with exposure > 0
  monthly      = (1 + r).groupby(year, month of the period END date).prod() - 1
  yearly       = (1 + r).groupby(year of the period END date).prod() - 1
"""
import json
import math
import pathlib
from collections import deque

import numpy as np
import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parents[3]
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "crates" / "analytics" / "tests" / "fixtures"
PPY = 252.0


def fnum(x):
    """JSON-safe number: None stays None, +inf -> "inf"."""
    if x is None:
        return None
    x = float(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def iso(d):
    return None if d is None else pd.Timestamp(d).strftime("%Y-%m-%dT00:00:00Z")


def fifo_trades(fills):
    """Independent FIFO matcher: fills = list of dicts(date, symbol, side, qty, price, fee)."""
    books = {}
    trades = []
    for f in fills:
        sgn = 1 if f["side"] == "buy" else -1
        book = books.setdefault(f["symbol"], deque())  # lots: [sign, remaining, orig, price, fee]
        rem = f["qty"]
        if book and book[0][0] != sgn:
            closed, gross, efee = 0.0, 0.0, 0.0
            while rem > 1e-12 and book:
                lot = book[0]
                m = min(rem, lot[1])
                gross += lot[0] * (f["price"] - lot[3]) * m
                efee += lot[4] * m / lot[2]
                lot[1] -= m
                rem -= m
                closed += m
                if lot[1] <= 1e-12:
                    book.popleft()
            xfee = f["fee"] * closed / f["qty"]
            trades.append(gross - efee - xfee)
        if rem > 1e-12:
            book.append([sgn, rem, rem, f["price"], f["fee"] * rem / f["qty"]])
    return trades


def metrics(dates, equity, rf_per_period, fills, exposure):
    s = pd.Series(np.asarray(equity, dtype=float), index=pd.DatetimeIndex(dates))
    r = s.pct_change().iloc[1:]
    rf = np.asarray(rf_per_period, dtype=float)[:-1]  # rate at the start of each period
    ex = r.to_numpy() - rf
    days = (s.index[-1] - s.index[0]).days
    total = s.iloc[-1] / s.iloc[0] - 1
    cagr = (s.iloc[-1] / s.iloc[0]) ** (365.25 / days) - 1
    vol = np.std(r.to_numpy(), ddof=1) * math.sqrt(PPY)
    sd_ex = np.std(ex, ddof=1)
    sharpe = ex.mean() / sd_ex * math.sqrt(PPY)
    dd_dev = math.sqrt(np.mean(np.minimum(0.0, ex) ** 2))
    sortino = ex.mean() * PPY / (dd_dev * math.sqrt(PPY))
    peak_series = s.cummax()
    dd = 1 - s / peak_series
    mdd = dd.max()
    trough = dd.idxmax()
    peak = s.loc[:trough].idxmax()
    after = s.loc[s.index > trough]
    rec = after[after >= s.loc[peak]]
    recovery = rec.index[0] if len(rec) else None
    q = np.quantile(r.to_numpy(), 0.05)
    var = -q
    cvar = -r.to_numpy()[r.to_numpy() <= q].mean()
    pnl = fifo_trades(fills)
    wins = [p for p in pnl if p > 0]
    losses = [p for p in pnl if p < 0]
    gp, gl = float(sum(wins)), float(-sum(losses))
    pf = None if not pnl else (gp / gl if gl > 0 else (math.inf if gp > 0 else None))
    notional = float(sum(abs(f["qty"] * f["price"]) for f in fills))
    turnover = notional / 2 / s.mean() / (days / 365.25)
    expo = np.asarray(exposure, dtype=float)
    monthly = (1 + r).groupby([r.index.year, r.index.month]).prod() - 1
    yearly = (1 + r).groupby(r.index.year).prod() - 1
    return {
        "start": iso(s.index[0]),
        "end": iso(s.index[-1]),
        "points": len(s),
        "periods_per_year": PPY,
        "initial_equity": fnum(s.iloc[0]),
        "final_equity": fnum(s.iloc[-1]),
        "total_return": fnum(total),
        "cagr": fnum(cagr),
        "volatility": fnum(vol),
        "sharpe": fnum(sharpe),
        "sortino": fnum(sortino),
        "max_drawdown": fnum(mdd),
        "max_drawdown_peak": iso(peak),
        "max_drawdown_trough": iso(trough),
        "max_drawdown_recovery": iso(recovery),
        "calmar": fnum(cagr / mdd),
        "closed_trades": len(pnl),
        "wins": len(wins),
        "losses": len(losses),
        "win_rate": fnum(len(wins) / len(pnl)) if pnl else None,
        "gross_profit": gp,
        "gross_loss": gl,
        "profit_factor": fnum(pf),
        "expectancy": fnum(np.mean(pnl)) if pnl else None,
        "fills": len(fills),
        "traded_notional": notional,
        "turnover": fnum(turnover),
        "fees_paid": float(sum(f["fee"] for f in fills)),
        "exposure_mean": fnum(expo.mean()),
        "time_in_market": fnum((expo > 0).mean()),
        "best_period_return": fnum(r.max()),
        "best_period": iso(r.idxmax()),
        "worst_period_return": fnum(r.min()),
        "worst_period": iso(r.idxmin()),
        "var_95": fnum(var),
        "cvar_95": fnum(cvar),
    }, {
        "monthly": [[int(y), int(m), float(v)] for (y, m), v in monthly.items()],
        "yearly": [[int(y), float(v)] for y, v in yearly.items()],
        "drawdown_series": [float(x) for x in dd],
        "trade_pnl": [float(p) for p in pnl],
        "sharpe_excess_mean": float(ex.mean()),
    }


def hand():
    """(b) Hand-built example: 10 daily points 2024-01-01..2024-01-10 (calendar days 9), rf = 0.

    Equity (x100): 100, 110, 99, 108.9, 108.9, 87.12, 95.832, 105.4152, 115.95672, 104.361048
    Returns r:     +.1, -.1, +.1, 0, -.2, +.1, +.1, +.1, -.1   (n = 9; sum = 0.1; mean = 1/90)
    sum r^2 = 0.11; SS = 0.11 - 9*(1/90)^2 = 49/450; var = SS/8 = 49/3600; std = 7/60 = 0.116667
    volatility = 7/60 * sqrt(252) = 1.852026
    sharpe     = (1/90) / (7/60) * sqrt(252) = (2/21) * 15.874508 = 1.511858
    sortino    : min(0,r)^2 = .01, .04, .01 -> sum .06, mean .06/9 = 0.0066667, DD = 0.0816497
                 = (1/90 * 252) / (0.0816497 * sqrt(252)) = 2.8 / 1.296148 = 2.160247
    total_return = 1.04361048 - 1 = 0.04361048
    CAGR       = 1.04361048 ** (365.25/9) - 1 = exp(40.58333 * 0.0426866) - 1 ≈ 4.6536
    drawdown   : peak 110 at 2024-01-02, trough 87.12 at 2024-01-06: 1 - 87.12/110 = 0.208;
                 recovery: first point >= 110 after the trough is 115.95672 on 2024-01-09
    calmar     = CAGR / 0.208 ≈ 22.37
    VaR95      : sorted r = -.2, -.1, -.1, 0, .1 x5; h = 8*0.05 = 0.4; q = -.2 + .4*(.1) = -0.16
                 -> VaR = 0.16; CVaR = -mean(r <= -0.16) = -(-0.2) = 0.2
    best 0.1 first on 2024-01-02; worst -0.2 on 2024-01-06; monthly: 2024-01 = 0.04361048
    Fills (all fees 0.1 % of notional):
      F1 01-01 buy  ABC 5  @100 fee 0.50      F2 01-02 buy ABC 5 @104 fee 0.52
      F3 01-03 sell ABC 10 @108 fee 1.08  -> (8*5 + 4*5) - (0.50 + 0.52 + 1.08) = 60 - 2.10 = 57.90
      F4 01-04 sell XYZ 20 @50  fee 1.00 (short)
      F5 01-06 buy  XYZ 20 @53  fee 1.06  -> (50-53)*20 - (1.00 + 1.06) = -60 - 2.06 = -62.06
      F6 01-07 buy  ABC 10 @100 fee 1.00
      F7 01-09 sell ABC 6  @110 fee 0.66  -> 10*6 - (1.00*6/10 + 0.66) = 60 - 1.26 = 58.74
      (4 ABC stay open: unrealized, not a closed trade)
    closed 3, wins 2, losses 1, win_rate 2/3; gross profit 116.64, gross loss 62.06,
    profit factor 116.64/62.06 = 1.879471; expectancy (116.64 - 62.06)/3 = 18.193333
    fills 7; notional 500+520+1080+1000+1060+1000+660 = 5820; fees 5.82 (= 0.1 % x 5820)
    mean equity = 10354.84968; turnover = 5820/2 / 10354.84968 / (9/365.25) = 11.4051
    exposure [.05,.1,0,.1,.1,0,.1,.1,.04,.04]: mean 0.063, time in market 8/10 = 0.8
    Variant rf5: constant 5 % p.a. -> rf per period (1.05)**(1/252) - 1 (Sharpe/Sortino only).
    """
    dates = pd.date_range("2024-01-01", periods=10, freq="D")
    equity = [100 * x for x in
              [100, 110, 99, 108.9, 108.9, 87.12, 95.832, 105.4152, 115.95672, 104.361048]]
    d = lambda i: dates[i].strftime("%Y-%m-%d")
    fills = [
        dict(date=d(0), symbol="ABC", side="buy", qty=5.0, price=100.0, fee=0.50),
        dict(date=d(1), symbol="ABC", side="buy", qty=5.0, price=104.0, fee=0.52),
        dict(date=d(2), symbol="ABC", side="sell", qty=10.0, price=108.0, fee=1.08),
        dict(date=d(3), symbol="XYZ", side="sell", qty=20.0, price=50.0, fee=1.00),
        dict(date=d(5), symbol="XYZ", side="buy", qty=20.0, price=53.0, fee=1.06),
        dict(date=d(6), symbol="ABC", side="buy", qty=10.0, price=100.0, fee=1.00),
        dict(date=d(8), symbol="ABC", side="sell", qty=6.0, price=110.0, fee=0.66),
    ]
    exposure = [0.05, 0.10, 0.0, 0.10, 0.10, 0.0, 0.10, 0.10, 0.04, 0.04]
    m, extra = metrics(dates, equity, [0.0] * 10, fills, exposure)
    rf5 = (1.05) ** (1 / PPY) - 1
    m5, _ = metrics(dates, equity, [rf5] * 10, fills, exposure)
    return {
        "notes": "Hand-built example (10 daily points, 7 fills = 3 closed trades, rf = 0), computed "
                 "by scripts/reference/analytics/make_fixtures.py with numpy " + np.__version__
                 + " / pandas " + pd.__version__ + " by the textbook formulas (see its docstrings, "
                 "which also work every value out by hand). Timestamps are dates at 00:00 UTC. "
                 "'expected_rf5' = same input with a constant 5 % p.a. risk-free rate "
                 "((1.05)^(1/252)-1 per period).",
        "inputs": {
            "dates": [d(i) for i in range(10)],
            "equity": equity,
            "fills": fills,
            "gross_exposure": exposure,
            "periods_per_year": PPY,
        },
        "expected": m,
        "expected_rf5": {"sharpe": m5["sharpe"], "sortino": m5["sortino"]},
        **extra,
    }


def spy():
    """(a) Buy-and-hold SPY 2015-01-02..2024-12-31 scaled to 100 000, rf from ^IRX forward-filled.

    IRX (percent p.a.) is forward-filled onto SPY dates: for each SPY date, the latest IRX quote at
    or before it (IRX lacks some dates that SPY has, e.g. bond-market holidays). Per-period rf =
    (1 + IRX/100) ** (1/252) - 1, applied as the rate at the START of each period.
    Fills: one fee-free buy of 100000/P_0 shares on the first date and a fee-free sell of all of
    them on the last date (one closed trade with P&L = E_T - E_0); exposure 1.0 at every point.
    """
    spy = pd.read_csv(DATA / "daily-adjclose" / "SPY.csv", parse_dates=["date"], index_col="date")
    irx = pd.read_csv(DATA / "daily-adjclose" / "IRX.csv", parse_dates=["date"], index_col="date")
    px = spy["adj_close"].loc["2015-01-02":"2024-12-31"]
    equity = 100000.0 * px / px.iloc[0]
    irx_on = irx["value"].reindex(irx.index.union(px.index)).ffill().reindex(px.index)
    filled = int((~px.index.isin(irx.index)).sum())
    assert not irx_on.isna().any()
    rf = (1 + irx_on / 100.0) ** (1 / PPY) - 1
    qty = 100000.0 / px.iloc[0]
    fills = [
        dict(date=px.index[0].strftime("%Y-%m-%d"), symbol="SPY", side="buy", qty=qty,
             price=float(px.iloc[0]), fee=0.0),
        dict(date=px.index[-1].strftime("%Y-%m-%d"), symbol="SPY", side="sell", qty=qty,
             price=float(px.iloc[-1]), fee=0.0),
    ]
    m, extra = metrics(px.index, equity.to_numpy(), rf.to_numpy(), fills, [1.0] * len(px))
    return {
        "notes": "Buy-and-hold SPY (../shared/data/daily-adjclose/SPY.csv adj_close) from 2015-01-02 "
                 "to 2024-12-31, equity = 100000 * P_t / P_0; risk-free from daily-adjclose/IRX.csv "
                 "(13-week T-bill, percent p.a.) forward-filled onto SPY dates "
                 f"({filled} SPY dates had no IRX quote), rf per period = (1+IRX/100)^(1/252)-1 at the "
                 "start of each period. Fills: fee-free buy of 100000/P_0 shares on the first date and "
                 "sell on the last; gross exposure 1.0 everywhere. Computed by "
                 "scripts/reference/analytics/make_fixtures.py with numpy " + np.__version__
                 + " / pandas " + pd.__version__ + " (textbook formulas, independent of the Rust code).",
        "inputs": {"shares": qty, "irx_forward_filled_dates": filled, "periods_per_year": PPY},
        "expected": m,
        "monthly": extra["monthly"],
        "yearly": extra["yearly"],
        "trade_pnl": extra["trade_pnl"],
        "drawdown_series_checkpoints": {str(i): extra["drawdown_series"][i]
                                        for i in range(0, len(px), 250)},
    }


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, fx in (("hand.json", hand()), ("spy_buy_hold.json", spy())):
        (OUT / name).write_text(json.dumps(fx, indent=1) + "\n")
        print("wrote", OUT / name)


if __name__ == "__main__":
    main()
