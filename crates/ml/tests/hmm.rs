#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! pulse_ml::hmm properties: parameter recovery on data drawn from a known 2-state model,
//! filtered probabilities that ignore the future, stable labels (sorted by mean), monotone EM,
//! input checks. (Agreement with hmmlearn is in hmm_reference.rs.)

mod common;

use pulse_ml::MlError;
use pulse_ml::hmm::{self, FitConfig, GaussianHmm};

/// SplitMix64 uniforms and Box-Muller normals.
struct Rng(u64);
impl Rng {
    fn unif(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unif().max(1e-300), self.unif());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// `n` draws from a model (returns observations and true states).
fn sample(m: &GaussianHmm, n: usize, seed: u64) -> (Vec<f64>, Vec<usize>) {
    let k = m.n_states();
    let mut r = Rng(seed);
    let pick = |r: &mut Rng, p: &[f64]| {
        let u = r.unif();
        let mut acc = 0.0;
        for (i, &q) in p.iter().enumerate() {
            acc += q;
            if u < acc {
                return i;
            }
        }
        p.len() - 1
    };
    let mut s = pick(&mut r, &m.startprob);
    let mut xs = Vec::with_capacity(n);
    let mut ss = Vec::with_capacity(n);
    for _ in 0..n {
        xs.push(m.means[s] + m.variances[s].sqrt() * r.normal());
        ss.push(s);
        s = pick(&mut r, &m.transmat[s * k..(s + 1) * k]);
    }
    (xs, ss)
}

fn truth() -> GaussianHmm {
    GaussianHmm::try_new(
        vec![0.5, 0.5],
        vec![0.97, 0.03, 0.05, 0.95],
        vec![1.0, 3.0],
        vec![0.25, 1.0],
    )
    .unwrap()
}

#[test]
fn recovers_a_known_two_state_model_from_quantile_init() {
    let (x, states) = sample(&truth(), 20_000, 42);
    let init = GaussianHmm::init_quantiles(&x, 2).unwrap();
    let (m, report) = hmm::fit(&x, &init, &FitConfig::default()).unwrap();
    assert!(report.converged, "{report:?}");
    assert!((m.means[0] - 1.0).abs() < 0.05, "{m:?}");
    assert!((m.means[1] - 3.0).abs() < 0.05, "{m:?}");
    assert!((m.variances[0] - 0.25).abs() < 0.03, "{m:?}");
    assert!((m.variances[1] - 1.0).abs() < 0.1, "{m:?}");
    assert!((m.transmat[0] - 0.97).abs() < 0.01, "{m:?}");
    assert!((m.transmat[3] - 0.95).abs() < 0.015, "{m:?}");
    // EM never lowers the likelihood.
    for w in report.history.windows(2) {
        assert!(w[1] >= w[0] - 1e-7, "{:?}", report.history);
    }
    // Viterbi recovers most true states; filtered argmax a bit fewer.
    let (_, path) = m.viterbi(&x).unwrap();
    let hit = path.iter().zip(&states).filter(|(a, b)| a == b).count();
    assert!(hit as f64 / x.len() as f64 > 0.9, "viterbi accuracy {hit}");
    let filt = m.predict_filtered(&x).unwrap();
    let hit = filt.iter().zip(&states).filter(|(a, b)| a == b).count();
    assert!(
        hit as f64 / x.len() as f64 > 0.85,
        "filtered accuracy {hit}"
    );
}

#[test]
fn states_are_sorted_by_mean_whatever_the_initial_order() {
    let (x, _) = sample(&truth(), 5_000, 7);
    let swapped = GaussianHmm::try_new(
        vec![0.5, 0.5],
        vec![0.9, 0.1, 0.1, 0.9],
        vec![3.5, 0.5],
        vec![1.0, 1.0],
    )
    .unwrap();
    let (a, _) = hmm::fit(&x, &swapped, &FitConfig::default()).unwrap();
    let (b, _) = hmm::fit(&x, &swapped.sorted_by_mean(), &FitConfig::default()).unwrap();
    assert!(a.means[0] < a.means[1]);
    for (p, q) in a.means.iter().zip(&b.means) {
        assert!((p - q).abs() < 1e-6);
    }
    // Relabelling changes neither the likelihood nor the decoded regimes.
    let unsorted = GaussianHmm::try_new(
        vec![a.startprob[1], a.startprob[0]],
        vec![a.transmat[3], a.transmat[2], a.transmat[1], a.transmat[0]],
        vec![a.means[1], a.means[0]],
        vec![a.variances[1], a.variances[0]],
    )
    .unwrap();
    let (l1, l2) = (
        a.log_likelihood(&x).unwrap(),
        unsorted.log_likelihood(&x).unwrap(),
    );
    assert!((l1 - l2).abs() < 1e-9);
    let (_, p1) = a.viterbi(&x).unwrap();
    let (_, p2) = unsorted.viterbi(&x).unwrap();
    assert!(p1.iter().zip(&p2).all(|(s, t)| *s == 1 - *t));
}

#[test]
fn filtered_probabilities_ignore_the_future() {
    // Real data: 15-minute absolute log returns of BTCUSDT (%), 3 regimes.
    let bars = common::minute_bars("BTCUSDT");
    let c: Vec<f64> = bars
        .iter()
        .filter(|b| b.ts.as_second() % 900 == 0)
        .map(|b| b.close)
        .collect();
    let x: Vec<f64> = c
        .windows(2)
        .map(|w| 100.0 * (w[1] / w[0]).ln().abs())
        .collect();
    let train = &x[..x.len() / 2];
    let init = GaussianHmm::init_quantiles(train, 3).unwrap();
    let (m, _) = hmm::fit(train, &init, &FitConfig::default()).unwrap();
    assert!(m.means.windows(2).all(|w| w[0] <= w[1]));
    let full = m.predict_proba(&x).unwrap();
    for row in full.chunks(3) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
    for t in [0, 1, 10, 500, 2_000, x.len() - 2] {
        let mut changed = x.clone();
        for v in &mut changed[t + 1..] {
            *v = 5.0 - *v;
        }
        let other = m.predict_proba(&changed).unwrap();
        assert_eq!(&full[..3 * (t + 1)], &other[..3 * (t + 1)], "t = {t}");
        let prefix = m.predict_proba(&x[..=t]).unwrap();
        assert_eq!(&full[..3 * (t + 1)], &prefix[..], "t = {t}");
    }
}

#[test]
fn rejects_bad_inputs() {
    let m = truth();
    assert_eq!(
        m.log_likelihood(&[1.0, f64::NAN]),
        Err(MlError::NonFinite(1))
    );
    assert!(m.viterbi(&[]).is_err());
    assert!(GaussianHmm::try_new(vec![1.0], vec![1.0, 0.0], vec![0.0], vec![1.0]).is_err());
    assert!(
        GaussianHmm::try_new(
            vec![0.7, 0.7],
            vec![1.0, 0.0, 0.0, 1.0],
            vec![0.0, 1.0],
            vec![1.0, 1.0]
        )
        .is_err()
    );
    assert!(
        GaussianHmm::try_new(
            vec![0.5, 0.5],
            vec![1.0, 0.0, 0.0, 1.0],
            vec![0.0, 1.0],
            vec![1.0, 0.0]
        )
        .is_err()
    );
    assert!(GaussianHmm::init_quantiles(&[1.0], 2).is_err());
    assert!(GaussianHmm::init_quantiles(&[1.0, 2.0, 3.0], 1).is_err());
    let bad = FitConfig {
        max_iter: 0,
        ..FitConfig::default()
    };
    assert!(hmm::fit(&[1.0, 2.0, 3.0], &m, &bad).is_err());
    // A constant series: the variance prior keeps every variance positive.
    let x = vec![1.0; 50];
    let init = GaussianHmm::init_quantiles(&x, 2).unwrap();
    let cfg = FitConfig {
        var_prior: 1e-6,
        ..FitConfig::default()
    };
    let (fitted, _) = hmm::fit(&x, &init, &cfg).unwrap();
    assert!(fitted.variances.iter().all(|v| *v > 0.0 && v.is_finite()));
}
