-- Recorded runs (backtests, simulations, sweeps) and the alerts they raised.
CREATE TABLE runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,  -- unix seconds UTC
    strategy     TEXT    NOT NULL,
    sample       TEXT    NOT NULL,
    data_from    INTEGER NOT NULL,
    data_to      INTEGER NOT NULL,
    config       TEXT    NOT NULL,
    metrics_json TEXT    NOT NULL
) STRICT;

CREATE TABLE run_alerts (
    run_id           INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    ts               INTEGER NOT NULL,
    strategy         TEXT    NOT NULL,
    message          TEXT    NOT NULL,
    old_weights_json TEXT    NOT NULL,
    new_weights_json TEXT    NOT NULL,
    PRIMARY KEY (run_id, seq)
) STRICT;
