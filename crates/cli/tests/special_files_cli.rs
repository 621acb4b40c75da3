//! Every small text input (strategy and risk TOML, trades, signals, sectors, universe, config)
//! given as a device or a FIFO is refused at once, naming the path and what it is: never read
//! forever (`/dev/zero`) or blocked on (a FIFO with no writer).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
use common::isolated;
use std::time::{Duration, Instant};

/// Runs `pulse args…` under `home`, killing it after 20 s (a hang is a failure, not a stuck test).
fn run(home: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = isolated(home)
        .args(args)
        .current_dir(home)
        .env("XDG_DATA_HOME", home)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("pulse {args:?} hung on a special file");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn devices_and_fifos_are_refused_for_every_small_input() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let fifo = h.join("pipe.toml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let fifo = fifo.to_str().unwrap().to_string();
    for special in ["/dev/zero", fifo.as_str()] {
        let what = if special == "/dev/zero" {
            "character device"
        } else {
            "FIFO"
        };
        let cases: Vec<Vec<&str>> = vec![
            vec!["backtest", "--no-report", "--strategy-config", special],
            vec!["backtest", "--no-report", "--risk-config", special],
            vec!["backtest", "--no-report", "--trades", special],
            vec!["risk", "set", special],
            vec!["risk", "show", "--risk-config", special],
            vec!["data", "import-sectors", special],
            vec![
                "rebalance",
                "simulate",
                "--signals",
                special,
                "--from",
                "2024-01-02",
                "--to",
                "2024-03-01",
            ],
        ];
        for args in cases {
            let (code, err) = run(h, &args);
            assert_ne!(code, Some(0), "{args:?}");
            assert!(
                err.contains(special) && err.contains(what),
                "{args:?}: {err}"
            );
        }
    }
}
