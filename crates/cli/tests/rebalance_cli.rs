//! `pulse rebalance simulate` on real 2024 ETF closes: debounce, revert, global and local plans,
//! and the invariants of issue 7 (cash never negative, fees = rate × notional exactly, no
//! buy-then-sell of a security within a plan, targets reached).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
use common::{import_shared_adjclose, pulse_db};

use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::str::FromStr;

const SIGNALS: &str = r#"{"date":"2024-01-02","mp":{"stocks":0.6,"bonds":0.3,"cash":0.1},"sub_mp":{"stocks":{"SPY":1.0},"bonds":["TLT"]}}
{"date":"2024-03-04","mp":{"stocks":0.3,"bonds":0.5,"gold":0.2},"sub_mp":{"gold":["GLD"]}}
{"date":"2024-03-05","mp":{"stocks":0.6,"bonds":0.3,"cash":0.1}}
{"date":"2024-06-03","mp":{"stocks":0.3,"bonds":0.5,"gold":0.2},"sub_mp":{"gold":["GLD"]}}
{"date":"2024-09-03","mp":{"stocks":0.3,"bonds":0.5,"gold":0.2},"sub_mp":{"stocks":["SPY","QQQ"]}}
"#;

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.to_string().trim_matches('"')).unwrap()
}

#[test]
fn a_year_of_signals_on_real_prices_keeps_every_invariant() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let pulse = |args: &[&str]| pulse_db(&db, args);
    import_shared_adjclose(&db, &["SPY", "QQQ", "TLT", "GLD"]);
    let signals = dir.path().join("signals.jsonl");
    std::fs::write(&signals, SIGNALS).unwrap();
    let out = pulse(&[
        "--json",
        "rebalance",
        "simulate",
        "--signals",
        signals.to_str().unwrap(),
        "--from",
        "2024-01-02",
        "--to",
        "2024-12-31",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();

    // Events: confirmation after 3 days, the one-day blip reverted, later plans confirmed.
    let kinds: Vec<(String, String)> = j["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["date"].as_str().unwrap().to_string(),
                e["event"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let has = |d: &str, k: &str| kinds.iter().any(|(date, kind)| date == d && kind == k);
    assert!(has("2024-01-04", "confirmed"), "{kinds:?}");
    assert!(has("2024-03-05", "reverted"), "{kinds:?}");
    assert!(has("2024-06-05", "confirmed") && has("2024-09-05", "confirmed"));

    // Orders: 5 steps per plan; no security bought and sold within one plan; fees exact.
    let orders = j["orders"].as_array().unwrap();
    let mut sides: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut steps: BTreeMap<String, u64> = BTreeMap::new();
    let mut fees = Decimal::ZERO;
    let mut notional = Decimal::ZERO;
    for o in orders {
        let plan = o["plan"].as_str().unwrap().to_string();
        let side = o["side"].as_str().unwrap().to_string();
        let prev = sides.insert(
            (plan.clone(), o["symbol"].as_str().unwrap().to_string()),
            side.clone(),
        );
        assert!(
            prev.is_none() || prev.as_deref() == Some(side.as_str()),
            "buy and sell of the same security in plan {plan}"
        );
        let s = steps.entry(plan).or_default();
        *s = (*s).max(o["step"].as_u64().unwrap());
        let (q, p, f) = (dec(&o["quantity"]), dec(&o["price"]), dec(&o["fee"]));
        assert_eq!(f, q * p * Decimal::new(1, 3));
        fees += f;
        notional += q * p;
    }
    assert_eq!(steps.len(), 3, "{steps:?}");
    assert!(steps.values().all(|s| *s == 5));
    assert_eq!(dec(&j["fees"]), fees);
    assert_eq!(dec(&j["traded_notional"]), notional);
    assert_eq!(fees, notional * Decimal::new(1, 3));

    // Cash never negative; the final weights sit at the last model's targets (prices drift after
    // September, so within a few points).
    for n in j["nav"].as_array().unwrap() {
        assert!(dec(&n["cash"]) >= Decimal::ZERO);
    }
    let nav_last = j["nav"].as_array().unwrap().last().unwrap()["nav"]
        .as_f64()
        .unwrap();
    let last_close = |t: &str| -> f64 {
        let text = std::fs::read_to_string(pulse_testkit::shared_file(&format!(
            "daily-adjclose/{t}.csv"
        )))
        .unwrap();
        let line = text.lines().find(|l| l.starts_with("2024-12-31")).unwrap();
        line.split(',').nth(1).unwrap().parse().unwrap()
    };
    for (t, target) in [("SPY", 0.15), ("QQQ", 0.15), ("TLT", 0.5), ("GLD", 0.2)] {
        let q: f64 = j["holdings"][t].as_str().unwrap().parse().unwrap();
        let w = q * last_close(t) / nav_last;
        assert!(
            (w - target).abs() < 0.05,
            "{t}: weight {w:.3} vs target {target}"
        );
    }
    assert_eq!(j["rebalancing_active"], false);
}

/// Issue 12 defect 2: a signals line without `mp` means "MP unchanged", so an MP change pending
/// since 2024-09-03 goes on counting on 2024-09-05, whose line carries only a Sub-MP, and is
/// confirmed on the third consecutive trading day instead of pausing the plan for ever.
#[test]
fn a_sub_mp_only_line_keeps_counting_the_pending_mp() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    import_shared_adjclose(&db, &["SPY", "QQQ", "TLT", "GLD"]);
    let signals = dir.path().join("signals.jsonl");
    std::fs::write(
        &signals,
        r#"{"date":"2024-08-01","mp":{"stocks":0.6,"bonds":0.3,"cash":0.1},"sub_mp":{"stocks":["SPY"],"bonds":["TLT"]}}
{"date":"2024-09-03","mp":{"stocks":0.3,"bonds":0.5,"gold":0.2},"sub_mp":{"gold":["GLD"]}}
{"date":"2024-09-05","sub_mp":{"stocks":["SPY","QQQ"]}}
"#,
    )
    .unwrap();
    let out = pulse_db(
        &db,
        &[
            "--json",
            "rebalance",
            "simulate",
            "--signals",
            signals.to_str().unwrap(),
            "--from",
            "2024-08-01",
            "--to",
            "2024-12-31",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    let events = j["events"].as_array().unwrap();
    let at = |d: &str, k: &str, key: &str| {
        events.iter().any(|e| {
            e["date"] == d && e["event"] == k && e["key"]["kind"].as_str().is_none_or(|x| x == key)
        })
    };
    assert!(at("2024-09-04", "pending", "mp"), "{events:#?}");
    assert!(at("2024-09-05", "confirmed", "mp"), "{events:#?}");
    // The Sub-MP of 09-05 is then counted on its own and confirmed three trading days later.
    assert!(at("2024-09-09", "confirmed", "sub_mp"), "{events:#?}");
    let paused_late = events
        .iter()
        .filter(|e| e["event"] == "paused" && e["date"].as_str().unwrap() > "2024-09-30")
        .count();
    assert_eq!(paused_late, 0, "the plan must not stay paused");
    assert_eq!(j["rebalancing_active"], false);
    for t in ["SPY", "QQQ", "TLT", "GLD"] {
        assert!(
            j["holdings"][t].as_str().is_some_and(|q| q != "0"),
            "{t} not held: {}",
            j["holdings"]
        );
    }
}

/// Issue 12: a commission or cash out of range is refused where it enters (`rebalance init` used
/// to save `--commission 2`, after which every later command failed), naming the flag, exit 2,
/// and nothing is saved.
#[test]
fn rebalance_commission_and_cash_out_of_range_are_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pulse.db");
    for (args, flag) in [
        (
            vec!["rebalance", "init", "--commission", "2"],
            "--commission",
        ),
        (vec!["rebalance", "init", "--cash=-100"], "--cash"),
        (
            vec![
                "rebalance",
                "simulate",
                "--signals",
                "signals.jsonl",
                "--from",
                "2024-01-02",
                "--to",
                "2024-02-01",
                "--cash=-5",
            ],
            "--cash",
        ),
        (
            vec![
                "rebalance",
                "simulate",
                "--signals",
                "signals.jsonl",
                "--from",
                "2024-01-02",
                "--to",
                "2024-02-01",
                "--commission",
                "1.5",
            ],
            "--commission",
        ),
    ] {
        let out = pulse_db(&db, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?}: {err}");
    }
    // Nothing was saved by the refused init.
    let out = pulse_db(&db, &["rebalance", "status"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("set up the rebalancer first"), "{err}");
}

/// Issue 12: a signals-file weight error names the file and the line.
#[test]
fn a_signal_file_weight_error_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pulse.db");
    let signals = dir.path().join("signals.jsonl");
    std::fs::write(
        &signals,
        concat!(
            r#"{"date":"2024-01-02","mp":{"stocks":0.6,"bonds":0.3,"cash":0.1},"sub_mp":{"stocks":["SPY"],"bonds":["TLT"]}}"#,
            "\n",
            r#"{"date":"2024-01-03","mp":{"stocks":0.9,"bonds":0.3,"cash":0.1}}"#,
            "\n"
        ),
    )
    .unwrap();
    let out = pulse_db(
        &db,
        &[
            "rebalance",
            "simulate",
            "--signals",
            signals.to_str().unwrap(),
            "--from",
            "2024-01-02",
            "--to",
            "2024-02-01",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("signals.jsonl:2:") && err.contains("mp"),
        "{err}"
    );
}

/// Issue 12 (reports): the rebalancing report shows its metrics, the held vs target weights, the
/// closes with every fill, and the days the plan was paused by a pending signal as shaded bands.
#[test]
fn the_rebalance_report_shows_metrics_weights_prices_and_the_paused_days() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    import_shared_adjclose(&db, &["SPY", "TLT", "GLD"]);
    let signals = dir.path().join("signals.jsonl");
    // A plan starts after 09-03's change is confirmed; 09-10 changes the MP again while it runs.
    std::fs::write(
        &signals,
        r#"{"date":"2024-08-01","mp":{"stocks":0.6,"bonds":0.3,"cash":0.1},"sub_mp":{"stocks":["SPY"],"bonds":["TLT"]}}
{"date":"2024-09-03","mp":{"stocks":0.3,"bonds":0.5,"gold":0.2},"sub_mp":{"gold":["GLD"]}}
{"date":"2024-09-10","mp":{"stocks":0.5,"bonds":0.3,"gold":0.2}}
"#,
    )
    .unwrap();
    let report = dir.path().join("rebalance.html");
    let out = pulse_db(
        &db,
        &[
            "--json",
            "rebalance",
            "simulate",
            "--signals",
            signals.to_str().unwrap(),
            "--from",
            "2024-08-01",
            "--to",
            "2024-10-31",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    let nav = j["nav"].as_array().unwrap();
    let paused: Vec<&str> = nav
        .iter()
        .filter(|n| n["paused"] == true)
        .map(|n| n["date"].as_str().unwrap())
        .collect();
    assert!(
        !paused.is_empty(),
        "the second change pauses the running plan"
    );
    // Held weights are fractions of the NAV that leave the cash.
    for n in nav {
        let held: f64 = n["weights"]
            .as_object()
            .unwrap()
            .values()
            .map(|w| w.as_f64().unwrap())
            .sum();
        let cash = dec(&n["cash"]).to_string().parse::<f64>().unwrap();
        assert!((held + cash / n["nav"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    }
    let html = std::fs::read_to_string(&report).unwrap();
    let open = "<script type=\"application/json\" id=\"report-data\">";
    let start = html.find(open).unwrap() + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    let island: Value = serde_json::from_str(&html[start..end]).unwrap();
    let charts: Vec<&str> = island["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for id in ["equity", "drawdown", "weights-0", "price-0"] {
        assert!(charts.contains(&id), "{id} missing from {charts:?}");
    }
    assert!(html.contains("<rect class=\"band\""), "paused days shaded");
    assert!(html.contains("plan paused (signal pending)"));
    assert!(!html.contains("No trades.") && !html.contains("No price data"));
    assert!(html.contains(">Rebalancer<") && html.contains("Sharpe"));
}
