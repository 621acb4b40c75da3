#!/usr/bin/env python3
"""Reference fixtures for crates/indicators (pulse-indicators).

Computes every indicator TA-Lib has (through the PyPI package `TA-Lib`, whose wheel bundles the
TA-Lib C core) over the real TSLA and TSLL daily OHLCV and the first 5000 1-minute BTCUSDT bars in
../shared/data, plus the indicators TA-Lib lacks with numpy/pandas, and writes one CSV per
series to crates/indicators/tests/fixtures/.

Run from the repository root:
    python3 -m venv .venv && .venv/bin/pip install -r scripts/reference/requirements.txt
    .venv/bin/python scripts/reference/make_fixtures.py

Column names are the `pulse ta` column names (`<output>_<params>`); empty cell = no value
(warm-up). Values are printed with 17 significant digits (exact float64 round trip).
"""
import os
import sys
import platform

import numpy as np
import pandas as pd
import talib
from numpy.lib.stride_tricks import sliding_window_view

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.environ.get("PULSE_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
OUT = os.path.join(ROOT, "crates", "indicators", "tests", "fixtures")
BTC_ROWS = 5000


def rolling(x, n, f):
    """f over each full window of n values ending at i (NaN before); exact per-window numpy."""
    out = np.full(len(x), np.nan)
    if len(x) >= n:
        out[n - 1:] = f(sliding_window_view(x, n))
    return out


def pandas_defined(df, ppy, vwap_window):
    """Indicators TA-Lib lacks. Definitions are documented in crates/indicators/src/lib.rs."""
    c = df["close"].to_numpy()
    h, l, v = df["high"].to_numpy(), df["low"].to_numpy(), df["volume"].to_numpy()
    cols = {}
    logret = np.log(df["close"] / df["close"].shift(1)).to_numpy()
    cols["logret"] = logret
    # vol: sample sigma (ddof=1) of the last 20 log returns * sqrt(ppy)
    vol = np.full(len(c), np.nan)
    vol[1:] = rolling(logret[1:], 20, lambda w: w.std(axis=1, ddof=1)) * np.sqrt(ppy)
    cols[f"vol_20_{ppy}"] = vol
    # zscore: (x - mean) / population sigma over the last 20 closes (0 when sigma is 0)
    mean = rolling(c, 20, lambda w: w.mean(axis=1))
    sd = rolling(c, 20, lambda w: w.std(axis=1, ddof=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        cols["zscore_20"] = np.where(sd > 0, (c - mean) / sd, np.where(np.isnan(sd), np.nan, 0.0))
    tp = (h + l + c) / 3.0
    if vwap_window:
        pv = pd.Series(tp * v)
        num = rolling(pv.to_numpy(), vwap_window, lambda w: w.sum(axis=1))
        den = rolling(v, vwap_window, lambda w: w.sum(axis=1))
        cols[f"vwap_{vwap_window}"] = num / den
    return cols


def talib_columns(df):
    o, h, l, c, v = (df[k].to_numpy(dtype=float) for k in ("open", "high", "low", "close", "volume"))
    cols = {}
    for p in (5, 10, 20):
        cols[f"sma_{p}"] = talib.SMA(c, p)
    for p in (10, 12, 26):
        cols[f"ema_{p}"] = talib.EMA(c, p)
    cols["wma_10"] = talib.WMA(c, 10)
    cols["rsi_14"] = talib.RSI(c, 14)
    cols["rsi_5"] = talib.RSI(c, 5)
    m, s, hist = talib.MACD(c, 12, 26, 9)
    cols["macd_12_26_9"], cols["macd_signal_12_26_9"], cols["macd_hist_12_26_9"] = m, s, hist
    up, mid, lo = talib.BBANDS(c, 20, 2.0, 2.0, 0)
    cols["bb_upper_20_2"], cols["bb_middle_20_2"], cols["bb_lower_20_2"] = up, mid, lo
    w = up - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        cols["bb_pctb_20_2"] = np.where(w != 0.0, (c - lo) / w, np.where(np.isnan(w), np.nan, 0.5))
        cols["bb_width_20_2"] = np.where(mid != 0.0, w / mid, np.where(np.isnan(mid), np.nan, 0.0))
    cols["trange"] = talib.TRANGE(h, l, c)
    cols["atr_14"] = talib.ATR(h, l, c, 14)
    cols["atrp_14_100"] = talib.PERCENTRANK(talib.ATR(h, l, c, 14), 100)
    cols["adx_14"] = talib.ADX(h, l, c, 14)
    k, d = talib.STOCH(h, l, c, 5, 3, 0, 3, 0)
    cols["stoch_k_5_3_3"], cols["stoch_d_5_3_3"] = k, d
    cols["obv"] = talib.OBV(c, v)
    cols["roc_10"] = talib.ROC(c, 10)
    cols["mom_10"] = talib.MOM(c, 10)
    cols["ret"] = talib.ROCP(c, 1)
    cols["stddev_20_1"] = talib.STDDEV(c, 20, 1.0)
    return cols


def header(name, source, extra):
    return [
        f"# pulse-indicators reference fixture: {name}",
        f"# input: {source}",
        f"# made by: .venv/bin/python scripts/reference/make_fixtures.py",
        f"# TA-Lib (PyPI) {talib.__version__}, TA-Lib C core {talib.__ta_version__.decode()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}, Python {platform.python_version()}",
        f"# {extra}",
    ]


def fmt(x):
    return "" if np.isnan(x) else "%.17g" % x


def write(path, key_name, keys, cols, head):
    names = list(cols)
    with open(path, "w") as f:
        for line in head:
            f.write(line + "\n")
        f.write(",".join([key_name] + names) + "\n")
        for i, kv in enumerate(keys):
            f.write(",".join([kv] + [fmt(cols[n][i]) for n in names]) + "\n")
    print(f"wrote {path}: {len(keys)} rows x {len(names)} columns")


def daily(sym):
    src = os.path.join(DATA, "daily-ohlcv", f"{sym}.csv")
    df = pd.read_csv(src, dtype={"date": str})
    cols = talib_columns(df)
    cols.update(pandas_defined(df, 252, 20))
    head = header(f"{sym} daily", f"../shared/data/daily-ohlcv/{sym}.csv (all rows)",
                  "TA-Lib: sma ema wma rsi macd bbands trange atr atrp(PERCENTRANK of ATR) adx stoch obv roc mom "
                  "ret(ROCP 1) stddev; bb_pctb/bb_width from the TA-Lib bands; numpy: logret vol_20_252 "
                  "zscore_20 vwap_20 (rolling)")
    write(os.path.join(OUT, f"{sym}_daily.csv"), "date", df["date"].tolist(), cols, head)
    return df


def btc():
    src = os.path.join(DATA, "intraday-1m", "BTCUSDT.csv")
    df = pd.read_csv(src, dtype={"ts": str}, nrows=BTC_ROWS)
    cols = talib_columns(df)
    cols.update(pandas_defined(df, 525600, 0))
    # Session VWAP: TA-Lib VWAP applied to each UTC day's slice of bars.
    day = df["ts"].str.slice(0, 10)
    vw = np.full(len(df), np.nan)
    for _, idx in df.groupby(day).indices.items():
        sl = df.iloc[idx]
        vw[idx] = talib.VWAP(*(sl[k].to_numpy(dtype=float) for k in ("high", "low", "close", "volume")))
    cols["vwap"] = vw
    head = header("BTCUSDT 1-minute", f"../shared/data/intraday-1m/BTCUSDT.csv (first {BTC_ROWS} rows)",
                  "as daily, plus vwap = TA-Lib VWAP per UTC-day session; vol annualized with 525600 bars/yr")
    write(os.path.join(OUT, "BTCUSDT_1m.csv"), "ts", df["ts"].tolist(), cols, head)


def pair(tsla, tsll):
    a = tsla.set_index("date")["close"]
    b = tsll.set_index("date")["close"]
    dates = [d for d in b.index if d in a.index]
    x = a.loc[dates].to_numpy(dtype=float)
    y = b.loc[dates].to_numpy(dtype=float)
    cols = {
        "corr_60": talib.CORREL(talib.ROCP(y, 1), talib.ROCP(x, 1), 60),
        "beta_60": talib.BETA(x, y, 60),
    }
    head = header("TSLL vs TSLA (benchmark) daily, on TSLL's dates", "../shared/data/daily-ohlcv/TSLA.csv + TSLL.csv",
                  "corr_60 = TA-Lib CORREL(ROCP(tsll,1), ROCP(tsla,1), 60); beta_60 = TA-Lib BETA(tsla, tsll, 60)")
    write(os.path.join(OUT, "TSLL_vs_TSLA_daily.csv"), "date", dates, cols, head)


def main():
    os.makedirs(OUT, exist_ok=True)
    tsla = daily("TSLA")
    tsll = daily("TSLL")
    btc()
    pair(tsla, tsll)
    return 0


if __name__ == "__main__":
    sys.exit(main())
