//! Walk-forward folds (anchored, rolling, parsing) and the driver on real SPY daily returns with a
//! momentum rule, checked against a brute-force choice of the best lookback per train window.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use pulse_search::{
    ParamSpace, Strategy, TpeConfig, Trial, WalkForwardSpec, WindowMode, walk_forward,
};

fn spy_returns() -> Vec<f64> {
    let text =
        std::fs::read_to_string(pulse_testkit::shared_file("daily-adjclose/SPY.csv")).unwrap();
    let closes: Vec<f64> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').nth(1).unwrap().trim().parse().unwrap())
        .collect();
    closes.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
}

/// Mean daily return over `range` of holding SPY on day t iff the previous `lookback` returns sum
/// above `threshold` (in bp); uses only returns before t, so it can look before `range.start`.
fn momentum(
    r: &[f64],
    prefix: &[f64],
    lookback: usize,
    threshold_bp: f64,
    range: Range<usize>,
) -> f64 {
    let mut sum = 0.0;
    let n = range.len() as f64;
    for t in range {
        if t >= lookback && prefix[t] - prefix[t - lookback] > threshold_bp * 1e-4 {
            sum += r[t];
        }
    }
    sum / n
}

#[test]
fn folds_rolling_anchored_and_parse() {
    let spec = WalkForwardSpec::parse("train=504,test=126").unwrap();
    assert_eq!(spec, WalkForwardSpec::rolling(504, 126));
    let folds = spec.folds(1000).unwrap();
    assert_eq!(folds.len(), 3);
    assert_eq!(
        (folds[0].train.clone(), folds[0].test.clone()),
        (0..504, 504..630)
    );
    assert_eq!(
        (folds[2].train.clone(), folds[2].test.clone()),
        (252..756, 756..882)
    );
    let anchored = WalkForwardSpec::parse("train=504, test=126, mode=anchored").unwrap();
    assert_eq!(anchored.mode, WindowMode::Anchored);
    let a = anchored.folds(1000).unwrap();
    assert_eq!((a[2].train.clone(), a[2].test.clone()), (0..756, 756..882));
    // Test windows tile: each starts where the previous ended; train always ends where test starts.
    for f in a.iter().chain(&folds) {
        assert_eq!(f.train.end, f.test.start);
    }
    assert!(a.windows(2).all(|w| w[0].test.end == w[1].test.start));
    let stepped = WalkForwardSpec::parse("train=100,test=50,step=25")
        .unwrap()
        .folds(300)
        .unwrap();
    assert_eq!(stepped.len(), 7);
    assert_eq!(stepped[6].test, 250..300);
    // Errors name the problem.
    for bad in [
        "train=504",
        "test=5",
        "train=0,test=5",
        "train=10,test=5,mode=expanding",
        "train=x,test=1",
        "train=1,test=1,foo=2",
    ] {
        assert!(WalkForwardSpec::parse(bad).is_err(), "{bad}");
    }
    let e = spec.folds(600).unwrap_err().to_string();
    assert!(e.contains("600") && e.contains("630"), "{e}");
}

#[test]
fn walk_forward_on_spy_picks_the_train_optimum_and_reports_oos() {
    let r = spy_returns();
    let mut prefix = vec![0.0];
    for x in &r {
        prefix.push(prefix.last().unwrap() + x);
    }
    let space = ParamSpace::parse(
        &["lookback=5:120:5", "threshold_bp=-50:50:25"],
        &[] as &[&str],
    )
    .unwrap();
    let folds = WalkForwardSpec::anchored(2520, 504).folds(r.len()).unwrap();
    assert!(folds.len() >= 10);
    let objective = |p: &pulse_search::Point, range: Range<usize>| {
        Trial::new(momentum(
            &r,
            &prefix,
            p.int("lookback").unwrap() as usize,
            p.get("threshold_bp").unwrap(),
            range,
        ))
    };
    let seen = Mutex::new(vec![0u64; folds.len()]);
    let out = walk_forward(
        &space,
        &Strategy::Grid,
        u64::MAX,
        &folds,
        objective,
        |fold, _| seen.lock().unwrap()[fold] += 1,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(!out.cancelled);
    assert_eq!(out.folds.len(), folds.len());
    assert_eq!(
        out.oos_ranges(),
        folds.iter().map(|f| f.test.clone()).collect::<Vec<_>>()
    );
    let grid: Vec<_> = space.grid().unwrap().map(|(_, p)| p).collect();
    for (res, trials) in out.folds.iter().zip(seen.into_inner().unwrap()) {
        assert_eq!(trials, grid.len() as u64);
        assert_eq!(res.trials, grid.len() as u64);
        // Brute force: best in-sample score (first on ties), then its OOS score.
        let mut best = (f64::NEG_INFINITY, 0);
        for (i, p) in grid.iter().enumerate() {
            let s = objective(p, res.fold.train.clone()).score;
            if s > best.0 {
                best = (s, i);
            }
        }
        assert_eq!(res.params, grid[best.1], "fold {}", res.fold.index);
        assert_eq!(res.in_sample.score, best.0);
        assert_eq!(
            res.out_of_sample.score,
            objective(&grid[best.1], res.fold.test.clone()).score
        );
    }
    let (is, oos) = out.mean_scores();
    let n = out.folds.len() as f64;
    assert_eq!(
        is,
        out.folds.iter().map(|f| f.in_sample.score).sum::<f64>() / n
    );
    assert_eq!(
        oos,
        out.folds.iter().map(|f| f.out_of_sample.score).sum::<f64>() / n
    );
    eprintln!(
        "SPY momentum walk-forward: {} folds, mean daily return IS {:.3} bp, OOS {:.3} bp",
        out.folds.len(),
        is * 1e4,
        oos * 1e4
    );
    // JSON for --json output: params as a name → value map.
    let json = serde_json::to_value(&out.folds[0]).unwrap();
    assert_eq!(
        json["params"]["lookback"].as_f64(),
        out.folds[0].params.get("lookback")
    );
    assert_eq!(
        json["fold"]["test"]["start"].as_u64(),
        Some(out.folds[0].fold.test.start as u64)
    );
    // The in-sample optimum overstates: the mean IS score is above the mean OOS score.
    assert!(is > oos);
}

#[test]
fn walk_forward_with_tpe_stops_on_cancel_keeping_completed_folds() {
    let r = spy_returns();
    let mut prefix = vec![0.0];
    for x in &r {
        prefix.push(prefix.last().unwrap() + x);
    }
    let space = ParamSpace::parse(
        &["lookback=2:200:1", "threshold_bp=-100:100"],
        &[] as &[&str],
    )
    .unwrap();
    let folds = WalkForwardSpec::rolling(1260, 252).folds(r.len()).unwrap();
    let cancel = AtomicBool::new(false);
    let out = walk_forward(
        &space,
        &Strategy::Tpe(TpeConfig::seeded(3)),
        40,
        &folds,
        |p, range| {
            Trial::new(momentum(
                &r,
                &prefix,
                p.int("lookback").unwrap() as usize,
                p.get("threshold_bp").unwrap(),
                range,
            ))
        },
        |fold, _| {
            if fold == 2 {
                cancel.store(true, Ordering::SeqCst);
            }
        },
        &cancel,
    )
    .unwrap();
    assert!(out.cancelled);
    assert_eq!(out.folds.len(), 2);
    for f in &out.folds {
        assert_eq!(f.trials, 40);
        assert!(f.params.get("threshold_bp").unwrap().abs() <= 100.0);
    }
}
