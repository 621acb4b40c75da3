#!/usr/bin/env python3
"""Generate the compiled-in exchange calendar tables of pulse-core.

Writes crates/core/data/calendar_<exchange>.csv from the PyPI package `exchange_calendars`
(version pinned in requirements.txt). Each table lists only what differs from a plain weekday:

    date,kind,open,close
    1990-01-01,hours,09:30,16:00      regular session hours (local time) in force from this date on
    2027-12-31,end,,                  last date the table covers (the first `hours` row is the first)
    2018-12-05,closed,,               a weekday without a session
    2024-07-03,early_close,09:30,13:00  a session that closes before the regular close
    2025-01-02,late_open,10:00,15:30    a session that opens after the regular open (KRX new year, CSAT)
    ...,special,HH:MM,HH:MM           any other deviation (e.g. opens late AND closes late)

Saturdays and Sundays are never sessions (the script fails if exchange_calendars says otherwise).
Hand-kept corrections live in crates/core/data/calendar_overrides.csv; they are applied by the Rust
code on top of these tables. This script only reports whether each override agrees with
exchange_calendars or adds a fact it lacks.

Run from the repository root:
    python3 -m venv .venv && .venv/bin/pip install -r scripts/calendars/requirements.txt
    .venv/bin/python scripts/calendars/generate.py
"""

from __future__ import annotations

import csv
import datetime as dt
import pathlib
import sys

import exchange_calendars as xc
import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "crates" / "core" / "data"

# name in pulse-core -> (exchange_calendars code, first covered date, last covered date)
# KRX starts in 2001: before 2000-05-22 the KRX session had a lunch break, which pulse-core does not model.
EXCHANGES = {
    "nyse": ("XNYS", dt.date(1990, 1, 1), dt.date(2027, 12, 31)),
    "krx": ("XKRX", dt.date(2001, 1, 1), dt.date(2027, 12, 31)),
}


def regime_at(times, day: dt.date) -> dt.time:
    """The regular open or close time in force on `day` from an exchange_calendars times tuple."""
    current = None
    for start, t in times:
        if start is None or pd.Timestamp(start).date() <= day:
            current = t
    if current is None:
        raise SystemExit(f"no regular time in force on {day}")
    return current


def hhmm(t: dt.time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


def generate(name: str, code: str, first: dt.date, last: dt.date) -> list[list[str]]:
    # Ask for a margin on both sides so that the edges of the range are real answers.
    cal = xc.get_calendar(code, start=str(first - dt.timedelta(days=40)), end=str(last + dt.timedelta(days=40)))
    sched = cal.schedule
    tz = cal.tz
    if sched["break_start"].loc[str(first):str(last)].notna().any():
        raise SystemExit(f"{code}: sessions with a lunch break inside {first}..{last}; not supported")
    rows: list[list[str]] = []
    prev_regime = None
    day = first
    while day <= last:
        regime = (regime_at(cal.open_times, day), regime_at(cal.close_times, day))
        if regime != prev_regime:
            rows.append([day.isoformat(), "hours", hhmm(regime[0]), hhmm(regime[1])])
            prev_regime = regime
        ts = pd.Timestamp(day)
        is_session = ts in sched.index
        if day.weekday() >= 5:
            if is_session:
                raise SystemExit(f"{code}: weekend session on {day}; not supported")
        elif not is_session:
            rows.append([day.isoformat(), "closed", "", ""])
        else:
            o = sched.at[ts, "open"].tz_convert(tz).time()
            c = sched.at[ts, "close"].tz_convert(tz).time()
            if (o, c) != regime:
                if o == regime[0] and c < regime[1]:
                    kind = "early_close"
                elif o > regime[0] and c == regime[1]:
                    kind = "late_open"
                else:
                    kind = "special"
                rows.append([day.isoformat(), kind, hhmm(o), hhmm(c)])
        day += dt.timedelta(days=1)
    rows.append([last.isoformat(), "end", "", ""])
    return rows


def report_overrides(tables: dict[str, list[list[str]]]) -> None:
    path = DATA / "calendar_overrides.csv"
    if not path.exists():
        return
    with path.open(newline="") as f:
        lines = [line for line in f if not line.startswith("#")]
    for rec in csv.DictReader(lines):
        table = {r[0]: r for r in tables.get(rec["exchange"], []) if r[1] not in ("hours", "end")}
        gen = table.get(rec["date"])
        ours = [rec["date"], rec["kind"], rec["open"], rec["close"]]
        if rec["kind"] == "regular":
            verdict = "agrees" if gen is None else f"CORRECTS generated {gen}"
        elif gen == ours:
            verdict = "agrees"
        else:
            verdict = f"CORRECTS generated {gen}"
        print(f"override {rec['exchange']} {rec['date']} {rec['kind']}: {verdict}")


def main() -> int:
    version = xc.__version__ if hasattr(xc, "__version__") else "unknown"
    tables = {}
    for name, (code, first, last) in EXCHANGES.items():
        rows = generate(name, code, first, last)
        tables[name] = rows
        out = DATA / f"calendar_{name}.csv"
        with out.open("w", newline="") as f:
            f.write(
                f"# {name}: exchange_calendars {code} (version {version}), time zone {getattr(xc.get_calendar(code), 'tz', '')}\n"
                "# generated by scripts/calendars/generate.py; do not edit by hand: put corrections in calendar_overrides.csv\n"
            )
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["date", "kind", "open", "close"])
            w.writerows(rows)
        kinds = {}
        for r in rows:
            kinds[r[1]] = kinds.get(r[1], 0) + 1
        print(f"wrote {out.relative_to(ROOT)}: {len(rows)} rows {kinds}")
    report_overrides(tables)
    return 0


if __name__ == "__main__":
    sys.exit(main())
