-- Portfolio Pulse store, schema version 1. Natural keys everywhere; all timestamps are unix
-- seconds UTC (INTEGER); prices are IEEE doubles (REAL round-trips f64 bit for bit); decimal
-- amounts (dividends, split ratios) are exact rust_decimal strings.

CREATE TABLE instruments (
    symbol      TEXT NOT NULL PRIMARY KEY,
    exchange    TEXT NOT NULL,               -- nyse | nasdaq | krx | crypto | none
    currency    TEXT NOT NULL,               -- USD | KRW | USDT | NONE
    asset_class TEXT NOT NULL,               -- equity | etf | leveraged_etf | index | rate | sentiment | fx | crypto
    leverage    REAL NOT NULL,               -- daily leverage factor (1.0, 2.0, -1.0)
    underlying  TEXT                         -- symbol tracked by a leveraged / inverse product
) STRICT;

CREATE TABLE bars (
    symbol    TEXT    NOT NULL REFERENCES instruments (symbol),
    timeframe TEXT    NOT NULL CHECK (timeframe IN ('1m', '15m', '1h', '1d')),
    ts        INTEGER NOT NULL,              -- bar start, unix seconds UTC (daily: the date at 00:00Z)
    open      REAL    NOT NULL,
    high      REAL    NOT NULL,
    low       REAL    NOT NULL,
    close     REAL    NOT NULL,
    adj_close REAL,                          -- NULL = not available
    volume    REAL,                          -- NULL = not available / not applicable
    PRIMARY KEY (symbol, timeframe, ts)
) STRICT, WITHOUT ROWID;

CREATE TABLE corporate_actions (
    symbol  TEXT NOT NULL REFERENCES instruments (symbol),
    ex_date TEXT NOT NULL,                   -- ISO 8601 date, YYYY-MM-DD
    kind    TEXT NOT NULL CHECK (kind IN ('dividend', 'split')),
    value   TEXT NOT NULL,                   -- exact decimal: cash per share, or split ratio
    PRIMARY KEY (symbol, ex_date, kind)
) STRICT, WITHOUT ROWID;

CREATE TABLE quality_findings (
    id        INTEGER PRIMARY KEY,
    symbol    TEXT    NOT NULL,
    timeframe TEXT    NOT NULL,
    ts        INTEGER NOT NULL,              -- unix seconds UTC
    kind      TEXT    NOT NULL,              -- pulse_core::quality::FindingKind::as_str
    detail    TEXT    NOT NULL
) STRICT;

CREATE INDEX quality_findings_by_series ON quality_findings (symbol, timeframe, ts);

CREATE TABLE import_log (
    id                INTEGER PRIMARY KEY,
    imported_at       INTEGER NOT NULL,      -- unix seconds UTC
    source            TEXT    NOT NULL,      -- file path or `yahoo:TSLA`
    symbol            TEXT    NOT NULL,
    timeframe         TEXT    NOT NULL,
    bars_inserted     INTEGER NOT NULL,
    bars_updated      INTEGER NOT NULL,
    bars_unchanged    INTEGER NOT NULL,
    actions_inserted  INTEGER NOT NULL,
    actions_updated   INTEGER NOT NULL,
    actions_unchanged INTEGER NOT NULL
) STRICT;
