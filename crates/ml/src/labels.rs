//! Triple-barrier labels (in progress).
