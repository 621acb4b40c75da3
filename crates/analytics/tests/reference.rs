#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! pulse-analytics against the numpy/pandas fixtures of scripts/reference/analytics/make_fixtures.py:
//! (a) buy-and-hold SPY 2015–2024 with ^IRX risk-free, read here from the same real CSVs;
//! (b) the hand-built 10-point example with 3 closed trades. Every metric within 1e-9 relative.

use std::fs;

use pulse_analytics::{
    Analysis, FillRecord, PerformanceInput, RiskFree, Side, forward_fill_onto,
    rf_per_period_from_annual_yield_pct, rf_series_from_yield_pct,
};
use pulse_core::Periodicity;
use pulse_core::jiff::Timestamp;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn day(date: &str) -> Timestamp {
    format!("{date}T00:00:00Z").parse().unwrap()
}

/// `date,value` rows of a shared CSV (header skipped).
fn read_series(rel: &str) -> Vec<(String, f64)> {
    let text = fs::read_to_string(pulse_testkit::shared_file(rel)).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (d, v) = l.split_once(',').unwrap();
            (d.to_string(), v.trim().parse::<f64>().unwrap())
        })
        .collect()
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= 1e-9 * expected.abs() + 1e-15
}

/// Every field of the fixture's `expected` object equals the Rust `Metrics` JSON field of the same
/// name (numbers within 1e-9 relative), and the two records have exactly the same field names.
fn assert_matches(actual: &Value, expected: &Value) {
    let (a, e) = (actual.as_object().unwrap(), expected.as_object().unwrap());
    let mut ak: Vec<_> = a.keys().collect();
    let mut ek: Vec<_> = e.keys().collect();
    ak.sort();
    ek.sort();
    assert_eq!(ak, ek, "metric field names differ from the fixture");
    for (k, ev) in e {
        let av = &a[k];
        match (av, ev) {
            (Value::Number(x), Value::Number(y)) => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                assert!(
                    close(x, y),
                    "{k}: rust {x} vs reference {y} (rel {})",
                    (x - y).abs() / y.abs()
                );
            }
            _ => assert_eq!(av, ev, "{k}"),
        }
    }
}

fn assert_monthly(analysis: &Analysis, expected: &Value) {
    let rows = expected.as_array().unwrap();
    assert_eq!(analysis.monthly.len(), rows.len());
    for (m, row) in analysis.monthly.iter().zip(rows) {
        let row = row.as_array().unwrap();
        assert_eq!(i64::from(m.year), row[0].as_i64().unwrap());
        assert_eq!(i64::from(m.month), row[1].as_i64().unwrap());
        let e = row[2].as_f64().unwrap();
        assert!(close(m.ret, e), "{}-{}: {} vs {e}", m.year, m.month, m.ret);
    }
}

fn assert_yearly(analysis: &Analysis, expected: &Value) {
    let rows = expected.as_array().unwrap();
    assert_eq!(analysis.yearly.len(), rows.len());
    for (y, row) in analysis.yearly.iter().zip(rows) {
        assert_eq!(i64::from(y.year), row[0].as_i64().unwrap());
        let e = row[1].as_f64().unwrap();
        assert!(close(y.ret, e), "{}: {} vs {e}", y.year, y.ret);
    }
}

#[test]
fn spy_buy_and_hold_matches_numpy_pandas() {
    let fx = fixture("spy_buy_hold.json");
    let spy: Vec<_> = read_series("daily-adjclose/SPY.csv")
        .into_iter()
        .filter(|(d, _)| d.as_str() >= "2015-01-02" && d.as_str() <= "2024-12-31")
        .collect();
    let irx: Vec<(Timestamp, f64)> = read_series("daily-adjclose/IRX.csv")
        .into_iter()
        .map(|(d, v)| (day(&d), v))
        .collect();
    let ts: Vec<Timestamp> = spy.iter().map(|(d, _)| day(d)).collect();
    let p0 = spy[0].1;
    let equity: Vec<f64> = spy.iter().map(|(_, p)| 100_000.0 * p / p0).collect();
    let rf: Vec<f64> = forward_fill_onto(&ts, &irx)
        .into_iter()
        .map(|y| rf_per_period_from_annual_yield_pct(y.unwrap(), Periodicity::Daily))
        .collect();
    // The one-call helper the CLI uses gives the same series (IRX starts in 1976: no back-fill).
    assert_eq!(
        rf_series_from_yield_pct(&ts, &irx, Periodicity::Daily).unwrap(),
        rf
    );
    let qty = 100_000.0 / p0;
    assert!(close(qty, fx["inputs"]["shares"].as_f64().unwrap()));
    let last = spy.last().unwrap();
    let fills = [
        FillRecord {
            ts: ts[0],
            symbol: "SPY".into(),
            side: Side::Buy,
            quantity: qty,
            price: p0,
            fee: 0.0,
        },
        FillRecord {
            ts: *ts.last().unwrap(),
            symbol: "SPY".into(),
            side: Side::Sell,
            quantity: qty,
            price: last.1,
            fee: 0.0,
        },
    ];
    let exposure = vec![1.0; ts.len()];
    let a = Analysis::compute(&PerformanceInput {
        timestamps: &ts,
        equity: &equity,
        periodicity: Periodicity::Daily,
        risk_free: RiskFree::PerPeriod(&rf),
        fills: &fills,
        gross_exposure: Some(&exposure),
    })
    .unwrap();
    assert_matches(&serde_json::to_value(&a.metrics).unwrap(), &fx["expected"]);
    assert_monthly(&a, &fx["monthly"]);
    assert_yearly(&a, &fx["yearly"]);
    assert_eq!((a.monthly.len(), a.yearly.len()), (120, 10));
    for (i, v) in fx["drawdown_series_checkpoints"].as_object().unwrap() {
        let i: usize = i.parse().unwrap();
        assert!(
            close(a.drawdown.series[i], v.as_f64().unwrap()),
            "drawdown[{i}]"
        );
    }
    assert_eq!(a.trades.len(), 1);
    assert!(close(a.trades[0].pnl, fx["trade_pnl"][0].as_f64().unwrap()));
    // The single round trip's P&L is the equity gain (fee-free buy and hold).
    assert!(close(a.trades[0].pnl, equity.last().unwrap() - equity[0]));
}

fn hand_input_parts(fx: &Value) -> (Vec<Timestamp>, Vec<f64>, Vec<FillRecord>, Vec<f64>) {
    let inp = &fx["inputs"];
    let ts = inp["dates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| day(d.as_str().unwrap()))
        .collect();
    let eq = inp["equity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let fills = inp["fills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| FillRecord {
            ts: day(f["date"].as_str().unwrap()),
            symbol: f["symbol"].as_str().unwrap().into(),
            side: if f["side"] == "buy" {
                Side::Buy
            } else {
                Side::Sell
            },
            quantity: f["qty"].as_f64().unwrap(),
            price: f["price"].as_f64().unwrap(),
            fee: f["fee"].as_f64().unwrap(),
        })
        .collect();
    let ex = inp["gross_exposure"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    (ts, eq, fills, ex)
}

#[test]
fn hand_example_matches_reference_and_hand_values() {
    let fx = fixture("hand.json");
    let (ts, eq, fills, ex) = hand_input_parts(&fx);
    let input = PerformanceInput {
        timestamps: &ts,
        equity: &eq,
        periodicity: Periodicity::Daily,
        risk_free: RiskFree::Zero,
        fills: &fills,
        gross_exposure: Some(&ex),
    };
    let a = Analysis::compute(&input).unwrap();
    assert_matches(&serde_json::to_value(&a.metrics).unwrap(), &fx["expected"]);
    assert_monthly(&a, &fx["monthly"]);
    assert_yearly(&a, &fx["yearly"]);
    let dd = fx["drawdown_series"].as_array().unwrap();
    for (x, e) in a.drawdown.series.iter().zip(dd) {
        assert!(close(*x, e.as_f64().unwrap()));
    }
    let pnl: Vec<f64> = a.trades.iter().map(|t| t.pnl).collect();
    for (x, e) in pnl.iter().zip(fx["trade_pnl"].as_array().unwrap()) {
        assert!(close(*x, e.as_f64().unwrap()));
    }

    // The values worked out by hand in make_fixtures.py's docstring.
    let m = &a.metrics;
    let sqrt252 = 252f64.sqrt();
    assert!(close(m.volatility.unwrap(), 7.0 / 60.0 * sqrt252));
    assert!(close(m.sharpe.unwrap(), 2.0 / 21.0 * sqrt252));
    assert!(close(
        m.sortino.unwrap(),
        (252.0 / 90.0) / ((0.06f64 / 9.0).sqrt() * sqrt252)
    ));
    assert!(close(m.max_drawdown.unwrap(), 0.208));
    assert!(close(m.var_95.unwrap(), 0.16) && close(m.cvar_95.unwrap(), 0.2));
    assert_eq!((m.closed_trades, m.wins, m.losses, m.fills), (3, 2, 1, 7));
    assert!(close(pnl[0], 57.90) && close(pnl[1], -62.06) && close(pnl[2], 58.74));
    assert!(close(m.profit_factor.unwrap(), 116.64 / 62.06));
    assert!(close(m.expectancy.unwrap(), 54.58 / 3.0));
    assert!(close(m.fees_paid, 0.001 * 5820.0));
    assert!(close(m.exposure_mean.unwrap(), 0.063) && close(m.time_in_market.unwrap(), 0.8));
    assert_eq!(m.max_drawdown_recovery, Some(day("2024-01-09")));

    // Constant 5 % p.a. risk-free variant.
    let a5 = Analysis::compute(&PerformanceInput {
        risk_free: RiskFree::AnnualConstant(0.05),
        ..input
    })
    .unwrap();
    assert!(close(
        a5.metrics.sharpe.unwrap(),
        fx["expected_rf5"]["sharpe"].as_f64().unwrap()
    ));
    assert!(close(
        a5.metrics.sortino.unwrap(),
        fx["expected_rf5"]["sortino"].as_f64().unwrap()
    ));
}
