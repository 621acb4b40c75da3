//! pulse-report (being built).
