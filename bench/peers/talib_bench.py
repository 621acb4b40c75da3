#!/usr/bin/env python3
"""TA-Lib timings on the exact series the Rust bench wrote (/tmp/pulse_bench_10m.f64: close, high,
low, volume as 4 x N little-endian float64). Times only the TA-Lib call (best of 5).
Prints `name<TAB>seconds` lines whose names match the Rust bench's table."""
import sys
import time

import numpy as np
import talib

path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/pulse_bench_10m.f64"
raw = np.fromfile(path, dtype="<f8")
c, h, l, v = (np.ascontiguousarray(a) for a in raw.reshape(4, -1))
ones = np.zeros_like(c)


def best(f, reps=5):
    b = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        f()
        b = min(b, time.perf_counter() - t)
    return b


cases = [
    ("SMA(5)", lambda: talib.SMA(c, 5)),
    ("SMA(20)", lambda: talib.SMA(c, 20)),
    ("EMA(10)", lambda: talib.EMA(c, 10)),
    ("WMA(10)", lambda: talib.WMA(c, 10)),
    ("RSI(14)", lambda: talib.RSI(c, 14)),
    ("MACD(12,26,9)", lambda: talib.MACD(c, 12, 26, 9)),
    ("BBANDS(20,2) bands only", lambda: talib.BBANDS(c, 20, 2.0, 2.0, 0)),
    # TA-Lib has no %B / bandwidth: the same 3-band call is the reference for the 5-output row.
    ("BBANDS(20,2) +%B +bandwidth", lambda: talib.BBANDS(c, 20, 2.0, 2.0, 0)),
    ("TRANGE", lambda: talib.TRANGE(h, l, c)),
    ("ATR(14)", lambda: talib.ATR(h, l, c, 14)),
    ("ATR pct rank(14,100)", lambda: talib.PERCENTRANK(talib.ATR(h, l, c, 14), 100)),
    ("ADX(14)", lambda: talib.ADX(h, l, c, 14)),
    ("STOCH(5,3,3)", lambda: talib.STOCH(h, l, c, 5, 3, 0, 3, 0)),
    ("OBV", lambda: talib.OBV(c, v)),
    ("ROC(10)", lambda: talib.ROC(c, 10)),
    ("MOM(10)", lambda: talib.MOM(c, 10)),
    ("returns (ROCP 1)", lambda: talib.ROCP(c, 1)),
    ("STDDEV(20)", lambda: talib.STDDEV(c, 20, 1.0)),
    ("CORREL(60)", lambda: talib.CORREL(c, h, 60)),
    ("BETA(60)", lambda: talib.BETA(c, h, 60)),
    # TA-Lib's VWAP is cumulative over the whole input (no sessions): the reference both for
    # Pulse's session VWAP (which also reads a session id per bar) and its cumulative VWAP.
    ("VWAP session", lambda: talib.VWAP(h, l, c, v)),
    ("VWAP cumulative (one session)", lambda: talib.VWAP(h, l, c, v)),
]
print(f"# TA-Lib {talib.__version__} (C {talib.__ta_version__.decode()}), numpy {np.__version__}, n={len(c)}")
for name, f in cases:
    print(f"{name}\t{best(f):.6f}")
