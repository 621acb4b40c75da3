//! pulse-backtest (being built).
