//! pulse-optimize (being built).
