-- Sector classification of instruments (`pulse data import-sectors`): the GICS sector and
-- sub-industry of a stock, or an asset-class label (`ETF: US Treasuries`, `Crypto`) for anything
-- else, with the market capitalization where known. Keyed by symbol. No foreign key to
-- `instruments`: a classification may be imported before (or without) the symbol's bars.
CREATE TABLE sectors (
    symbol     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    sector     TEXT NOT NULL CHECK (sector <> ''),
    industry   TEXT,                                     -- NULL = not known
    market_cap DOUBLE PRECISION CHECK (market_cap > 0),  -- US dollars; NULL = not known / not applicable
    source     TEXT NOT NULL                             -- file and vintage the row comes from
);
