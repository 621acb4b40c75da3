#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The evaluation's figures against a hand computation on a fixed set of trades, the entry rule
//! (threshold, quantile floor, one position per symbol), the split's embargo and purging, and the
//! label file's round trip.

use pulse_core::jiff::Timestamp;
use pulse_ml::eval::{EntryRule, Trade, equity_curve, metrics, select_trades};
use pulse_ml::labels::BarrierLabel;
use pulse_ml::split::{Part, SplitConfig, TimeSplit};

fn ts(m: i64) -> Timestamp {
    Timestamp::from_second(1_617_321_600 + 60 * m).unwrap()
}

fn trade(exit_min: i64, net: f64) -> Trade {
    Trade {
        symbol: "X".into(),
        decision_ts: ts(exit_min - 5),
        exit_ts: ts(exit_min),
        entry: 100.0,
        exit: 100.0,
        barrier: 0,
        bars_held: 5,
        predicted: 0.01,
        predicted_quantile: None,
        net_return: net,
    }
}

#[test]
fn figures_equal_a_hand_computation() {
    let nets = [0.02, -0.01, 0.005, -0.004, 0.0, 0.012];
    let trades: Vec<Trade> = nets
        .iter()
        .enumerate()
        .map(|(i, &r)| trade(10 * (i as i64 + 1), r))
        .collect();
    let m = metrics(&trades);
    // Gross profit 0.02 + 0.005 + 0.012 = 0.037; gross loss 0.01 + 0.004 = 0.014.
    assert_eq!(m.trades, 6);
    assert_eq!(m.wins, 3);
    assert!((m.gross_profit - 0.037).abs() < 1e-15);
    assert!((m.gross_loss - 0.014).abs() < 1e-15);
    assert!((m.profit_factor.unwrap() - 0.037 / 0.014).abs() < 1e-12);
    // Expectancy: (0.037 − 0.014) / 6 = 0.0038333… → 0.38333 %.
    assert!((m.expectancy_pct.unwrap() - 0.023 / 6.0 * 100.0).abs() < 1e-12);
    assert!((m.hit_rate.unwrap() - 0.5).abs() < 1e-15);
    assert!((m.total_net_return - 0.023).abs() < 1e-15);
    // Equity 1.02, 1.01, 1.015, 1.011, 1.011, 1.023: the deepest fall is 1.02 → 1.01.
    let curve = equity_curve(&trades);
    let eq: Vec<f64> = curve.iter().map(|p| p.equity).collect();
    for (a, b) in eq.iter().zip([1.02, 1.01, 1.015, 1.011, 1.011, 1.023]) {
        assert!((a - b).abs() < 1e-12, "{eq:?}");
    }
    assert!((m.max_drawdown - 0.01).abs() < 1e-12);
    // No losing trade: no profit factor; no trade: no expectancy.
    assert_eq!(metrics(&trades[..1]).profit_factor, None);
    let empty = metrics(&[]);
    assert_eq!(
        (empty.trades, empty.expectancy_pct, empty.hit_rate),
        (0, None, None)
    );
}

fn label(t: usize, held: usize, entry: f64, exit: f64) -> BarrierLabel {
    BarrierLabel {
        label: if exit > entry { 1 } else { -1 },
        exit_index: t + held,
        exit_ts: ts((t + held) as i64),
        entry,
        exit,
        ret: exit / entry - 1.0,
        bars_held: held,
        mae: 0.0,
    }
}

#[test]
fn entries_follow_the_rule_one_position_at_a_time() {
    let n = 12;
    let stamps: Vec<Timestamp> = (0..n as i64).map(ts).collect();
    let labels: Vec<Option<BarrierLabel>> = (0..n)
        .map(|t| (t + 3 < n).then(|| label(t, 3, 100.0, 101.0 + t as f64 * 0.1)))
        .collect();
    let er = vec![0.002; n];
    let rule = EntryRule::default();
    let trades = select_trades("X", &stamps, &labels, &er, None, |_| true, &rule).unwrap();
    // Decisions at 0, 3, 6 (each the previous exit bar), then 9 has no label window left? 9+3=12
    // is past the end → no label; so 0, 3, 6 only.
    let at: Vec<Timestamp> = trades.iter().map(|t| t.decision_ts).collect();
    assert_eq!(at, vec![ts(0), ts(3), ts(6)]);
    let t0 = &trades[0];
    assert!((t0.net_return - (101.0 * 0.999 / (100.0 * 1.001) - 1.0)).abs() < 1e-15);
    // At the threshold itself: no entry (strictly above).
    let at_thr = vec![0.001; n];
    assert!(
        select_trades("X", &stamps, &labels, &at_thr, None, |_| true, &rule)
            .unwrap()
            .is_empty()
    );
    // The quantile floor filters: only rows whose quantile is above it.
    let q: Vec<f64> = (0..n).map(|i| if i == 4 { 0.0 } else { -0.01 }).collect();
    let floor = EntryRule {
        quantile_floor: Some(-0.005),
        ..rule
    };
    let trades = select_trades("X", &stamps, &labels, &er, Some(&q), |_| true, &floor).unwrap();
    assert_eq!(trades.len(), 1);
    assert_eq!(trades[0].decision_ts, ts(4));
    // Eligibility: only rows 5.. may open.
    let trades = select_trades("X", &stamps, &labels, &er, None, |i| i >= 5, &rule).unwrap();
    assert_eq!(trades[0].decision_ts, ts(5));
    // Mismatched lengths are refused.
    assert!(select_trades("X", &stamps, &labels, &er[..3], None, |_| true, &rule).is_err());
}

#[test]
fn the_split_purges_labels_across_boundaries_and_embargoes() {
    // 1000 minutes; training ends at 600, validation 620..800, test 820..1000.
    let cfg = SplitConfig {
        embargo_minutes: 20,
        ..SplitConfig::default()
    };
    let s = TimeSplit::new(ts(0), ts(999), 60, &cfg).unwrap();
    assert_eq!(s.train.end, ts(600));
    assert_eq!(s.validation.start, ts(620));
    assert_eq!(s.validation.end, ts(800));
    assert_eq!(s.test.start, ts(820));
    assert_eq!(s.test.end, ts(1000));
    let l = |t: usize, held: usize| label(t, held, 100.0, 101.0);
    // A training row whose label closes exactly at the boundary is kept; one bar later, purged.
    assert_eq!(s.part(ts(589), Some(&l(589, 10))), Some(Part::Train));
    assert_eq!(s.part(ts(590), Some(&l(590, 10))), None);
    // The embargo gap belongs to nobody.
    assert_eq!(s.part(ts(610), Some(&l(610, 1))), None);
    assert_eq!(s.part(ts(620), Some(&l(620, 1))), Some(Part::Validation));
    assert_eq!(s.part(ts(830), Some(&l(830, 60))), Some(Part::Test));
    assert_eq!(s.part(ts(990), Some(&l(990, 10))), None);
    assert_eq!(s.part(ts(100), None), None);
    // An empty period is refused.
    let bad = SplitConfig {
        embargo_minutes: 500,
        ..cfg
    };
    assert!(TimeSplit::new(ts(0), ts(999), 60, &bad).is_err());
}

#[test]
fn labels_round_trip_through_their_file() {
    let labels = vec![
        None,
        Some(label(1, 4, 100.0, 98.5)),
        None,
        Some(label(3, 1, 7.25, 7.5)),
    ];
    let mut buf = Vec::new();
    pulse_ml::store::write_labels(&labels, &mut buf).unwrap();
    assert_eq!(
        pulse_ml::store::read_labels(buf.as_slice()).unwrap(),
        labels
    );
    // A truncated file is an error, not a panic.
    assert!(pulse_ml::store::read_labels(&buf[..buf.len() - 3]).is_err());
    assert!(pulse_ml::store::read_labels(&b"nope"[..]).is_err());
}
