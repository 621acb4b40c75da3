//! `pulse trade run --broker alpaca` against a loopback fake of Alpaca's Trading API v2 (the
//! broker-alpaca tests' fake, replaying the documented wire formats; market orders fill at
//! once at its fixed prices): the runner starts from the broker's account, every order reaches
//! the broker once even when `pulse trade run` is killed with SIGKILL at random instants, the
//! account it books equals the broker's, and the keys appear in no output.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
#[path = "../../adapters/broker-alpaca/tests/common/mod.rs"]
mod fake;

use common::isolated;
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

fn pulse(home: &Path, base: &str, args: &[&str]) -> Output {
    isolated(home)
        .args(args)
        .current_dir(home)
        .env("XDG_DATA_HOME", home)
        .env("APCA_API_KEY_ID", fake::KEY_ID)
        .env("APCA_API_SECRET_KEY", fake::SECRET)
        .env("APCA_API_BASE_URL", base)
        .output()
        .unwrap()
}

fn ok(home: &Path, base: &str, args: &[&str]) -> String {
    let out = pulse(home, base, args);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    for text in [&stdout, &stderr] {
        assert!(!text.contains(fake::SECRET), "the secret leaked: {text}");
        assert!(
            !text.contains("s3cr%2FEt"),
            "the URL-encoded secret leaked: {text}"
        );
    }
    assert!(
        out.status.success(),
        "pulse {args:?} failed: {stderr}{stdout}"
    );
    stdout
}

#[test]
fn an_alpaca_runner_sends_each_order_once_through_kills_and_books_the_brokers_account() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Fills at 1 per share: every buy the runner sizes at the real closes is affordable.
    let (server, base) = rt.block_on(fake::start(fake::Book {
        auto_fill: true,
        prices: [("TSLA", "1"), ("TSLL", "1")]
            .into_iter()
            .map(|(s, p)| (s.to_string(), fake::d(p)))
            .collect(),
        ..fake::Book::default()
    }));
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let run = ["trade", "run", "--broker", "alpaca"];
    ok(h, &base, &["clock", "set", "2024-03-01T12:00:00Z"]);
    let started = ok(h, &base, &run);
    assert!(started.contains("Runner pulse started"), "{started}");
    // The runner must be run with the broker it was started with.
    let out = pulse(h, &base, &["trade", "run"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Alpaca"));

    // Catch up over months in stages, killed with SIGKILL at random instants in each.
    let mut seed: u64 = 0xa1_9aca;
    let mut killed = 0;
    for stage in ["2024-04-01", "2024-05-01", "2024-06-01", "2024-07-01"] {
        ok(h, &base, &["clock", "set", &format!("{stage}T12:00:00Z")]);
        for _ in 0..3 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let frac = (seed >> 11) as f64 / (1u64 << 53) as f64;
            let mut child = isolated(h)
                .args(run)
                .current_dir(h)
                .env("XDG_DATA_HOME", h)
                .env("APCA_API_KEY_ID", fake::KEY_ID)
                .env("APCA_API_SECRET_KEY", fake::SECRET)
                .env("APCA_API_BASE_URL", &base)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(5 + (frac * 400.0) as u64));
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap(); // SIGKILL
                killed += 1;
            }
            child.wait().unwrap();
        }
        ok(h, &base, &run);
    }
    eprintln!("killed mid-way: {killed} of 12");
    assert!(killed >= 2, "only {killed} runs were killed mid-way");
    // The last step's orders filled at the broker after it: the next run books them first.
    ok(h, &base, &run);
    let status: Value =
        serde_json::from_str(&ok(h, &base, &["--json", "trade", "status"])).unwrap();
    let orders = status["orders"].as_array().unwrap();
    assert!(orders.len() > 5, "{}", orders.len());
    let book = server.book.lock().unwrap();
    // Each client id reached the broker exactly once; none is left as an unresolved intent.
    for r in orders {
        let cid = r["order"]["client_id"].as_str().unwrap();
        assert_eq!(book.count(cid), 1, "{cid}");
        assert_ne!(r["status"], "intent", "{r}");
    }
    assert_eq!(book.orders.len(), orders.len());
    // The account booked from the broker's fills equals the broker's.
    let positions: std::collections::BTreeMap<String, String> = status["account"]["positions"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, q)| q.as_str().unwrap().parse::<f64>().unwrap() != 0.0)
        .map(|(s, q)| (s.clone(), q.as_str().unwrap().to_string()))
        .collect();
    let at_broker: std::collections::BTreeMap<String, String> = book
        .nonzero_positions()
        .iter()
        .map(|(s, q)| (s.to_string(), q.normalize().to_string()))
        .collect();
    let positions: std::collections::BTreeMap<String, String> = positions
        .into_iter()
        .map(|(s, q)| {
            (
                s,
                q.parse::<rust_decimal::Decimal>()
                    .unwrap()
                    .normalize()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(positions, at_broker);
    let cash: rust_decimal::Decimal = status["account"]["cash"].as_str().unwrap().parse().unwrap();
    assert_eq!(cash, book.cash);
}
