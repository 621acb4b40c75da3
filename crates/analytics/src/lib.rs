//! pulse-analytics (being built).
