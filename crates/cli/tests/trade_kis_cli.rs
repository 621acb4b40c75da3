//! `pulse trade run --broker kis` against a loopback fake of the KIS Open API (the broker-kis
//! tests' fake, replaying the documented wire formats): US stocks (TSLA, TSLL) traded with
//! marketable limit orders (KIS takes no US market orders), the runner's cash the account's USD
//! balance (KIS holds KRW and USD apart), the OAuth token issued once and reused from the store
//! by every later process, every order placed once even when `pulse trade run` is killed with
//! SIGKILL at random instants, the account booked equal to the broker's, and no key, secret or
//! account number in any output.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
#[path = "../../adapters/broker-kis/tests/common/mod.rs"]
mod fake;

use common::isolated;
use pulse_core::ports::Clock;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

fn command(home: &Path, base: &str, args: &[&str]) -> Command {
    let mut c = isolated(home);
    c.args(args)
        .current_dir(home)
        .env("XDG_DATA_HOME", home)
        .env("KIS_APP_KEY", fake::APP_KEY)
        .env("KIS_APP_SECRET", fake::APP_SECRET)
        .env("KIS_ACCOUNT", fake::ACCOUNT)
        .env("KIS_BASE_URL", base)
        // The loopback fake has no rate limit to respect (KIS paper's is 2 requests a second).
        .env("KIS_MIN_INTERVAL_MS", "0");
    c
}

fn pulse(home: &Path, base: &str, args: &[&str]) -> Output {
    command(home, base, args).output().unwrap()
}

fn ok(home: &Path, base: &str, args: &[&str]) -> String {
    let out = pulse(home, base, args);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    for text in [&stdout, &stderr] {
        for secret in [
            fake::APP_KEY,
            fake::APP_SECRET,
            fake::CANO,
            "PSkey%2FTe",
            "sEcr3t%2F",
        ] {
            assert!(!text.contains(secret), "a secret leaked: {text}");
        }
    }
    assert!(
        out.status.success(),
        "pulse {args:?} failed: {stderr}{stdout}"
    );
    stdout
}

#[test]
fn a_kis_runner_trades_us_stocks_with_limits_once_through_kills_and_books_the_usd_account() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // The fake stamps orders by a clock that follows the wall clock (the adapter resolves an
    // order whose outcome is unknown by its placing time).
    let clock = Arc::new(pulse_core::SimClock::new(pulse_core::WallClock.now()));
    let ticking = clock.clone();
    std::thread::spawn(move || {
        loop {
            ticking.set(pulse_core::WallClock.now());
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let mut book = fake::Book::new(pulse_broker_kis::KisMode::Paper, clock);
    book.fill_at_limit = true;
    book.usd = fake::d("20000");
    let (server, base) = rt.block_on(fake::start(book));
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let run = ["trade", "run", "--broker", "kis"];
    ok(h, &base, &["clock", "set", "2024-03-01T12:00:00Z"]);
    let started = ok(h, &base, &run);
    assert!(started.contains("Runner pulse started"), "{started}");
    let status: Value =
        serde_json::from_str(&ok(h, &base, &["--json", "trade", "status"])).unwrap();
    assert_eq!(status["meta"]["broker"], "kis");
    assert_eq!(status["meta"]["cash_currency"], "USD");
    assert_eq!(
        status["account"]["cash"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap(),
        20_000.0
    );

    // Catch up month by month, each run a new process (the token and the order journal come
    // back from the store), killed with SIGKILL at random instants in each stage.
    let mut seed: u64 = std::env::var("PULSE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0c15_0001);
    let mut killed = 0;
    for stage in ["2024-04-01", "2024-05-01", "2024-06-01", "2024-07-01"] {
        ok(h, &base, &["clock", "set", &format!("{stage}T12:00:00Z")]);
        for _ in 0..3 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let frac = (seed >> 11) as f64 / (1u64 << 53) as f64;
            let mut child = command(h, &base, &run)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(5 + (frac * 300.0) as u64));
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
    ok(h, &base, &run);
    let status: Value =
        serde_json::from_str(&ok(h, &base, &["--json", "trade", "status"])).unwrap();
    let orders = status["orders"].as_array().unwrap();
    assert!(orders.len() >= 3, "{}", orders.len());
    let book = server.book.lock().unwrap();
    // Limit orders only (KIS refuses US market orders), each placed once at the broker.
    let placed = book.orders.iter().filter(|o| o.cancel_of.is_none()).count();
    let sent = orders.iter().filter(|r| r["status"] != "refused").count();
    assert_eq!(placed, sent, "orders at the broker vs sent by the runner");
    for r in orders {
        assert_ne!(r["status"], "intent", "{r}");
        assert_eq!(
            r["order"]["kind"]["type"], "limit",
            "not a limit order: {r}"
        );
    }
    for (_, tr, body) in &book.posts {
        assert!(
            tr == "VTTT1002U" || tr == "VTTT1001U",
            "paper US order TR ids only: {tr}"
        );
        assert_eq!(body["ORD_DVSN"], "00", "limit orders only: {body}");
    }
    // One token for the whole life of the runner: later processes read it from the store.
    assert_eq!(book.tokens_issued, 1);
    // The account booked from the broker's fills equals the broker's: shares and USD cash.
    let positions: std::collections::BTreeMap<String, rust_decimal::Decimal> =
        status["account"]["positions"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(s, q)| {
                (
                    s.clone(),
                    q.as_str()
                        .unwrap()
                        .parse::<rust_decimal::Decimal>()
                        .unwrap(),
                )
            })
            .filter(|(_, q)| !q.is_zero())
            .collect();
    let at_broker: std::collections::BTreeMap<String, rust_decimal::Decimal> = book
        .nonzero_positions()
        .iter()
        .map(|(s, q)| (s.to_string(), *q))
        .collect();
    assert_eq!(positions, at_broker);
    let cash: rust_decimal::Decimal = status["account"]["cash"].as_str().unwrap().parse().unwrap();
    assert_eq!(cash, book.usd);
    assert!(
        !positions.is_empty() || book.orders.len() > 1,
        "the runner never traded"
    );
}
