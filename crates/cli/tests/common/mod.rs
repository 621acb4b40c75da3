//! The `pulse` binary as the CLI tests run it: isolated from the user's environment (no
//! `PULSE_DB`, `PULSE_CONFIG` or webhook variable, config and data directories in the test's own
//! temporary directory), and its JSON output.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

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

/// A webhook receiver on loopback answering 200 to every POST: its URL and the bodies received.
pub fn webhook_sink() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let bodies = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read headers and the body (content-length).
            loop {
                let n = stream.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(i) = text.find("\r\n\r\n") {
                    let len: usize = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if buf.len() >= i + 4 + len {
                        seen.lock().unwrap().push(text[i + 4..].to_string());
                        break;
                    }
                }
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (format!("http://{addr}/hook"), bodies)
}
