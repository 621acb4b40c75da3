#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Property tests and degenerate inputs of pulse-analytics.

use proptest::prelude::*;
use pulse_analytics::{
    Analysis, AnalyticsError, Drawdown, FillRecord, Metrics, PerformanceInput, RiskFree,
    SearchMetrics, Side, closed_trades,
};
use pulse_core::Periodicity;
use pulse_core::jiff::Timestamp;

fn days(n: usize) -> Vec<Timestamp> {
    (0..n)
        .map(|i| Timestamp::from_second(1_700_000_000 + i as i64 * 86_400).unwrap())
        .collect()
}

fn input<'a>(ts: &'a [Timestamp], eq: &'a [f64]) -> PerformanceInput<'a> {
    PerformanceInput {
        timestamps: ts,
        equity: eq,
        periodicity: Periodicity::Daily,
        risk_free: RiskFree::Zero,
        fills: &[],
        gross_exposure: None,
    }
}

/// Positive equity curves built from bounded period returns (−60 % … +60 %).
fn equity_curve() -> impl Strategy<Value = Vec<f64>> {
    (1.0f64..1e7, prop::collection::vec(-0.6f64..0.6, 0..300)).prop_map(|(start, rs)| {
        let mut e = vec![start];
        for r in rs {
            let last = *e.last().unwrap();
            e.push(last * (1.0 + r));
        }
        e
    })
}

proptest! {
    #[test]
    fn drawdown_is_a_fraction(eq in equity_curve()) {
        let d = Drawdown::analyze(&eq);
        prop_assert!((0.0..=1.0).contains(&d.max_drawdown));
        prop_assert!(d.series.iter().all(|x| (0.0..=1.0).contains(x)));
        prop_assert_eq!(d.series.len(), eq.len());
        if let (Some(p), Some(t)) = (d.peak_index, d.trough_index) {
            prop_assert!(p < t);
            prop_assert!((1.0 - eq[t] / eq[p] - d.max_drawdown).abs() < 1e-12);
        }
    }

    #[test]
    fn sharpe_and_sortino_are_scale_invariant(eq in equity_curve(), k in 1e-3f64..1e3) {
        let ts = days(eq.len());
        let scaled: Vec<f64> = eq.iter().map(|e| e * k).collect();
        let a = Metrics::compute(&input(&ts, &eq)).unwrap();
        let b = Metrics::compute(&input(&ts, &scaled)).unwrap();
        match (a.sharpe, b.sharpe) {
            (Some(x), Some(y)) => prop_assert!((x - y).abs() <= 1e-9 * x.abs().max(1e-9)),
            (None, None) => {}
            (x, y) => prop_assert!(false, "sharpe {:?} vs {:?}", x, y),
        }
        if let (Some(x), Some(y)) = (a.sortino, b.sortino) {
            prop_assert!((x - y).abs() <= 1e-9 * x.abs().max(1e-9));
        }
        prop_assert!((a.max_drawdown.unwrap() - b.max_drawdown.unwrap()).abs() < 1e-12);
    }

    #[test]
    fn var_not_above_cvar(eq in equity_curve()) {
        let ts = days(eq.len());
        let m = Metrics::compute(&input(&ts, &eq)).unwrap();
        match (m.var_95, m.cvar_95) {
            (Some(v), Some(c)) => prop_assert!(v <= c + 1e-15, "VaR {} > CVaR {}", v, c),
            (None, None) => prop_assert!(eq.len() < 2),
            other => prop_assert!(false, "{:?}", other),
        }
    }

    /// The search figures are the full analysis's, bit for bit, under every risk-free choice,
    /// with and without trade statistics.
    #[test]
    fn search_metrics_equal_the_full_analysis(
        eq in equity_curve(),
        rate in 0.0f64..0.08,
        trades in prop::collection::vec((1.0f64..50.0, 5.0f64..500.0, 5.0f64..500.0), 0..6),
    ) {
        let ts = days(eq.len());
        let rf: Vec<f64> = (0..eq.len()).map(|i| rate / 252.0 * (1.0 + (i % 7) as f64 / 10.0)).collect();
        let t = |i: usize| ts.get(i.min(ts.len().saturating_sub(1))).copied().unwrap_or(Timestamp::UNIX_EPOCH);
        let mut fills = Vec::new();
        for (k, &(q, buy, sell)) in trades.iter().enumerate() {
            fills.push(FillRecord { ts: t(2 * k), symbol: "X".into(), side: Side::Buy, quantity: q, price: buy, fee: 0.1 });
            fills.push(FillRecord { ts: t(2 * k + 1), symbol: "X".into(), side: Side::Sell, quantity: q, price: sell, fee: 0.1 });
        }
        for risk_free in [RiskFree::Zero, RiskFree::AnnualConstant(rate), RiskFree::PerPeriod(&rf)] {
            let inp = PerformanceInput { risk_free, fills: &fills, ..input(&ts, &eq) };
            let full = Analysis::compute(&inp).unwrap();
            let mut returns = vec![f64::NAN; 3];
            let fast = SearchMetrics::compute(&inp, true, &mut returns).unwrap();
            let m = &full.metrics;
            let bits = |x: Option<f64>| x.map(f64::to_bits);
            prop_assert_eq!(bits(fast.sharpe), bits(m.sharpe));
            prop_assert_eq!(bits(fast.sortino), bits(m.sortino));
            prop_assert_eq!(bits(fast.cagr), bits(m.cagr));
            prop_assert_eq!(bits(fast.max_drawdown), bits(m.max_drawdown));
            prop_assert_eq!(bits(fast.calmar), bits(m.calmar));
            prop_assert_eq!(bits(fast.profit_factor), bits(m.profit_factor));
            prop_assert_eq!(fast.fills, m.fills);
            prop_assert_eq!(&returns, &full.returns);
            let lean = SearchMetrics::compute(&inp, false, &mut returns).unwrap();
            prop_assert_eq!(lean.profit_factor, None);
            prop_assert_eq!(bits(lean.sharpe), bits(m.sharpe));
        }
    }

    /// Buying and selling the same quantity round-trips realize exactly the price difference
    /// minus fees, whatever the lot split.
    #[test]
    fn fifo_conserves_pnl(
        buys in prop::collection::vec((0.1f64..100.0, 1.0f64..500.0, 0.0f64..2.0), 1..10),
        exit_price in 1.0f64..500.0,
        exit_fee in 0.0f64..5.0,
    ) {
        let t = |i: usize| Timestamp::from_second(i as i64).unwrap();
        let mut fills: Vec<FillRecord> = buys.iter().enumerate().map(|(i, &(q, p, f))| FillRecord {
            ts: t(i), symbol: "X".into(), side: Side::Buy, quantity: q, price: p, fee: f,
        }).collect();
        let total_q: f64 = buys.iter().map(|b| b.0).sum();
        fills.push(FillRecord {
            ts: t(buys.len()), symbol: "X".into(), side: Side::Sell, quantity: total_q,
            price: exit_price, fee: exit_fee,
        });
        let trades = closed_trades(&fills).unwrap();
        prop_assert_eq!(trades.len(), 1);
        let cost: f64 = buys.iter().map(|b| b.0 * b.1).sum();
        let fees: f64 = buys.iter().map(|b| b.2).sum::<f64>() + exit_fee;
        let expected = exit_price * total_q - cost - fees;
        prop_assert!((trades[0].pnl - expected).abs() <= 1e-9 * (cost + fees).max(1.0));
    }
}

#[test]
fn empty_and_one_point_never_panic() {
    let m = Metrics::compute(&input(&[], &[])).unwrap();
    assert_eq!(m.points, 0);
    assert_eq!(
        (m.total_return, m.cagr, m.sharpe, m.max_drawdown, m.var_95),
        (None, None, None, None, None)
    );
    let ts = days(1);
    let m = Metrics::compute(&input(&ts, &[5.0])).unwrap();
    assert_eq!(m.total_return, Some(0.0));
    assert_eq!(
        (m.cagr, m.volatility, m.sharpe, m.sortino, m.turnover),
        (None, None, None, None, None)
    );
    assert_eq!(
        (m.max_drawdown, m.calmar, m.best_period, m.cvar_95),
        (Some(0.0), None, None, None)
    );
    assert_eq!(
        (m.win_rate, m.profit_factor, m.expectancy),
        (None, None, None)
    );
    assert_eq!(m.fees_paid, 0.0);
    let json = serde_json::to_value(&m).unwrap();
    assert!(json["sharpe"].is_null() && json["profit_factor"].is_null());
}

#[test]
fn zero_variance_gives_no_sharpe() {
    let ts = days(30);
    let flat = vec![100.0; 30];
    let m = Metrics::compute(&input(&ts, &flat)).unwrap();
    assert_eq!((m.sharpe, m.sortino, m.calmar), (None, None, None));
    assert_eq!(
        (m.volatility, m.max_drawdown, m.var_95),
        (Some(0.0), Some(0.0), Some(0.0))
    );
    // Constant growth at exactly 1 % per period: rounding noise must not produce a huge Sharpe.
    let grow: Vec<f64> = (0..30).map(|i| 100.0 * 1.01f64.powi(i)).collect();
    let m = Metrics::compute(&input(&ts, &grow)).unwrap();
    assert_eq!(m.sharpe, None);
    assert_eq!(m.sortino, None, "no period below rf = 0");
}

#[test]
fn invalid_input_is_an_error_naming_the_field() {
    let ts = days(3);
    let err = Metrics::compute(&input(&ts, &[1.0, 2.0])).unwrap_err();
    assert_eq!(
        err,
        AnalyticsError::LengthMismatch {
            field: "timestamps",
            expected: 2,
            got: 3
        }
    );
    let err = Metrics::compute(&input(&ts, &[1.0, 0.0, 2.0])).unwrap_err();
    assert!(err.to_string().contains("equity[1]"), "{err}");
    let rf = [0.0; 2];
    let eq = [1.0, 1.1, 1.2];
    let err = Metrics::compute(&PerformanceInput {
        risk_free: RiskFree::PerPeriod(&rf),
        ..input(&ts, &eq)
    })
    .unwrap_err();
    assert!(err.to_string().contains("risk_free"), "{err}");
    let back = [ts[1], ts[0], ts[2]];
    let err = Metrics::compute(&input(&back, &eq)).unwrap_err();
    assert_eq!(
        err,
        AnalyticsError::NotChronological {
            field: "timestamps",
            index: 1
        }
    );
    let bad_fill = [FillRecord {
        ts: ts[0],
        symbol: "X".into(),
        side: Side::Buy,
        quantity: -1.0,
        price: 1.0,
        fee: 0.0,
    }];
    let err = Metrics::compute(&PerformanceInput {
        fills: &bad_fill,
        ..input(&ts, &eq)
    })
    .unwrap_err();
    assert!(err.to_string().contains("fills.quantity[0]"), "{err}");
}

#[test]
fn profit_factor_infinity_serializes_as_string() {
    let ts = days(3);
    let eq = [100.0, 101.0, 102.0];
    let fills = [
        FillRecord {
            ts: ts[0],
            symbol: "X".into(),
            side: Side::Buy,
            quantity: 1.0,
            price: 10.0,
            fee: 0.0,
        },
        FillRecord {
            ts: ts[2],
            symbol: "X".into(),
            side: Side::Sell,
            quantity: 1.0,
            price: 12.0,
            fee: 0.0,
        },
    ];
    let a = Analysis::compute(&PerformanceInput {
        fills: &fills,
        ..input(&ts, &eq)
    })
    .unwrap();
    assert_eq!(a.metrics.profit_factor, Some(f64::INFINITY));
    let json = serde_json::to_value(&a.metrics).unwrap();
    assert_eq!(json["profit_factor"], "inf");
    assert_eq!(json["win_rate"], 1.0);
    assert_eq!(json["start"], "2023-11-14T22:13:20Z");
    // Round trip through JSON (how `pulse runs` reads stored metrics back).
    let back: Metrics = serde_json::from_value(json).unwrap();
    assert_eq!(back, a.metrics);
    let mut bad = serde_json::to_value(&a.metrics).unwrap();
    bad["profit_factor"] = "lots".into();
    assert!(serde_json::from_value::<Metrics>(bad).is_err());
}
