-- Finished trials of parameter studies (`pulse sweep --study NAME`), so that an interrupted or
-- extended sweep resumes without redoing them.
CREATE TABLE sweep_trials (
    study        TEXT COLLATE "C" NOT NULL,
    number       BIGINT NOT NULL,
    params_json  TEXT   NOT NULL,
    score        DOUBLE PRECISION,           -- NULL = failed trial (never NaN)
    details_json TEXT   NOT NULL,
    PRIMARY KEY (study, number)
);
