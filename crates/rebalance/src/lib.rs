//! pulse-rebalance (being built).
