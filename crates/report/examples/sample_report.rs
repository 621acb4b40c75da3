//! Writes `/tmp/report.html` (or the path given as first argument) from the real TSLA/TSLL data.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/report.html".into());
    let report = common::real_report();
    pulse_report::write_html(std::path::Path::new(&path), &report)?;
    let size = std::fs::metadata(&path)?.len();
    println!("wrote {path} ({size} bytes)");
    if let Some(json) = std::env::args().nth(2) {
        std::fs::write(&json, pulse_report::to_json(&report)?)?;
        println!("wrote {json}");
    }
    Ok(())
}
