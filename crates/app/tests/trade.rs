//! The trading runner on the bundled TSLA + TSLL data in a real SQLite store, driven by time
//! travel: caught up in pieces it decides exactly as in one piece; a crash between recording a
//! step's orders and sending them is resolved at the restart by a lookup (sent once, never
//! twice); an account that does not match the broker's halts the runner without trading; stop
//! cancels, flatten sells everything through the gate and a stopped runner still books fills.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pulse_app::AppError;
use pulse_app::backtest::RunSettings;
use pulse_app::trade::{
    BrokerChoice, RunnerStatus, TradeRequest, flatten, resume, run, status, stop,
};
use pulse_core::ports::Store;
use std::collections::BTreeSet;
use std::ops::ControlFlow;
use store_sqlite::SqliteStore;

mod common;
use common::{NONE, bundled_store, go, travel};

fn request() -> TradeRequest {
    TradeRequest {
        name: "pulse".to_string(),
        broker: BrokerChoice::Paper,
        mode: pulse_app::trade::TradeMode::Paper,
        settings: RunSettings::default(),
        limit_offset_bps: None,
        agents: None,
    }
}

/// Client ids, quantities, statuses; fills by execution id.
async fn journal(store: &SqliteStore) -> (Vec<String>, Vec<String>) {
    let orders = store
        .trade_orders("pulse")
        .await
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {}",
                r.order.client_id, r.order.side, r.order.quantity, r.status, r.filled
            )
        })
        .collect();
    let fills = store
        .trade_fills("pulse")
        .await
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{:?} {} {} {} {}",
                f.exec_id, f.quantity, f.price, f.fee, f.ts
            )
        })
        .collect();
    (orders, fills)
}

#[tokio::test]
async fn caught_up_in_pieces_it_decides_as_in_one_piece_and_never_fills_before_a_decision() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (one, pieces) = (bundled_store(&a).await, bundled_store(&b).await);
    for s in [&one, &pieces] {
        travel(s, "2024-03-01T12:00:00Z").await;
        let o = run(s, &request(), NONE, go).await.unwrap();
        assert!(o.started);
        assert_eq!(o.steps, 0, "warm-up only at the start");
    }
    travel(&one, "2024-09-02T12:00:00Z").await;
    let whole = run(&one, &request(), NONE, go).await.unwrap();
    assert!(whole.steps > 100, "{}", whole.steps);
    for day in ["2024-04-15", "2024-04-16", "2024-06-01", "2024-09-02"] {
        travel(&pieces, &format!("{day}T12:00:00Z")).await;
        run(&pieces, &request(), NONE, go).await.unwrap();
    }
    assert_eq!(journal(&one).await, journal(&pieces).await);
    let st = status(&one, "pulse").await.unwrap();
    assert!(!st.fills.is_empty());
    for f in &st.fills {
        let order = st
            .orders
            .iter()
            .find(|r| r.order.client_id == f.client_id)
            .unwrap();
        assert!(f.ts > order.order.decided_at, "a fill after its decision");
        assert!(f.exec_id.is_some());
    }
    // Every order but the last close's is done; the account equals the broker's (the next
    // run reconciles without a halt).
    let last = st.meta.last_close.unwrap();
    for r in &st.orders {
        let done = ["filled", "rejected"].contains(&r.status.as_str());
        assert!(done || r.order.decided_at == last, "{r:?}");
        // A rejection is the paper broker's cash cap on a buy (the price moved to the fill).
        if r.status == "rejected" {
            assert_eq!(r.order.side, pulse_core::Side::Buy, "{r:?}");
        }
    }
    travel(&one, "2024-09-03T12:00:00Z").await;
    run(&one, &request(), NONE, go).await.unwrap();
}

#[tokio::test]
async fn a_crash_between_recording_and_sending_sends_the_order_once_at_the_restart() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (plain, crashed) = (bundled_store(&a).await, bundled_store(&b).await);
    for s in [&plain, &crashed] {
        travel(s, "2024-03-01T12:00:00Z").await;
        run(s, &request(), NONE, go).await.unwrap();
        travel(s, "2024-05-01T12:00:00Z").await;
    }
    run(&plain, &request(), NONE, go).await.unwrap();
    // Crash after every step that decided orders: recorded as intent, never sent.
    let mut crashes = 0;
    loop {
        let o = run(&crashed, &request(), NONE, |_| ControlFlow::Break(()))
            .await
            .unwrap();
        if o.steps == 0 {
            break;
        }
        let intents: Vec<_> = crashed
            .trade_orders("pulse")
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.status == "intent")
            .collect();
        if !intents.is_empty() {
            crashes += 1;
        }
    }
    assert!(crashes > 3, "{crashes}");
    // The last run resolves the remaining intents.
    let o = run(&crashed, &request(), NONE, go).await.unwrap();
    assert!(
        o.resolved.iter().all(|r| !r.contains("refused")),
        "{:?}",
        o.resolved
    );
    assert_eq!(journal(&plain).await, journal(&crashed).await);
    let orders = crashed.trade_orders("pulse").await.unwrap();
    let ids: BTreeSet<_> = orders.iter().map(|r| r.order.client_id.clone()).collect();
    assert_eq!(ids.len(), orders.len(), "each client id once");
    assert!(orders.iter().all(|r| r.status != "intent"));
    // Each order's history starts with its intent, recorded before it was sent.
    let history = crashed
        .trade_order_history(&orders[0].order.client_id.0)
        .await
        .unwrap();
    assert_eq!(history[0].1, "intent");
}

#[tokio::test]
async fn an_account_that_does_not_match_the_broker_halts_without_trading() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    travel(&store, "2024-03-01T12:00:00Z").await;
    run(&store, &request(), NONE, go).await.unwrap();
    travel(&store, "2024-04-01T12:00:00Z").await;
    run(&store, &request(), NONE, go).await.unwrap();
    // Someone changed the paper account behind the runner's back.
    let book = store.document("trade/pulse/book").await.unwrap().unwrap();
    let mut book: serde_json::Value = serde_json::from_str(&book).unwrap();
    book["account"]["cash"] = serde_json::json!("1.00");
    store
        .save_documents(&[("trade/pulse/book", book.to_string())], &[])
        .await
        .unwrap();
    let before = journal(&store).await;
    travel(&store, "2024-05-01T12:00:00Z").await;
    let e = run(&store, &request(), NONE, go).await.unwrap_err();
    assert!(
        matches!(e, AppError::State(ref m) if m.contains("halted") && m.contains("cash")),
        "{e}"
    );
    assert_eq!(journal(&store).await, before, "nothing traded");
    let st = status(&store, "pulse").await.unwrap();
    assert!(matches!(st.meta.status, RunnerStatus::Halted { .. }));
    // Still halted on the next run, until a person resumes it.
    assert!(run(&store, &request(), NONE, go).await.is_err());
}

#[tokio::test]
async fn stop_cancels_flatten_sells_everything_and_a_stopped_runner_books_the_fills() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    travel(&store, "2024-03-01T12:00:00Z").await;
    run(&store, &request(), NONE, go).await.unwrap();
    travel(&store, "2024-07-01T12:00:00Z").await;
    run(&store, &request(), NONE, go).await.unwrap();
    let held = status(&store, "pulse").await.unwrap().account;
    assert!(held.positions.values().any(|q| !q.is_zero()), "{held:?}");
    let sent = flatten(&store, "pulse", NONE).await.unwrap();
    assert_eq!(
        sent.iter()
            .map(|o| o.symbol.clone())
            .collect::<BTreeSet<_>>(),
        held.positions
            .iter()
            .filter(|(_, q)| !q.is_zero())
            .map(|(s, _)| s.clone())
            .collect()
    );
    travel(&store, "2024-07-10T12:00:00Z").await;
    let o = run(&store, &request(), NONE, go).await.unwrap();
    assert!(o.submitted.is_empty(), "a stopped runner decides nothing");
    let st = status(&store, "pulse").await.unwrap();
    assert!(
        st.account.positions.values().all(|q| q.is_zero()),
        "{:?}",
        st.account
    );
    assert!(matches!(st.meta.status, RunnerStatus::Stopped));
    // Resumed, it decides again (and its account still matches the broker's).
    resume(&store, "pulse").await.unwrap();
    travel(&store, "2024-09-02T12:00:00Z").await;
    let o = run(&store, &request(), NONE, go).await.unwrap();
    assert!(o.steps > 10);
    assert!(stop(&store, "pulse", NONE).await.is_ok());
}

#[tokio::test]
async fn a_runner_started_with_the_stored_risk_settings_applies_their_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    let mut req = request();
    req.settings.risk = Some(pulse_app::backtest::RiskSource::Stored);
    travel(&store, "2024-03-01T12:00:00Z").await;
    run(&store, &req, NONE, go).await.unwrap();
    travel(&store, "2024-04-01T12:00:00Z").await;
    let o = run(&store, &req, NONE, go).await.unwrap();
    assert!(!o.risk_settings_applied);
    // Before the change: the defaults' 10 % position cap holds every target.
    let capped = |o: &pulse_app::trade::TradeOutcome, cap: f64| {
        o.alerts
            .iter()
            .all(|a| a.new.values().all(|w| *w <= cap + 1e-9))
    };
    assert!(capped(&o, 0.10));
    // A person raises the cap on the Risk page; the next run applies it (and audits it).
    pulse_app::risk::save_settings(&store, "[limits]\nmax_position = 0.25\n")
        .await
        .unwrap();
    travel(&store, "2024-06-03T12:00:00Z").await;
    let o = run(&store, &req, NONE, go).await.unwrap();
    assert!(o.risk_settings_applied);
    assert!(o.resolved.is_empty(), "{:?}", o.resolved);
    assert!(capped(&o, 0.25));
    assert!(
        o.alerts
            .iter()
            .any(|a| a.new.values().any(|w| *w > 0.10 + 1e-9)),
        "the new cap is used"
    );
    let audit = store.audit_log(10_000).await.unwrap();
    assert!(audit.iter().any(|a| a.entry_json.contains("risk_applied")));
    // The change itself is audited where it was made.
    assert!(
        audit
            .iter()
            .any(|a| a.subsystem == "risk" && a.entry_json.contains("max_position = 0.25"))
    );
    // Unchanged settings: nothing to apply.
    travel(&store, "2024-06-10T12:00:00Z").await;
    let o = run(&store, &req, NONE, go).await.unwrap();
    assert!(!o.risk_settings_applied);
}

#[tokio::test]
async fn every_finished_day_is_summarised_with_equity_at_its_closes() {
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    travel(&store, "2024-03-01T12:00:00Z").await;
    run(&store, &request(), NONE, go).await.unwrap();
    travel(&store, "2024-04-01T12:00:00Z").await;
    let o = run(&store, &request(), NONE, go).await.unwrap();
    // Daily bars: every decided bar ends its day (the session's close).
    assert_eq!(o.summaries.len(), o.steps);
    assert_eq!(
        o.summaries.iter().map(|d| d.fills).sum::<usize>(),
        o.fills.len()
    );
    assert_eq!(
        o.summaries.iter().map(|d| d.orders).sum::<usize>(),
        o.submitted.len()
    );
    // Equity marked independently: cash + Σ shares × the stored close of that day.
    let closes = |symbol: &str| {
        let store = &store;
        let symbol = pulse_core::Symbol::try_new(symbol).unwrap();
        async move {
            store
                .bars_page(
                    &pulse_core::ports::BarQuery {
                        symbol: symbol.clone(),
                        timeframe: pulse_core::Timeframe::D1,
                        start: Some("2024-02-01T00:00:00Z".parse().unwrap()),
                        end: Some("2024-04-01T00:00:00Z".parse().unwrap()),
                    },
                    None,
                    1_000,
                )
                .await
                .unwrap()
                .into_iter()
                .map(|b| (b.ts.to_zoned(jiff::tz::TimeZone::UTC).date(), b.close))
                .collect::<std::collections::BTreeMap<_, _>>()
        }
    };
    let (tsla, tsll) = (closes("TSLA").await, closes("TSLL").await);
    let mut previous: Option<f64> = None;
    for d in &o.summaries {
        let mut equity: f64 = d.account.cash.to_string().parse().unwrap();
        for (symbol, q) in &d.account.positions {
            let close = match symbol.as_str() {
                "TSLA" => tsla[&d.day],
                _ => tsll[&d.day],
            };
            equity += q.to_string().parse::<f64>().unwrap() * close;
        }
        assert!(
            (d.equity - equity).abs() < 1e-6 * equity,
            "{}: {} vs {equity}",
            d.day,
            d.equity
        );
        match previous {
            None => assert_eq!(d.change, None, "the first summary has no change"),
            Some(p) => assert!((d.change.unwrap() - (d.equity / p - 1.0)).abs() < 1e-12),
        }
        previous = Some(d.equity);
    }
    // The summaries are alerts too, and the next run goes on from the last one's equity.
    let records = pulse_app::trade::alert_records(&o).unwrap();
    let last = o.summaries.last().unwrap();
    assert!(records.iter().any(|r| {
        r.message
            .starts_with(&format!("SUMMARY pulse {}: equity", last.day))
    }));
    travel(&store, "2024-04-03T12:00:00Z").await;
    let next = run(&store, &request(), NONE, go).await.unwrap();
    let first = &next.summaries[0];
    assert!((first.change.unwrap() - (first.equity / last.equity - 1.0)).abs() < 1e-12);
}

#[tokio::test]
async fn the_runner_trades_as_the_backtest_of_the_same_window() {
    // The paper book fills at the close of the bar after the decision: the backtest's
    // `NextClose`. Same engine, same decisions, same fills and account to the last decimal
    // (dividends included).
    let mut req = request();
    req.settings.fill_price = pulse_backtest::FillPrice::NextClose;
    let dir = tempfile::tempdir().unwrap();
    let store = bundled_store(&dir).await;
    travel(&store, "2023-03-01T12:00:00Z").await;
    run(&store, &req, NONE, go).await.unwrap();
    for day in ["2023-06-01", "2023-12-01", "2024-06-03", "2024-12-31"] {
        travel(&store, &format!("{day}T23:00:00Z")).await;
        run(&store, &req, NONE, go).await.unwrap();
    }
    let st = status(&store, "pulse").await.unwrap();
    assert!(st.fills.len() > 10, "{}", st.fills.len());
    let bt = pulse_app::backtest::backtest(
        &store,
        &pulse_app::backtest::BacktestRequest {
            settings: req.settings.clone(),
            from: Some("2023-03-01T00:00:00Z".parse().unwrap()),
            to: st.meta.last_close,
        },
    )
    .await
    .unwrap();
    let pulse = &bt.runs[0].result;
    assert_eq!(
        common::fill_essence(&st.fills),
        common::fill_essence(&pulse.fills)
    );
    assert_eq!(st.account, pulse.final_portfolio);
}
