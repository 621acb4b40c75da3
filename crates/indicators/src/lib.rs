//! pulse-indicators (being built).
