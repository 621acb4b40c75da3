//! pulse-engine (being built).
