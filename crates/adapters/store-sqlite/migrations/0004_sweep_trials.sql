-- Finished trials of parameter studies (`pulse sweep --study NAME`), so that an interrupted or
-- extended sweep resumes without redoing them.
CREATE TABLE sweep_trials (
    study        TEXT    NOT NULL,
    number       INTEGER NOT NULL,
    params_json  TEXT    NOT NULL,
    score        REAL,
    details_json TEXT    NOT NULL,
    PRIMARY KEY (study, number)
) STRICT, WITHOUT ROWID;
