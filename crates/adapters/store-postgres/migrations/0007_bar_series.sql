-- The extent of every stored series: its number of bars and its first and last bar. Every import
-- updates its series' row in the same transaction as the bars (bars are only ever added or
-- replaced, never removed, so the count grows by the bars inserted and the bounds widen to the
-- batch's), so that listing the series (`pulse data list`, the dashboard's /data page) reads one
-- row per series instead of counting every bar. Filled here from the bars already stored.
CREATE TABLE bar_series (
    symbol    TEXT COLLATE "C" NOT NULL REFERENCES instruments (symbol),
    timeframe TEXT COLLATE "C" NOT NULL CHECK (timeframe IN ('1m', '15m', '1h', '1d')),
    bars      BIGINT NOT NULL CHECK (bars > 0),
    first_ts  BIGINT NOT NULL,               -- unix seconds UTC, as bars.ts
    last_ts   BIGINT NOT NULL,
    PRIMARY KEY (symbol, timeframe)
);

INSERT INTO bar_series (symbol, timeframe, bars, first_ts, last_ts)
SELECT symbol, timeframe, count(*), min(ts), max(ts) FROM bars GROUP BY symbol, timeframe;
