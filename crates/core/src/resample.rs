//! Session-aware resampling 1m → 15m, 1h, 1d.
//! PLACEHOLDER — being implemented (see the calendar helper's task).
