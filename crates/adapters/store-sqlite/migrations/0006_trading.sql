-- The trading journal of live and paper runners (issue 13): every order is recorded (status
-- `intent`) before it is sent, with its status history; fills are unique by execution id.
CREATE TABLE trade_orders (
    client_id     TEXT    PRIMARY KEY,
    runner        TEXT    NOT NULL,
    symbol        TEXT    NOT NULL,
    side          TEXT    NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity      TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('market', 'limit')),
    limit_price   TEXT,
    time_in_force TEXT    NOT NULL,
    decided_at    INTEGER NOT NULL,
    broker_id     TEXT,
    status        TEXT    NOT NULL,
    filled        TEXT    NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX trade_orders_runner ON trade_orders (runner, decided_at);

CREATE TABLE trade_order_history (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT    NOT NULL REFERENCES trade_orders (client_id),
    ts        INTEGER NOT NULL,
    status    TEXT    NOT NULL
) STRICT;
CREATE INDEX trade_order_history_order ON trade_order_history (client_id, id);

CREATE TABLE trade_fills (
    exec_id   TEXT    PRIMARY KEY,
    runner    TEXT    NOT NULL,
    client_id TEXT    NOT NULL,
    symbol    TEXT    NOT NULL,
    side      TEXT    NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity  TEXT    NOT NULL,
    price     TEXT    NOT NULL,
    fee       TEXT    NOT NULL,
    ts        INTEGER NOT NULL
) STRICT;
CREATE INDEX trade_fills_runner ON trade_fills (runner, ts);
