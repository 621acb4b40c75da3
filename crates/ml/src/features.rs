//! Per-symbol features (in progress).
