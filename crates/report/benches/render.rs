//! Render time of a 10-year daily report with 4 equity series (placeholder, filled below).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
fn main() {}
