-- Named state documents (rebalancer state, simulated clock, paper account) and the audit log of
-- every decision, written together in one transaction per step.
CREATE TABLE documents (
    key        TEXT PRIMARY KEY,
    value_json TEXT NOT NULL
) STRICT;

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ts         INTEGER NOT NULL,
    subsystem  TEXT    NOT NULL,
    entry_json TEXT    NOT NULL
) STRICT;
