#!/usr/bin/env python3
"""Builds data/sectors.csv: the sector of every US symbol Portfolio Pulse ships or tests with.

Symbols are collected from the bundled sample data (data/bundle) and from the shared market data
(../shared/data: daily-adjclose, daily-ohlcv, daily-index, intraday-1m, intraday-1m-many,
krx-daily, bundle). Each one is, in this order:

- a stock the S&P 500 GICS classification classifies
  (fundamentals/sp500_constituents_gics_2026-08-08.csv, columns `GICS Sector` and
  `GICS Sub-Industry`), with its market capitalization in US dollars from the Yahoo snapshot
  (fundamentals/sp500_yfinance_fundamentals_snapshot_2024-12.csv, column `marketCap`, copied
  verbatim; early December 2024, so older than the classification);
- an ETF of the ASSET_CLASS table below (an asset-class label instead of a sector);
- a crypto pair (`…USDT`): sector `Crypto`;
- or a series that is not classified on purpose (NOT_CLASSIFIED: indices, rates, sentiment,
  FX, Korean listings), which the risk layer never holds or, for Korean listings, which the
  S&P 500 file does not cover: such a symbol counts as its own sector and is reported.

A symbol that fits none of these stops the script, so new data forces a decision here. The two
GICS vintages (2024-12-08 and 2026-08-08) are compared for the symbols written and any change is
printed. Standard library only. Run from anywhere:

    python3 scripts/make_sectors.py            # writes data/sectors.csv
    python3 scripts/make_sectors.py --check    # fails if data/sectors.csv is not what it builds

PULSE_SHARED_DATA overrides the shared data directory (default: ../shared/data beside the
repository).
"""
import csv
import io
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("PULSE_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
OUT = os.path.join(ROOT, "data", "sectors.csv")

GICS = "sp500_constituents_gics_2026-08-08.csv"
GICS_OLD = "sp500_constituents_gics_2024-12-08.csv"
CAPS = "sp500_yfinance_fundamentals_snapshot_2024-12.csv"
TABLE_SOURCE = "scripts/make_sectors.py asset-class table"

# Folders of ../shared/data whose file names are symbols (`<SYM>.csv` or `<SYM>.csv.gz`).
SHARED_FOLDERS = [
    "bundle",
    "daily-adjclose",
    "daily-ohlcv",
    "daily-index",
    "intraday-1m",
    "intraday-1m-many",
    "krx-daily",
]

# ETFs: symbol -> (asset-class label used as the sector, what the fund holds).
ASSET_CLASS = {
    # SPDR S&P 500 ETF: the US large-cap market.
    "SPY": ("ETF: US equity broad", "S&P 500 index"),
    # Invesco QQQ: Nasdaq-100, US large caps (technology-heavy).
    "QQQ": ("ETF: US equity broad", "Nasdaq-100 index"),
    # iShares Russell 2000: US small caps.
    "IWM": ("ETF: US equity broad", "Russell 2000 small-cap index"),
    # iShares MSCI EAFE: developed markets outside the US and Canada.
    "EFA": ("ETF: international equity", "MSCI EAFE (developed ex-US and Canada)"),
    # iShares MSCI Emerging Markets.
    "EEM": ("ETF: international equity", "MSCI Emerging Markets"),
    # Vanguard Real Estate: US REITs.
    "VNQ": ("ETF: US real estate", "REITs"),
    # iShares 20+ Year Treasury Bond: long duration.
    "TLT": ("ETF: US Treasuries", "20+ year Treasury bonds"),
    # iShares 7-10 Year Treasury Bond: intermediate duration.
    "IEF": ("ETF: US Treasuries", "7-10 year Treasury bonds"),
    # iShares 1-3 Year Treasury Bond: short duration.
    "SHY": ("ETF: US Treasuries", "1-3 year Treasury bonds"),
    # iShares TIPS Bond: inflation-protected Treasuries.
    "TIP": ("ETF: US Treasuries", "Treasury inflation-protected securities (TIPS)"),
    # SPDR Bloomberg 1-3 Month T-Bill: cash-like, kept apart from the duration funds above.
    "BIL": ("ETF: US Treasury bills", "1-3 month Treasury bills (cash-like)"),
    # iShares iBoxx investment-grade corporate bonds.
    "LQD": ("ETF: US corporate bonds", "investment grade"),
    # iShares iBoxx high-yield corporate bonds.
    "HYG": ("ETF: US corporate bonds", "high yield"),
    # SPDR Gold Shares: physical gold.
    "GLD": ("ETF: gold", "physical gold"),
    # iShares Silver Trust: physical silver.
    "SLV": ("ETF: silver", "physical silver"),
    # Invesco DB Commodity Index Tracking: energy, metals and agriculture futures.
    "DBC": ("ETF: commodities broad", "diversified commodity futures"),
    # ProShares VIX Short-Term Futures: long volatility.
    "VIXY": ("ETF: volatility", "short-term VIX futures"),
    # Direxion Daily TSLA Bull 2X: twice TSLA's daily return.
    "TSLL": ("ETF: leveraged single stock", "2x daily TSLA"),
}

# Crypto pairs quoted in USDT (intraday-1m: Bybit perpetuals; intraday-1m-many: Binance spot).
CRYPTO = ("Crypto", "USDT pair")

# Series that get no row, and why (the risk layer groups each as its own sector).
NOT_CLASSIFIED = {
    "SPLITS": "not a symbol (the bundle's list of TSLA splits)",
    "VIX": "index (CBOE VIX), not tradable",
    "NDX": "index (Nasdaq-100), not tradable",
    "IRX": "rate (13-week T-bill yield), not tradable",
    "TNX": "rate (10-year Treasury yield), not tradable",
    "FEAR_GREED": "sentiment score (CNN Fear & Greed), not tradable",
    "USDKRW": "exchange rate, not tradable",
}
KOREAN = "Korean listing: not covered by the S&P 500 GICS file"


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def symbols_of(folder):
    """The symbols named by the files of a folder (missing folder: none)."""
    if not os.path.isdir(folder):
        return set()
    out = set()
    for name in os.listdir(folder):
        for ext in (".csv.gz", ".csv"):
            if name.endswith(ext):
                out.add(name[: -len(ext)])
                break
    return out


def collect():
    """symbol -> list of folders it was found in."""
    where = {}
    folders = [("data/bundle", os.path.join(ROOT, "data", "bundle"))]
    folders += [(f"shared/{f}", os.path.join(DATA, f)) for f in SHARED_FOLDERS]
    for label, path in folders:
        for s in symbols_of(path):
            where.setdefault(s, []).append(label)
    return where


def build():
    fundamentals = os.path.join(DATA, "fundamentals")
    gics = {r["Symbol"]: r for r in read_csv(os.path.join(fundamentals, GICS))}
    gics_old = {r["Symbol"]: r for r in read_csv(os.path.join(fundamentals, GICS_OLD))}
    caps = {r["Ticker"]: r for r in read_csv(os.path.join(fundamentals, CAPS))}

    rows, skipped, unknown = [], [], []
    for symbol, found in sorted(collect().items()):
        if symbol in gics:
            g = gics[symbol]
            cap_row = caps.get(symbol, {})
            cap = cap_row.get("marketCap", "")
            if cap and cap_row.get("currency") != "USD":
                sys.exit(f"{symbol}: market cap in {cap_row.get('currency')!r}, not USD")
            source = GICS + (f"; market_cap: {CAPS}" if cap else "")
            rows.append((symbol, g["GICS Sector"], g["GICS Sub-Industry"], cap, source))
            old = gics_old.get(symbol)
            pair = (g["GICS Sector"], g["GICS Sub-Industry"])
            if old is None:
                print(f"note: {symbol} is not in {GICS_OLD}")
            elif (old["GICS Sector"], old["GICS Sub-Industry"]) != pair:
                print(f"note: {symbol} was {old['GICS Sector']} / {old['GICS Sub-Industry']} "
                      f"in {GICS_OLD}, now {pair[0]} / {pair[1]}")
        elif symbol in ASSET_CLASS:
            sector, industry = ASSET_CLASS[symbol]
            rows.append((symbol, sector, industry, "", TABLE_SOURCE))
        elif symbol.endswith("USDT") and any("intraday" in f for f in found):
            rows.append((symbol, CRYPTO[0], CRYPTO[1], "", TABLE_SOURCE))
        elif symbol in NOT_CLASSIFIED:
            skipped.append((symbol, NOT_CLASSIFIED[symbol]))
        elif symbol.endswith(".KS") or found == ["shared/krx-daily"]:
            skipped.append((symbol, KOREAN))
        else:
            unknown.append((symbol, found))
    if unknown:
        for symbol, found in unknown:
            print(f"error: {symbol} (in {', '.join(found)}) is neither in {GICS}, "
                  "nor in ASSET_CLASS, nor a crypto pair, nor in NOT_CLASSIFIED", file=sys.stderr)
        sys.exit(1)
    for symbol in ASSET_CLASS:
        if symbol in gics:
            sys.exit(f"{symbol} is both in ASSET_CLASS and in {GICS}")
    return rows, skipped


def render(rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["symbol", "sector", "industry", "market_cap", "source"])
    w.writerows(rows)
    return buf.getvalue()


def main():
    rows, skipped = build()
    text = render(rows)
    korean = sum(1 for _, why in skipped if why == KOREAN)
    print(f"{len(rows)} rows: {sum(1 for r in rows if r[4] != TABLE_SOURCE)} stocks, "
          f"{sum(1 for r in rows if r[1].startswith('ETF: '))} ETFs, "
          f"{sum(1 for r in rows if r[1] == 'Crypto')} crypto pairs; not classified: "
          + ", ".join(s for s, why in skipped if why != KOREAN)
          + f" and {korean} Korean listings")
    if "--check" in sys.argv[1:]:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                sys.exit(f"{OUT} is out of date: run python3 scripts/make_sectors.py")
        print(f"{OUT} is up to date")
        return
    with open(OUT, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
