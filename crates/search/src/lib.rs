//! pulse-search (being built).
