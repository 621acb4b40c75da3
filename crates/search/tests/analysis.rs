//! Top-N, parameter importance and heatmaps over a full grid of a SPY momentum rule (real daily
//! returns), checked against straightforward recomputations.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use pulse_search::{
    Aggregate, ParamSpace, Strategy, TopTrials, Trial, TrialRecord, heatmap, param_importance,
    run_search, top_trials,
};

fn spy_returns() -> Vec<f64> {
    let text =
        std::fs::read_to_string(pulse_testkit::shared_file("daily-adjclose/SPY.csv")).unwrap();
    let closes: Vec<f64> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    closes.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
}

fn sweep() -> (ParamSpace, Vec<TrialRecord>, TopTrials) {
    let r = spy_returns();
    let mut prefix = vec![0.0];
    for x in &r {
        prefix.push(prefix.last().unwrap() + x);
    }
    let space = ParamSpace::parse(
        &["lookback=5:200:5", "threshold_bp=-100:100:10", "noise=0:1"],
        &[] as &[&str],
    )
    .unwrap();
    let recs = Mutex::new(Vec::new());
    let top = Mutex::new(TopTrials::new(10));
    // "noise" is continuous: grid search cannot use it, so run random search (seeded) over 3000 points.
    run_search(
        &space,
        &Strategy::Random { seed: 9 },
        3000,
        &[],
        |p| {
            let (l, th) = (
                p.int("lookback").unwrap() as usize,
                p.get("threshold_bp").unwrap() * 1e-4,
            );
            let mut sum = 0.0;
            for t in 200..r.len() {
                if prefix[t] - prefix[t - l] > th {
                    sum += r[t];
                }
            }
            // Annualized mean return in %, plus a tiny dependence on the irrelevant "noise" parameter.
            Trial::new(
                sum / (r.len() - 200) as f64 * 252.0 * 100.0 + 1e-6 * p.get("noise").unwrap(),
            )
        },
        |rec| {
            recs.lock().unwrap().push(rec.clone());
            top.lock().unwrap().offer(rec);
        },
        &AtomicBool::new(false),
    )
    .unwrap();
    (space, recs.into_inner().unwrap(), top.into_inner().unwrap())
}

#[test]
fn top_n_importance_and_heatmap_match_recomputation() {
    let (space, recs, top) = sweep();
    assert_eq!(recs.len(), 3000);

    // Top-N: streaming accumulator == sorting everything.
    let mut sorted = recs.clone();
    sorted.sort_by(|a, b| {
        b.trial
            .score
            .total_cmp(&a.trial.score)
            .then(a.number.cmp(&b.number))
    });
    let top = top.into_sorted();
    assert_eq!(top.len(), 10);
    assert_eq!(top, sorted[..10].to_vec());
    assert_eq!(top_trials(&recs, 10), top);

    // Importance: ε² by a direct group-by for the stepped parameters.
    let imp = param_importance(&space, &recs);
    let mean = recs.iter().map(|r| r.trial.score).sum::<f64>() / recs.len() as f64;
    let total: f64 = recs.iter().map(|r| (r.trial.score - mean).powi(2)).sum();
    for (j, name) in ["lookback", "threshold_bp"].iter().enumerate() {
        let mut groups: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
        for r in &recs {
            let g = groups.entry(r.point.values()[j] as i64).or_default();
            g.0 += r.trial.score;
            g.1 += 1.0;
        }
        let between: f64 = groups
            .values()
            .map(|(s, c)| c * (s / c - mean).powi(2))
            .sum();
        let k = groups.len() as f64;
        let within: f64 = recs
            .iter()
            .map(|r| {
                let (s, c) = groups[&(r.point.values()[j] as i64)];
                (r.trial.score - s / c).powi(2)
            })
            .sum();
        let eps2 = ((between - (k - 1.0) * within / (3000.0 - k)) / total).max(0.0);
        assert_eq!(imp[j].0, *name);
        assert!(
            (imp[j].1 - eps2).abs() < 1e-9,
            "{name}: {} vs {eps2}",
            imp[j].1
        );
    }
    eprintln!("importance: {imp:?}");
    assert_eq!(imp[2].0, "noise");
    // The lookback drives a momentum rule; the "noise" parameter (1e-6 effect) explains nothing.
    assert!(imp[0].1 > 0.9, "{imp:?}");
    assert!(imp[2].1 < 0.002, "{imp:?}");

    // Heatmap (max): every cell equals the best trial with that (lookback, threshold) pair.
    let h = heatmap(&space, &recs, "lookback", "threshold_bp", Aggregate::Max).unwrap();
    assert_eq!(h.x.values.len(), 40);
    assert_eq!(h.y.values.len(), 21);
    assert!(!h.x.binned);
    let mut want: BTreeMap<(i64, i64), f64> = BTreeMap::new();
    for r in &recs {
        let k = (r.point.values()[0] as i64, r.point.values()[1] as i64);
        let e = want.entry(k).or_insert(f64::NEG_INFINITY);
        *e = e.max(r.trial.score);
    }
    let mut filled = 0;
    for (iy, y) in h.y.values.iter().enumerate() {
        for (ix, x) in h.x.values.iter().enumerate() {
            let c = iy * h.x.values.len() + ix;
            assert_eq!(
                h.cells[c],
                want.get(&(*x as i64, *y as i64)).copied(),
                "cell ({x}, {y})"
            );
            filled += usize::from(h.cells[c].is_some());
        }
    }
    assert_eq!(filled, want.len());
    assert_eq!(h.counts.iter().sum::<u64>(), 3000);
    // Mean heatmap over a continuous axis is binned into 50 bins.
    let hm = heatmap(&space, &recs, "noise", "lookback", Aggregate::Mean).unwrap();
    assert!(hm.x.binned && hm.x.values.len() == 50);
    assert_eq!(hm.counts.iter().sum::<u64>(), 3000);
    assert!(heatmap(&space, &recs, "nope", "lookback", Aggregate::Max).is_err());
}
