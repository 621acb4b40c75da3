//! The `pulse` binary as the CLI tests run it: isolated from the user's environment (no
//! `PULSE_DB`, `PULSE_CONFIG` or webhook variable, config and data directories in the test's own
//! temporary directory), and its JSON output.
#![allow(dead_code)]

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// A `pulse` command with the user's environment removed and `XDG_CONFIG_HOME` set to `home`,
/// for tests that add their own arguments and variables.
pub fn isolated(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pulse"));
    c.env_remove("PULSE_DB")
        .env_remove("PULSE_CONFIG")
        .env_remove("PULSE_WEBHOOK_URL")
        .env("XDG_CONFIG_HOME", home);
    c
}

/// Runs `pulse args…` on the default store location under `home` (`XDG_DATA_HOME`), which
/// seeds itself with the bundled data on first use, with `home` as working directory.
pub fn pulse_home(home: &Path, args: &[&str]) -> Output {
    isolated(home)
        .args(args)
        .current_dir(home)
        .env("XDG_DATA_HOME", home)
        .output()
        .unwrap()
}

/// Runs `pulse --db DB args…` (config directory: the database's folder).
pub fn pulse_db(db: &Path, args: &[&str]) -> Output {
    isolated(db.parent().unwrap_or(db))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

/// The JSON on stdout of a successful run; fails with stderr and stdout otherwise.
pub fn ok_json(out: Output) -> Value {
    assert!(
        out.status.success(),
        "pulse failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// Imports `../shared/data/daily-adjclose/<T>.csv` for every ticker into the store `db`
/// (`pulse -q --db DB data import …`); fails with stderr otherwise.
pub fn import_shared_adjclose(db: &Path, tickers: &[&str]) {
    let files: Vec<String> = tickers
        .iter()
        .map(|t| {
            pulse_testkit::shared_file(&format!("daily-adjclose/{t}.csv"))
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec!["-q", "data", "import"];
    args.extend(files.iter().map(String::as_str));
    let out = pulse_db(db, &args);
    assert!(
        out.status.success(),
        "import of {tickers:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
