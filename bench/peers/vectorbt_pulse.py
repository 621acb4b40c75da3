#!/usr/bin/env python3
"""The Pulse rule set as a vectorbt parameter sweep (the peer side of issue #5).

What a Python quant would write: TA-Lib indicators computed once per distinct indicator parameter,
Pulse target weights for every parameter combination by numpy broadcasting, then one
`vbt.Portfolio.from_order_func` simulation (flexible order function, numba callbacks) with one
cash-sharing group of two columns (TSLA, TSLL) per combination, processed in column chunks.

The callbacks reproduce Portfolio Pulse's engine rule for rule (crates/engine/src/{lib,sizing,
costs}.rs, crates/backtest/src/{runner,broker,data}.rs): decisions at the close, fills at the next
open rounded to cents, whole shares truncated toward zero, drift band 0.02, minimum trade 100,
sells before buys, buys scaled to the cash including the 0.1 % commission, the broker's cash cap,
dividends credited on the ex-date. Pulse books money in exact decimals; vectorbt books float64.
So the callbacks keep an exact integer shadow of the account (cash in micro-dollars) for the
decisions that depend on exact comparisons (share truncation, budget, affordability), and hand
vectorbt orders of exactly those sizes at exactly those prices; vectorbt executes and books them
(its own float cash is compared with Pulse's at the end).

Modes:
  --check    agreement with the `pulse` CLI on a few parameter sets (same trades, same final equity
             within 1e-9 relative, same Sharpe); exits 1 on the first disagreement.
  --bench    times the grid sweep (weights + simulation + Sharpe), JIT compile excluded and
             reported separately; prints one JSON line.
  --gen-1m   writes the seeded synthetic year of 1-minute TSLA/TSLL bars.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# ---- the rule set (crates/strategy/src/pulse_default.toml), fixed parts ---------------------------
W_TSLA = np.array([0.20, 0.40, 0.50, 0.50, 0.50])
W_TSLL = np.array([0.00, 0.00, 0.10, 0.30, 0.50])
RSI_LEV_OB = 75.0
RSI_EXTREME = 80.0
TSLL_CUT = 1.0
TSLA_CUT = 0.5
TSLA_ADD = 0.20
TSLL_ADD = 0.20
VIX_HIGH, VIX_HIGH_CAP, VIX_EXTREME, VIX_EXTREME_CAP = 30.0, 0.10, 40.0, 0.0
GREED_EXTREME, GREED_CAP = 80.0, 0.10
MAX_WEIGHT, MAX_GROSS = 0.80, 1.00
WARMUP = 33  # max warm-up of RSI14/RSI5/MACD(12,26,9)/BB20/SMA5/SMA10/VWAP20 = MACD's 26-1+9-1

# ---- engine settings (pulse backtest defaults) ----------------------------------------------------
START_CASH_MICRO = 100_000 * 1_000_000
MIN_TRADE_MICRO = 100 * 1_000_000
DRIFT_BAND = 0.02
# commission 0.001: a fill of q shares at c cents costs q*c*10_000 micro notional + q*c*10 micro fee

GRID = {
    "rsi_high": (60.0, 84.0, 1.0),
    "rsi_low": (15.0, 34.0, 1.0),
    "bbands_k": (1.6, 2.4, 0.2),
    "rsi_fast_low": (10.0, 25.0, 5.0),
}
TOML_PATH = {
    "rsi_high": ("overbought", "rsi"),
    "rsi_low": ("oversold", "rsi"),
    "bbands_k": ("indicators", "bbands_k"),
    "rsi_fast_low": ("oversold", "rsi_fast"),
}
DEFAULT_SET = {"rsi_high": 70.0, "rsi_low": 30.0, "bbands_k": 2.0, "rsi_fast_low": 20.0}


def grid_values(lo: float, hi: float, step: float) -> np.ndarray:
    """Inclusive lo:hi:step as pulse-search builds it (lo + i*step, i = 0..=round((hi-lo)/step))."""
    n = int(np.floor((hi - lo) / step * (1.0 + 1e-9) + 1e-9))

    def decimals(x: float) -> int:
        t = repr(float(x))
        return len(t.split(".")[1].rstrip("0")) if "." in t and "e" not in t else 0

    scale = 10.0 ** max(decimals(lo), decimals(step))
    # ParamSpec::grid_value: lo + k*step rounded to the decimals of lo and step (half away from 0)
    vals = [np.floor((lo + i * step) * scale + 0.5) / scale for i in range(n + 1)]
    return np.array([min(v, hi) for v in vals])


def full_grid(spec=GRID) -> dict:
    """Cartesian product in the order of `spec` (last parameter fastest)."""
    axes = [grid_values(*spec[k]) for k in spec]
    mesh = np.meshgrid(*axes, indexing="ij")
    return {k: m.ravel() for k, m in zip(spec, mesh)}


# ---- data: read what pulse reads ------------------------------------------------------------------
class Market:
    """Bars of TSLA and TSLL on their union timeline, mood series as of each step, dividends."""

    def __init__(self, db: str, timeframe: str):
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        self.timeframe = timeframe
        series = {}
        for sym in ("TSLA", "TSLL"):
            rows = con.execute(
                "select ts, open, high, low, close, volume from bars where symbol=? and timeframe=? order by ts",
                (sym, timeframe),
            ).fetchall()
            if not rows:
                raise SystemExit(f"{db}: no {timeframe} bars for {sym}")
            a = np.array([(r[0], r[1], r[2], r[3], r[4], 0.0 if r[5] is None else r[5]) for r in rows])
            series[sym] = a
        ts = np.union1d(series["TSLA"][:, 0].astype(np.int64), series["TSLL"][:, 0].astype(np.int64))
        self.ts = ts
        n = len(ts)
        self.n = n
        self.has = np.zeros((n, 2), dtype=np.bool_)
        self.open_cents = np.full((n, 2), -1, dtype=np.int64)
        self.close = np.full((n, 2), np.nan)
        self.own = []  # per symbol: (timeline index of each own bar, o, h, l, c, v)
        for j, sym in enumerate(("TSLA", "TSLL")):
            a = series[sym]
            idx = np.searchsorted(ts, a[:, 0].astype(np.int64))
            self.has[idx, j] = True
            self.close[idx, j] = a[:, 4]
            # SimBroker: open rounded to cents, midpoint away from zero (exact decimal of the f64)
            self.open_cents[idx, j] = [cents(x) for x in a[:, 1]]
            self.own.append((idx, a[:, 1], a[:, 2], a[:, 3], a[:, 4], a[:, 5]))
        # last close seen (engine.last_prices) and its 6-dp decimal (plan_orders' prices), micro-$
        self.last_close = ffill(self.close)
        self.last_close6 = np.zeros((n, 2), dtype=np.int64)
        for j in range(2):
            cache = {}
            for i in range(n):
                x = self.last_close[i, j]
                if np.isfinite(x):
                    if x not in cache:
                        cache[x] = micro(x)
                    self.last_close6[i, j] = cache[x]
        days = np.array([dt.datetime.fromtimestamp(int(t), dt.timezone.utc).date() for t in ts])
        self.days = days
        # context: latest close strictly before the step's (UTC) date (AlignedData::new)
        self.ctx = {}
        for sym in ("VIX", "FEAR_GREED"):
            rows = con.execute(
                "select ts, close from bars where symbol=? and timeframe='1d' order by ts", (sym,)
            ).fetchall()
            col = np.full(n, np.nan)
            if rows:
                cd = [dt.datetime.fromtimestamp(int(r[0]), dt.timezone.utc).date() for r in rows]
                j, last = 0, np.nan
                for i, d in enumerate(days):
                    while j < len(rows) and cd[j] < d:
                        last = rows[j][1]
                        j += 1
                    col[i] = last
            self.ctx[sym] = col
        # cash dividends per share by ex-date, micro-dollars (exact)
        self.div_micro = np.zeros((n, 2), dtype=np.int64)
        for j, sym in enumerate(("TSLA", "TSLL")):
            for ex, value in con.execute(
                "select ex_date, value from corporate_actions where symbol=? and kind='dividend'", (sym,)
            ):
                d = Decimal(value)
                if d <= 0:
                    continue
                m = d * 1_000_000
                if m != m.to_integral_value():
                    raise SystemExit(f"dividend {sym} {ex} {value}: more than 6 decimals")
                hit = days == dt.date.fromisoformat(ex)
                self.div_micro[hit, j] = int(m)
        con.close()
        first_common = max(int(np.argmax(self.has[:, 0])), int(np.argmax(self.has[:, 1])))
        self.start = min(first_common + WARMUP, n - 1)


def cents(x: float) -> int:
    return int((Decimal(x) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def micro(x: float) -> int:
    return int((Decimal(x) * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def ffill(a: np.ndarray) -> np.ndarray:
    out = a.copy()
    for j in range(a.shape[1]):
        last = np.nan
        for i in range(a.shape[0]):
            if np.isfinite(out[i, j]):
                last = out[i, j]
            else:
                out[i, j] = last
    return out


# ---- indicators (TA-Lib) ---------------------------------------------------------------------------
def rolling_vwap(h, l, c, v, window=20):
    """pulse_indicators::rolling_vwap_into: rolling sums of tp*v and v, same operation order."""
    n = len(c)
    out = np.full(n, np.nan)
    tp = (h + l + c) / 3.0
    spv = sv = 0.0
    for i in range(n):
        if i >= window:
            spv -= tp[i - window] * v[i - window]
            sv -= v[i - window]
        spv += tp[i] * v[i]
        sv += v[i]
        if i >= window - 1:
            out[i] = spv / sv if sv > 0.0 else np.nan
    return out


class Indicators:
    """Per-ticker indicators on each ticker's own bars, scattered onto the timeline."""

    def __init__(self, m: Market, ks):
        import talib

        self.ks = list(ks)
        n = m.n
        nk = len(self.ks)
        self.rsi = np.full((n, 2), np.nan)
        self.rsi5 = np.full((n, 2), np.nan)
        self.hist = np.full((n, 2), np.nan)
        self.sma_f = np.full((n, 2), np.nan)
        self.sma_s = np.full((n, 2), np.nan)
        self.vwap = np.full((n, 2), np.nan)
        self.mid = np.full((n, 2), np.nan)
        self.upper = np.full((n, 2, nk), np.nan)
        self.lower = np.full((n, 2, nk), np.nan)
        self.warm = np.zeros((n, 2), dtype=np.bool_)
        for j in range(2):
            idx, o, h, l, c, v = m.own[j]
            self.rsi[idx, j] = talib.RSI(c, 14)
            self.rsi5[idx, j] = talib.RSI(c, 5)
            self.hist[idx, j] = talib.MACD(c, 12, 26, 9)[2]
            self.sma_f[idx, j] = talib.SMA(c, 5)
            self.sma_s[idx, j] = talib.SMA(c, 10)
            vw = rolling_vwap(h, l, c, v, 20)
            self.vwap[idx, j] = np.where(np.isnan(vw), c, vw)  # vwap.unwrap_or(close)
            for q, k in enumerate(self.ks):
                up, mid, lo = talib.BBANDS(c, 20, k, k, 0)
                self.upper[idx, j, q] = up
                self.lower[idx, j, q] = lo
                self.mid[idx, j] = mid
            w = ~(np.isnan(self.rsi[idx, j]) | np.isnan(self.rsi5[idx, j]) | np.isnan(self.hist[idx, j]))
            w &= ~(np.isnan(self.sma_f[idx, j]) | np.isnan(self.sma_s[idx, j]) | np.isnan(self.mid[idx, j]))
            self.warm[idx, j] = w


def decision_rows(m: Market, ind: Indicators) -> np.ndarray:
    """Timeline steps (from the first evaluated one) where both tickers trade and both are warm."""
    ok = m.has[:, 0] & m.has[:, 1] & ind.warm[:, 0] & ind.warm[:, 1]
    ok[: m.start] = False
    return np.nonzero(ok)[0]


def target_weights(m: Market, ind: Indicators, rows: np.ndarray, p: dict):
    """PulseStrategy::decide for every decision step (rows) x combination (columns of p), by numpy
    broadcasting; same float operations in the same order as the Rust code."""
    b = 0  # TSLA
    c = m.close[rows, b]
    score = (
        (ind.sma_f[rows, b] > ind.sma_s[rows, b]).astype(np.int64)
        + (ind.hist[rows, b] > 0.0)
        + (c > ind.vwap[rows, b])
        + (c > ind.mid[rows, b])
    )
    tsla0 = W_TSLA[score][:, None]
    tsll0 = W_TSLL[score][:, None]
    rsi = ind.rsi[rows, b][:, None]
    kidx = np.searchsorted(np.array(ind.ks), p["bbands_k"])
    upper = ind.upper[rows, b][:, kidx]
    lower = ind.lower[rows, b][:, kidx]
    c2 = c[:, None]
    ob = (rsi > p["rsi_high"][None, :]) | (ind.rsi[rows, 1] > RSI_LEV_OB)[:, None] | (c2 > upper)
    extreme = rsi > RSI_EXTREME
    tsll = np.where(ob, tsll0 * (1.0 - TSLL_CUT), tsll0)
    tsla = np.where(extreme, tsla0 * (1.0 - TSLA_CUT), tsla0)
    oversold = ~ob & (rsi < p["rsi_low"][None, :]) & (
        (ind.rsi5[rows, b][:, None] < p["rsi_fast_low"][None, :]) | (c2 < lower)
    )
    tsla = np.where(oversold, tsla + TSLA_ADD, tsla)
    tsll = np.where(oversold, tsll + TSLL_ADD, tsll)
    vix = m.ctx["VIX"][rows]
    fg = m.ctx["FEAR_GREED"][rows]
    cap = np.full(len(rows), np.nan)
    cap = np.where(vix >= VIX_EXTREME, VIX_EXTREME_CAP, np.where(vix >= VIX_HIGH, VIX_HIGH_CAP, cap))
    gcap = np.where(np.isnan(cap), GREED_CAP, np.minimum(cap, GREED_CAP))
    cap = np.where(fg >= GREED_EXTREME, gcap, cap)
    tsll = np.where(np.isnan(cap)[:, None], tsll, np.minimum(tsll, cap[:, None]))
    tsla = np.clip(tsla, 0.0, MAX_WEIGHT)
    tsll = np.clip(tsll, 0.0, MAX_WEIGHT)
    gross = tsla + tsll
    over = gross > MAX_GROSS
    k = np.where(over, MAX_GROSS / np.where(over, gross, 1.0), 1.0)
    tsla = np.where(over, tsla * k, tsla)
    tsll = np.where(over, tsll * k, tsll)
    return np.ascontiguousarray(tsla), np.ascontiguousarray(tsll)


# ---- the simulation: vectorbt flexible order function with numba callbacks ------------------------
def build_callbacks():
    """Compiles the callbacks (numba); returns them. Kept in a function so that --gen-1m does not
    import numba/vectorbt."""
    from numba import njit
    from vectorbt.portfolio import nb as pnb
    from vectorbt.portfolio.enums import Direction, SizeType

    FEES = 0.001

    @njit(cache=False)
    def floor_div_exact(q, budget, total, flags, g):
        # floor(q*budget/total) exactly (int64 products may wrap: the remainder is exact mod 2^64)
        k = np.int64(np.floor(q * (budget / total)))
        r = q * budget - k * total
        while r < 0:
            k -= 1
            r += total
        while r >= total:
            k += 1
            r -= total
        if r == 0:
            flags[g, 1] += 1  # Decimal(budget/total) may have rounded: borderline, counted
        return k

    @njit(cache=False)
    def pre_segment(c, st_cash, st_qty, st_pend, st_exec, has, open_cents, div_micro, flags):
        i = c.i
        g = c.group
        # 1. dividends going ex today, on the shares held at the previous close
        for s in range(2):
            d = div_micro[i, s]
            if d > 0 and st_qty[g, s] > 0:
                amount = st_qty[g, s] * d
                st_cash[g] += amount
                c.last_cash[g] += amount / 1e6
                c.last_free_cash[g] += amount / 1e6
        # 2. fills at this bar's open of the orders decided at the previous close (SimBroker)
        cash = st_cash[g]
        n_exec = 0
        for side in (1, 0):  # sells first, then buys
            for k in range(st_pend[g, 0, 0]):
                sym = st_pend[g, k + 1, 0]
                if st_pend[g, k + 1, 1] != side:
                    continue
                q = st_pend[g, k + 1, 2]
                if not has[i, sym]:
                    continue  # "no bar to trade at": rejected
                pc = open_cents[i, sym]
                if pc <= 0:
                    continue
                if side == 1:
                    held = st_qty[g, sym]
                    if q > held:
                        q = held
                    if q <= 0:
                        continue
                    cash += q * pc * 10_000 - q * pc * 10
                    st_qty[g, sym] -= q
                else:
                    aff = 0
                    if cash > 0:
                        aff = cash // (pc * 10_010)
                        while aff > 0 and aff * pc * 10_010 > cash:
                            aff -= 1
                    if q > aff:
                        q = aff
                    if q <= 0:
                        continue
                    cash -= q * pc * 10_010
                    st_qty[g, sym] += q
                st_exec[g, n_exec, 0] = sym
                st_exec[g, n_exec, 1] = side
                st_exec[g, n_exec, 2] = q
                st_exec[g, n_exec, 3] = pc
                n_exec += 1
        st_cash[g] = cash
        st_pend[g, 0, 0] = 0
        st_exec[g, 2, 0] = n_exec
        return ()

    @njit(cache=False)
    def flex_order(c, st_exec):
        g = c.group
        k = c.call_idx
        if k >= st_exec[g, 2, 0]:
            return -1, pnb.order_nothing_nb()
        sym = st_exec[g, k, 0]
        q = float(st_exec[g, k, 2])
        price = st_exec[g, k, 3] / 100.0
        size = -q if st_exec[g, k, 1] == 1 else q
        return c.from_col + sym, pnb.order_nb(
            size=size,
            price=price,
            size_type=SizeType.Amount,
            direction=Direction.LongOnly,
            fees=FEES,
        )

    @njit(cache=False)
    def post_order(c, st_exec, flags):
        k = c.call_idx
        g = c.group
        if c.order_result.status != 0 or c.order_result.size != float(st_exec[g, k, 2]):
            flags[g, 0] += 1  # vectorbt did not fill exactly what the exact shadow filled

    @njit(cache=False)
    def post_segment(
        c, st_cash, st_qty, st_pend, st_tgt, dec_row, w_a, w_b, last_close, last_close6, eq_out,
        vbt_final, flags, combo0,
    ):
        i = c.i
        g = c.group
        # equity at the close (BacktestResult.equity): cash as f64 + positions at the last closes
        cash_f = st_cash[g] / 1e6
        pv = 0.0
        for s in range(2):
            if st_qty[g, s] != 0:
                pv += st_qty[g, s] * last_close[i, s]
        eq_out[g, i] = cash_f + pv
        if i == c.target_shape[0] - 1:
            v = c.last_cash[g]
            for s in range(2):
                v += c.last_position[c.from_col + s] * last_close[i, s]
            vbt_final[g] = v
        r = dec_row[i]
        if r < 0:
            return
        st_tgt[g, 0] = w_a[r, combo0 + g]
        st_tgt[g, 1] = w_b[r, combo0 + g]
        # Engine::within_band: the f64 pre-check on the raw closes
        equity = cash_f + pv
        if equity > 0.0:
            band = DRIFT_BAND - 1e-9
            inside = True
            for s in range(2):
                w_now = st_qty[g, s] * last_close[i, s] / equity
                wt = st_tgt[g, s]
                if (wt <= 0.0 and w_now > 0.0) or abs(wt - w_now) >= band:
                    inside = False
            if inside:
                return
        # plan_orders: exact equity at 6-dp closes, f64 sizing, exact budget
        eq_m = st_cash[g]
        for s in range(2):
            eq_m += st_qty[g, s] * last_close6[i, s]
        if eq_m <= 0:
            return
        eq_f = eq_m / 1e6
        n = 0
        buy_sym = np.zeros(2, dtype=np.int64)
        buy_q = np.zeros(2, dtype=np.int64)
        nb_ = 0
        proceeds = 0  # nano-dollars
        for s in range(2):
            pm = last_close6[i, s]
            if pm <= 0:
                continue
            wt = max(st_tgt[g, s], 0.0)
            held = st_qty[g, s]
            price_f = pm / 1e6
            w_now = held * price_f / eq_f
            closing = wt == 0.0 and held > 0
            if not closing and abs(wt - w_now) < DRIFT_BAND:
                continue
            wanted = 0
            if not closing:
                x = wt * eq_f / price_f
                if np.isfinite(x) and x > 0.0:
                    wanted = np.int64(np.trunc(x))
            delta = wanted - held
            if delta == 0:
                continue
            if not closing and abs(delta) * pm < MIN_TRADE_MICRO:
                continue
            if delta < 0:
                n += 1
                st_pend[g, n, 0] = s
                st_pend[g, n, 1] = 1
                st_pend[g, n, 2] = -delta
                proceeds += -delta * pm * 999
            else:
                buy_sym[nb_] = s
                buy_q[nb_] = delta
                nb_ += 1
        budget = max(st_cash[g] * 1000 + proceeds, 0)
        total = 0
        for b in range(nb_):
            total += buy_q[b] * last_close6[i, buy_sym[b]] * 1001
        if total > budget and total > 0:
            spent = 0
            for b in range(nb_):
                pm = last_close6[i, buy_sym[b]]
                q = floor_div_exact(buy_q[b], budget, total, flags, g)
                while q > 0 and spent + q * pm * 1001 > budget:
                    q -= 1
                if q > 0 and q * pm >= MIN_TRADE_MICRO:
                    spent += q * pm * 1001
                    n += 1
                    st_pend[g, n, 0] = buy_sym[b]
                    st_pend[g, n, 1] = 0
                    st_pend[g, n, 2] = q
        else:
            for b in range(nb_):
                n += 1
                st_pend[g, n, 0] = buy_sym[b]
                st_pend[g, n, 1] = 0
                st_pend[g, n, 2] = buy_q[b]
        st_pend[g, 0, 0] = n

    @njit(cache=False)
    def sharpe_rows(eq, ppy):
        """pulse-analytics Metrics: simple returns, mean, two-pass sample std, x sqrt(ppy)."""
        ng, n = eq.shape
        out = np.full(ng, np.nan)
        for g in range(ng):
            m = n - 1
            if m < 2:
                continue
            s = 0.0
            for t in range(1, n):
                s += eq[g, t] / eq[g, t - 1] - 1.0
            mean = s / m
            ss = 0.0
            for t in range(1, n):
                d = (eq[g, t] / eq[g, t - 1] - 1.0) - mean
                ss += d * d
            sd = np.sqrt(ss / (m - 1))
            if sd > 1e-14:
                out[g] = mean / sd * np.sqrt(ppy)
        return out

    return pre_segment, flex_order, post_order, post_segment, sharpe_rows


class Sweep:
    """Weights + vectorbt simulation + Sharpe for chunks of parameter combinations."""

    def __init__(self, m: Market, ks, ppy: float):
        import vectorbt as vbt

        self.vbt = vbt
        self.m = m
        self.ind = Indicators(m, ks)
        self.rows = decision_rows(m, self.ind)
        s = m.start
        self.s = s
        self.dec_row = np.full(m.n - s, -1, dtype=np.int64)
        self.dec_row[self.rows - s] = np.arange(len(self.rows))
        self.has = np.ascontiguousarray(m.has[s:])
        self.open_cents = np.ascontiguousarray(m.open_cents[s:])
        self.div_micro = np.ascontiguousarray(m.div_micro[s:])
        self.last_close = np.ascontiguousarray(m.last_close[s:])
        self.last_close6 = np.ascontiguousarray(m.last_close6[s:])
        self.close = np.ascontiguousarray(m.close[s:])
        self.ppy = ppy
        self.cb = build_callbacks()

    def run(self, p: dict, keep_pf=False):
        """Simulates every combination of `p` (dict of equal-length arrays) in one vectorbt call."""
        pre_segment, flex_order, post_order, post_segment, sharpe_rows = self.cb
        C = len(next(iter(p.values())))
        w_a, w_b = target_weights(self.m, self.ind, self.rows, p)
        if w_a.shape[1] != C:
            w_a = np.ascontiguousarray(np.broadcast_to(w_a, (len(self.rows), C)))
        n = self.m.n - self.s
        st_cash = np.full(C, START_CASH_MICRO, dtype=np.int64)
        st_qty = np.zeros((C, 2), dtype=np.int64)
        st_pend = np.zeros((C, 3, 3), dtype=np.int64)
        st_exec = np.zeros((C, 3, 4), dtype=np.int64)
        st_tgt = np.zeros((C, 2))
        eq_out = np.zeros((C, n))
        vbt_final = np.zeros(C)
        flags = np.zeros((C, 2), dtype=np.int64)
        close = np.tile(self.close, (1, C))
        pf = self.vbt.Portfolio.from_order_func(
            close,
            flex_order,
            st_exec,
            flexible=True,
            init_cash=START_CASH_MICRO / 1e6,
            cash_sharing=True,
            group_by=np.repeat(np.arange(C), 2),
            pre_segment_func_nb=pre_segment,
            pre_segment_args=(st_cash, st_qty, st_pend, st_exec, self.has, self.open_cents, self.div_micro, flags),
            post_order_func_nb=post_order,
            post_order_args=(st_exec, flags),
            post_segment_func_nb=post_segment,
            post_segment_args=(
                st_cash, st_qty, st_pend, st_tgt, self.dec_row, w_a, w_b, self.last_close,
                self.last_close6, eq_out, vbt_final, flags, 0,
            ),
            call_post_segment=True,
            freq="1D",
        )
        sharpe = sharpe_rows(eq_out, self.ppy)
        out = {
            "sharpe": sharpe,
            "final_exact": eq_out[:, -1].copy(),
            "final_vbt": vbt_final,
            "flags": flags,
            "cash_micro": st_cash,
            "qty": st_qty,
        }
        if keep_pf:
            out["pf"] = pf
            out["equity"] = eq_out
        return out


# ---- agreement with the pulse CLI -----------------------------------------------------------------
def pulse_toml(pulse: str, params: dict) -> str:
    """`pulse strategy show pulse` with the parameter values written into their TOML keys."""
    text = subprocess.run([pulse, "strategy", "show", "pulse"], check=True, capture_output=True, text=True).stdout
    out, section = [], None
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("[") and s.endswith("]"):
            section = s[1:-1]
        key = s.split("=")[0].strip() if "=" in s and not s.startswith("#") else None
        for name, (sec, k) in TOML_PATH.items():
            if name in params and section == sec and key == k:
                line = f"{k} = {float(params[name])!r}"
        out.append(line)
    return "\n".join(out) + "\n"


def pulse_backtest(pulse: str, db: str, timeframe: str, params: dict) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(pulse_toml(pulse, params))
        path = f.name
    env = dict(os.environ, PULSE_DB=db)
    r = subprocess.run(
        [pulse, "backtest", "--strategy-config", path, "--timeframe", timeframe, "--json"],
        check=True, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(),
    )
    os.unlink(path)
    return json.loads(r.stdout)


def vbt_trades(sw: Sweep, res: dict, g: int, timeframe: str):
    rec = res["pf"].orders.values
    rec = rec[(rec["col"] // 2) == g]
    out = []
    for r in rec:
        ts = int(sw.m.ts[sw.s + int(r["idx"])])
        t = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
        date = t.date().isoformat() if timeframe == "1d" else t.strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append(
            (date, ("TSLA", "TSLL")[int(r["col"]) % 2], "sell" if r["side"] == 1 else "buy",
             float(r["size"]), round(float(r["price"]), 2), float(r["fees"]))
        )
    return out


def check(args, m: Market, sets: list) -> bool:
    ks = sorted({float(s["bbands_k"]) for s in sets} | set(grid_values(*GRID["bbands_k"])))
    sw = Sweep(m, ks, ppy_of(args.timeframe))
    p = {k: np.array([float(s[k]) for s in sets]) for k in GRID}
    res = sw.run(p, keep_pf=True)
    ok = True
    for g, ps in enumerate(sets):
        ref = pulse_backtest(args.pulse, args.db, args.timeframe, ps)
        name = ref["strategies"][0]["name"]
        assert name == "Pulse", name
        rt = [
            (t["date"], t["symbol"], t["side"], float(t["quantity"]), float(t["price"]), float(t["fee"]))
            for t in ref["trades"]
        ]
        vt = vbt_trades(sw, res, g, args.timeframe)
        first_diff = next(
            (k for k in range(max(len(rt), len(vt)))
             if k >= len(rt) or k >= len(vt) or rt[k][:5] != vt[k][:5]),
            None,
        )
        fees_ok = all(abs(a[5] - b[5]) <= 1e-9 * max(1.0, abs(a[5])) for a, b in zip(rt, vt))
        eq_ref = ref["equity"]["Pulse"]
        final_ref = eq_ref[-1]
        rel_exact = abs(res["final_exact"][g] / final_ref - 1)
        rel_vbt = abs(res["final_vbt"][g] / final_ref - 1)
        curve = res["equity"][g]
        curve_ok = len(curve) == len(eq_ref) and bool(np.all(np.abs(curve / np.array(eq_ref) - 1) <= 1e-9))
        sh_ref = ref["strategies"][0]["metrics"]["sharpe"]
        sh = res["sharpe"][g]
        sh_ok = sh_ref is not None and abs(sh - sh_ref) <= 1e-9 * max(1.0, abs(sh_ref))
        flags = res["flags"][g]
        good = first_diff is None and fees_ok and rel_vbt <= 1e-9 and rel_exact <= 1e-9 and curve_ok and sh_ok
        good = good and flags[0] == 0
        print(
            f"{'OK  ' if good else 'FAIL'} {ps}: trades {len(vt)}/{len(rt)} identical={first_diff is None} "
            f"fees={fees_ok} final pulse={final_ref:.6f} vbt={res['final_vbt'][g]:.6f} (rel {rel_vbt:.1e}) "
            f"exact-shadow rel {rel_exact:.1e}; equity curve={curve_ok}; sharpe pulse={sh_ref} vbt={sh:.15g} "
            f"ok={sh_ok}; vbt-partial-fills={flags[0]} borderline-scalings={flags[1]}"
        )
        if first_diff is not None:
            print(f"  first differing trade #{first_diff}: pulse={rt[first_diff] if first_diff < len(rt) else None} "
                  f"vectorbt={vt[first_diff] if first_diff < len(vt) else None}")
        ok &= bool(good)
    return ok


def ppy_of(timeframe: str) -> float:
    return 252.0 if timeframe == "1d" else 252.0 * 390.0 / {"1m": 1, "15m": 15, "1h": 60}[timeframe]


# ---- synthetic year of 1-minute bars ---------------------------------------------------------------
def gen_1m(out_dir: str, sessions: int = 252, seed: int = 20250106) -> None:
    """TSLA: random walk of minute returns bootstrapped (seeded) from the real TSLA 1-minute bars;
    TSLL: 2x TSLA's minute returns; volumes bootstrapped likewise; prices in cents. Full NYSE
    sessions only (holidays and early closes skipped, from crates/core/data/calendar_nyse.csv),
    09:30..15:59 New York time, start-of-bar labels in UTC (DST handled)."""
    src = "/work/shared/data/intraday-1m/TSLA.csv"
    rows = np.genfromtxt(src, delimiter=",", skip_header=1, usecols=(1, 2, 3, 4, 5))
    c = rows[:, 3]
    r = c[1:] / c[:-1] - 1.0
    ok = np.isfinite(r) & (np.abs(r) < 0.2)
    r = r[ok]
    hl_hi = (rows[1:, 1] / rows[1:, 3] - 1.0)[ok]  # high above close, as a fraction
    hl_lo = (1.0 - rows[1:, 2] / rows[1:, 3])[ok]  # low below close
    vol = rows[1:, 4][ok]
    special = set()
    with open(os.path.join(ROOT, "crates/core/data/calendar_nyse.csv")) as f:
        for line in f:
            parts = line.strip().split(",")
            if len(parts) >= 2 and parts[1] in ("closed", "early_close", "late_open", "special"):
                special.add(parts[0])
    ny = ZoneInfo("America/New_York")
    days, d = [], dt.date(2025, 1, 6)
    while len(days) < sessions:
        if d.weekday() < 5 and d.isoformat() not in special:
            days.append(d)
        d += dt.timedelta(days=1)
    n = sessions * 390
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(r), size=n)
    ra = r[pick]
    hi, lo, v = hl_hi[pick], hl_lo[pick], vol[pick]
    pick2 = rng.integers(0, len(r), size=n)
    v2 = vol[pick2] * 3.0
    stamps = []
    for day in days:
        t0 = dt.datetime(day.year, day.month, day.day, 9, 30, tzinfo=ny).astimezone(dt.timezone.utc)
        for k in range(390):
            stamps.append((t0 + dt.timedelta(minutes=k)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    os.makedirs(out_dir, exist_ok=True)
    for sym, start, rets, vv in (("TSLA", 400.0, ra, v), ("TSLL", 15.0, 2.0 * ra, v2)):
        close = start * np.cumprod(1.0 + rets)
        opn = np.concatenate([[start], close[:-1]])
        lev = 2.0 if sym == "TSLL" else 1.0
        high = np.maximum(np.maximum(opn, close), close * (1.0 + lev * hi))
        low = np.minimum(np.minimum(opn, close), close * (1.0 - lev * lo))
        with open(os.path.join(out_dir, f"{sym}.csv"), "w") as f:
            f.write("ts,open,high,low,close,volume\n")
            for k in range(n):
                f.write(f"{stamps[k]},{opn[k]:.2f},{high[k]:.2f},{low[k]:.2f},{close[k]:.2f},{int(vv[k])}\n")
    print(f"wrote {n} bars per symbol ({sessions} sessions, {days[0]}..{days[-1]}) to {out_dir}")


# ---- timing ------------------------------------------------------------------------------------------
def bench(args, m: Market) -> dict:
    spec = dict(GRID)
    if args.grid:
        spec = {}
        for item in args.grid.split(","):
            name, rng_ = item.split("=")
            lo, hi, st = (float(x) for x in rng_.split(":"))
            spec[name] = (lo, hi, st)
    p_all = full_grid(spec)
    C = len(next(iter(p_all.values())))
    for k, v in DEFAULT_SET.items():  # parameters not swept keep the default rule set's value
        p_all.setdefault(k, np.full(C, v))
    ks = sorted(set(np.round(p_all["bbands_k"], 12)))
    t0 = time.perf_counter()
    sw = Sweep(m, ks, ppy_of(args.timeframe))
    t_ind = time.perf_counter() - t0
    # warm-up on a small chunk: numba compiles the callbacks and vectorbt's simulator here
    t0 = time.perf_counter()
    sw.run({k: v[:2] for k, v in p_all.items()})
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    best, sharpes = None, []
    for a in range(0, C, args.chunk):
        p = {k: v[a : a + args.chunk] for k, v in p_all.items()}
        res = sw.run(p)
        sharpes.append(res["sharpe"])
    t_run = time.perf_counter() - t0
    sharpes = np.concatenate(sharpes)
    b = int(np.nanargmax(sharpes))
    best = {k: float(v[b]) for k, v in p_all.items()}
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {
        "side": "vectorbt",
        "timeframe": args.timeframe,
        "bars": int(m.n - m.start),
        "trials": C,
        "chunk": args.chunk,
        "indicators_s": round(t_ind, 3),
        "compile_s": round(t_compile, 3),
        "sweep_s": round(t_run, 3),
        "trials_per_s": round(C / t_run, 1),
        "best": best,
        "best_sharpe": float(sharpes[b]),
        "peak_rss_mb": round(rss_kb / 1024, 1),
    }
    print(json.dumps(out))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=os.environ.get("PULSE_DB", "/tmp/vbt.db"))
    ap.add_argument("--pulse", default="/tmp/pulse-vbt", help="pulse binary used as the reference")
    ap.add_argument("--timeframe", default="1d")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--sets", help="JSON list of parameter sets for --check")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--grid", help="name=lo:hi:step,... (default: the 10,000-point grid)")
    ap.add_argument("--chunk", type=int, default=2500, help="combinations per vectorbt call")
    ap.add_argument("--gen-1m", metavar="DIR")
    args = ap.parse_args()
    if args.gen_1m:
        gen_1m(args.gen_1m)
        return 0
    m = Market(args.db, args.timeframe)
    rc = 0
    if args.check:
        sets = json.loads(args.sets) if args.sets else [
            DEFAULT_SET,
            {"rsi_high": 65.0, "rsi_low": 25.0, "bbands_k": 1.6, "rsi_fast_low": 10.0},
            {"rsi_high": 84.0, "rsi_low": 34.0, "bbands_k": 2.4, "rsi_fast_low": 25.0},
            {"rsi_high": 60.0, "rsi_low": 15.0, "bbands_k": 1.8, "rsi_fast_low": 15.0},
            {"rsi_high": 77.0, "rsi_low": 33.0, "bbands_k": 2.2, "rsi_fast_low": 25.0},
            {"rsi_high": 72.0, "rsi_low": 20.0, "bbands_k": 2.4, "rsi_fast_low": 10.0},
        ]
        if not check(args, m, sets):
            rc = 1
    if args.bench:
        bench(args, m)
    return rc


if __name__ == "__main__":
    sys.exit(main())
