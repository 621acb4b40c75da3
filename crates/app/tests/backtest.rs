//! The backtest use case on the bundled TSLA + TSLL data (../shared/data/bundle) in a real
//! SQLite store: validation names the setting, histories that cannot start a run are refused,
//! and the outcome is consistent with itself (fees = rate × notional; Pulse's report rows).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pulse_app::AppError;
use pulse_app::backtest::{BacktestRequest, RunSettings, backtest, prepare};
use pulse_core::{Periodicity, Timeframe};
use rust_decimal::Decimal;
use std::io::Write;

mod common;
use common::bundled_store;

fn setting_of(e: &AppError) -> Option<&'static str> {
    match e {
        AppError::InvalidSetting { setting, .. } => Some(setting),
        _ => None,
    }
}

#[test]
fn every_out_of_range_setting_is_refused_naming_it() {
    let ok = RunSettings::default();
    ok.validate().unwrap();
    assert_eq!(
        pulse_app::backtest::MAX_MONEY,
        Decimal::from(1_000_000_000_000_000u64)
    );
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let cases: Vec<(&str, RunSettings)> = vec![
        ("slippage_bps", {
            let mut s = ok.clone();
            s.costs.slippage_bps = d("-500");
            s
        }),
        ("commission", {
            let mut s = ok.clone();
            s.costs.commission_rate = d("2");
            s
        }),
        ("min_trade", {
            let mut s = ok.clone();
            s.min_trade = d("-5");
            s
        }),
        ("cash", {
            let mut s = ok.clone();
            s.cash = d("-100");
            s
        }),
        ("cash", {
            let mut s = ok.clone();
            s.cash = Decimal::MAX;
            s
        }),
        ("cash", {
            let mut s = ok.clone();
            s.cash = Decimal::ZERO;
            s
        }),
        ("alert_threshold", {
            let mut s = ok.clone();
            s.alert_threshold = f64::NAN;
            s
        }),
        ("drift_band", {
            let mut s = ok.clone();
            s.drift_band = 1.5;
            s
        }),
        ("rf", {
            let mut s = ok.clone();
            s.rf = Some(f64::INFINITY);
            s
        }),
    ];
    for (want, settings) in cases {
        let err = settings.validate().unwrap_err();
        assert_eq!(setting_of(&err), Some(want), "{err}");
        assert!(err.is_usage());
    }
}

#[tokio::test]
async fn a_backtest_books_fees_at_the_commission_rate_and_reports_pulse_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    let out = backtest(&store, &BacktestRequest::default()).await.unwrap();
    assert_eq!(out.runs.len(), 4);
    let pulse = &out.runs[0].result;
    assert_eq!(pulse.strategy, "Pulse");
    assert!(!pulse.fills.is_empty());
    // 0.1 % of the traded notional, to the last decimal.
    assert_eq!(
        pulse.fees_paid,
        pulse.traded_notional * Decimal::new(1, 3),
        "fees"
    );
    assert_eq!(out.report.trades.len(), pulse.fills.len());
    assert_eq!(out.report.currency, "USD");
    assert_eq!(out.prepared.periodicity, Periodicity::Daily);
    assert_eq!(out.report.metrics[0].name, "Pulse");
}

#[tokio::test]
async fn a_window_before_the_warm_up_is_refused_and_a_later_one_is_evaluated_inside_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    let early = BacktestRequest {
        from: Some("2018-01-03T00:00:00Z".parse().unwrap()),
        ..BacktestRequest::default()
    };
    let err = backtest(&store, &early).await.unwrap_err();
    assert_eq!(setting_of(&err), Some("from"), "{err}");
    let window = BacktestRequest {
        from: Some("2024-01-02T00:00:00Z".parse().unwrap()),
        to: Some("2024-06-28T23:59:59Z".parse().unwrap()),
        ..BacktestRequest::default()
    };
    let reversed = BacktestRequest {
        from: Some("2024-06-28T00:00:00Z".parse().unwrap()),
        to: Some("2024-01-02T00:00:00Z".parse().unwrap()),
        ..BacktestRequest::default()
    };
    let err = backtest(&store, &reversed).await.unwrap_err();
    assert_eq!(setting_of(&err), Some("to"), "{err}");
    let out = backtest(&store, &window).await.unwrap();
    let ts = &out.runs[0].result.timestamps;
    assert_eq!(ts.first().unwrap().to_string(), "2024-01-02T00:00:00Z");
    assert_eq!(ts.last().unwrap().to_string(), "2024-06-28T00:00:00Z");
}

fn history(dir: &tempfile::TempDir, rows: &str) -> std::path::PathBuf {
    let path = dir.path().join("trades.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "date,symbol,side,quantity,price,fee").unwrap();
    write!(f, "{rows}").unwrap();
    path
}

#[tokio::test]
async fn a_trade_history_that_ends_after_the_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    let settings = RunSettings {
        trades: Some(history(&dir, "2030-01-02,TSLA,buy,10,300,0.3\n")),
        ..RunSettings::default()
    };
    let err = prepare(&store, &settings).await.unwrap_err();
    assert!(matches!(err, AppError::Data(_)), "{err}");
    assert!(
        err.to_string().contains("after the last stored bar"),
        "{err}"
    );
}

/// Issue #12 item 6: `--from` before the end of a starting trade history is refused (it panicked)
/// and the message blames the history, not the indicators' warm-up; `--from` after it is a window
/// inside the run.
#[tokio::test]
async fn a_window_opening_before_the_trade_history_ends_is_refused_naming_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    let settings = RunSettings {
        trades: Some(history(&dir, "2025-06-02,TSLA,buy,10,300,0.3\n")),
        ..RunSettings::default()
    };
    let early = BacktestRequest {
        settings: settings.clone(),
        from: Some("2025-01-02T00:00:00Z".parse().unwrap()),
        ..BacktestRequest::default()
    };
    let err = backtest(&store, &early).await.unwrap_err();
    assert_eq!(setting_of(&err), Some("from"), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("trade history") && msg.contains("2025-06-03") && !msg.contains("indicators"),
        "{msg}"
    );
    let later = BacktestRequest {
        settings,
        from: Some("2025-09-02T00:00:00Z".parse().unwrap()),
        ..BacktestRequest::default()
    };
    let out = backtest(&store, &later).await.unwrap();
    let ts = &out.runs[0].result.timestamps;
    assert_eq!(ts.first().unwrap().to_string(), "2025-09-02T00:00:00Z");
    // Without a history, the warm-up is what an early `--from` is told about.
    let warm_up = BacktestRequest {
        from: Some("2018-01-03T00:00:00Z".parse().unwrap()),
        ..BacktestRequest::default()
    };
    let err = backtest(&store, &warm_up).await.unwrap_err();
    assert!(err.to_string().contains("indicators"), "{err}");
}

#[tokio::test]
async fn holdings_the_strategy_cannot_price_are_refused_not_valued_at_zero() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    let settings = RunSettings {
        trades: Some(history(&dir, "2024-01-02,AAPL,buy,10,185,0.19\n")),
        ..RunSettings::default()
    };
    let err = prepare(&store, &settings).await.unwrap_err();
    assert!(err.to_string().contains("AAPL"), "{err}");
    // A history in the traded symbols starts the run the day after its last trade.
    let settings = RunSettings {
        trades: Some(history(&dir, "2024-01-02,TSLA,buy,10,250,0.25\n")),
        ..RunSettings::default()
    };
    let p = prepare(&store, &settings).await.unwrap();
    assert_eq!(
        p.first_evaluable().unwrap().to_string(),
        "2024-01-03T00:00:00Z"
    );
}

#[test]
fn intraday_bars_are_annualized_with_the_exchange_session() {
    use pulse_core::Exchange;
    assert_eq!(
        Periodicity::of_bars(Timeframe::M1, Exchange::Nasdaq),
        Periodicity::Intraday {
            minutes: 1,
            session_minutes: 390
        }
    );
    assert_eq!(
        Periodicity::of_bars(Timeframe::M15, Exchange::Crypto),
        Periodicity::Intraday {
            minutes: 15,
            session_minutes: 1_440
        }
    );
    assert_eq!(
        Periodicity::of_bars(Timeframe::D1, Exchange::Krx),
        Periodicity::Daily
    );
}
