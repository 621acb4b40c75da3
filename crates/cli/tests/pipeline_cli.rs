//! `pulse pipeline run|report` against the loopback fake KIS (KRW and USD cash, a domestic and
//! an overseas holding) with a manual-assets file: the KRW table, a second run that changes
//! nothing, `report --json` and `--csv`, a bad sheet (exit 2 naming the row and column), a
//! missing rate (exit 1 naming the currency), and no key, secret or account number in any output.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
#[path = "../../adapters/broker-kis/tests/common/mod.rs"]
mod fake;

use common::isolated;
use pulse_core::ports::Clock;
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;

fn pulse(home: &Path, base: &str, args: &[&str]) -> Output {
    let out = isolated(home)
        .args(args)
        .current_dir(home)
        .env("XDG_DATA_HOME", home)
        .env("KIS_APP_KEY", fake::APP_KEY)
        .env("KIS_APP_SECRET", fake::APP_SECRET)
        .env("KIS_ACCOUNT", fake::ACCOUNT)
        .env("KIS_BASE_URL", base)
        .env("KIS_MIN_INTERVAL_MS", "0")
        .output()
        .unwrap();
    for text in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(text);
        for secret in [fake::APP_KEY, fake::APP_SECRET, fake::CANO] {
            assert!(!text.contains(secret), "a secret leaked: {text}");
        }
    }
    out
}

fn ok(home: &Path, base: &str, args: &[&str]) -> String {
    let out = pulse(home, base, args);
    assert!(
        out.status.success(),
        "pulse {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn pipeline_run_report_and_errors() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // The binary reads token expiry by the wall clock: the fake issues tokens by it too.
    let clock = Arc::new(pulse_core::SimClock::new(pulse_core::WallClock.now()));
    let mut book = fake::Book::new(pulse_broker_kis::KisMode::Paper, clock);
    book.positions.insert("005930".into(), fake::d("10"));
    book.positions.insert("TSLA".into(), fake::d("4"));
    book.costs.insert("005930".into(), fake::d("60000"));
    book.costs.insert("TSLA".into(), fake::d("200"));
    let (_server, base) = rt.block_on(fake::start(book));
    let home = tempfile::tempdir().unwrap();
    let h = home.path();

    // USD/KRW 1450 on 2026-01-02 (what `pulse data fetch USDKRW=X` would store).
    std::fs::write(
        h.join("fx.csv"),
        "date,open,high,low,close\n2025-12-31,1440,1440,1440,1440\n2026-01-02,1450,1450,1450,1450\n",
    )
    .unwrap();
    std::fs::write(
        h.join("sheet.csv"),
        "asset,class,currency,quantity,price,value,date,cost\nDeposit,cash,KRW,,,3000000,2026-01-02,\nVOO,etf,USD,2,500,,2026-01-02,900\n",
    )
    .unwrap();
    std::fs::write(
        h.join("bad.csv"),
        "asset,class,currency,quantity,price,date\nA,cash,KRW,1,1,2026-01-02\nB,cash,KRW,one,1,2026-01-02\n",
    )
    .unwrap();
    ok(h, &base, &["clock", "set", "2026-01-05T01:00:00Z"]);

    // No rate stored yet: exit 1 naming the currency and the series.
    let out = pulse(h, &base, &["pipeline", "run", "--manual", "sheet.csv"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("USD") && err.contains("USDKRW=X"), "{err}");

    ok(
        h,
        &base,
        &["data", "import", "--symbol", "USDKRW=X", "fx.csv"],
    );

    // A bad sheet: exit 2 naming the row and the column; nothing stored.
    let out = pulse(h, &base, &["pipeline", "run", "--manual", "bad.csv"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("row 3, column quantity"), "{err}");

    // cash 10,000,000 + 10,000 USD + 005930 10 × 70,000 + TSLA 4 × 250.5 USD + 3,000,000
    // + VOO 1,000 USD, at 1450 = 31,102,900 KRW.
    let first: Value = serde_json::from_str(&ok(
        h,
        &base,
        &["--json", "pipeline", "run", "--manual", "sheet.csv"],
    ))
    .unwrap();
    assert!(!first["changed"].as_array().unwrap().is_empty());
    let total = first["analysis"]["total"]["value_krw"].as_f64().unwrap();
    assert!((total - 31_102_900.0).abs() < 1e-3, "{total}");
    let again = ok(h, &base, &["pipeline", "run", "--manual", "sheet.csv"]);
    assert!(again.contains("nothing changed"), "{again}");
    assert!(again.contains("31,102,900"), "{again}");

    let report: Value = serde_json::from_str(&ok(
        h,
        &base,
        &["--json", "pipeline", "report", "--csv", "t.csv"],
    ))
    .unwrap();
    assert_eq!(report, first["analysis"]);
    let csv = std::fs::read_to_string(h.join("t.csv")).unwrap();
    assert!(csv.starts_with("date,source,asset,class,currency,quantity"));
    assert_eq!(csv.lines().count(), 1 + 6, "{csv}");
    assert!(
        csv.contains("2026-01-05,kis,TSLA,equity,USD,4,250.5,1002,1450,1452900,1160000,292900")
    );
    let text = ok(h, &base, &["pipeline", "report", "--date", "2026-01-05"]);
    assert!(text.contains("class") && text.contains("equity"), "{text}");

    // Usage errors.
    let out = pulse(h, &base, &["pipeline", "report", "--date", "2026-13-01"]);
    assert_eq!(out.status.code(), Some(2));
    let out = pulse(h, &base, &["pipeline", "report", "--date", "2025-01-01"]);
    assert_eq!(out.status.code(), Some(2));
    let out = pulse(
        h,
        &base,
        &["pipeline", "run", "--broker", "kis", "--date", "2026-01-02"],
    );
    assert_eq!(out.status.code(), Some(2));
}
