//! Behaviour of the overfitting statistics: pure-noise strategies show a high PBO and a low DSR, a
//! planted real edge shows a low PBO and a high DSR; input validation.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pulse_search::{PboMetric, deflated_sharpe_ratio, expected_max_sharpe, pbo_cscv, return_stats};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Seeded N(mean, sd²) draws by Box–Muller.
fn gaussian(rng: &mut StdRng, n: usize, mean: f64, sd: f64) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let u1: f64 = 1.0 - rng.random::<f64>();
            let u2: f64 = rng.random();
            mean + sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        })
        .collect()
}

fn trials(seed: u64, n: usize, t: usize, edge: f64) -> Vec<Vec<f64>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|k| gaussian(&mut rng, t, if k == 0 { edge } else { 0.0 }, 0.01))
        .collect()
}

#[test]
fn pure_noise_strategies_show_high_pbo() {
    // N = 100 random-return trials, T = 1000 periods, S = 16 blocks: the IS winner is luck, so its
    // OOS rank is uniform and PBO ≈ 0.5.
    let mut pbos = Vec::new();
    for seed in 0..5 {
        let m = trials(seed, 100, 1000, 0.0);
        let p = pbo_cscv(&m, 16, PboMetric::Sharpe).unwrap();
        assert_eq!(p.n_combinations, 12_870);
        assert_eq!(p.logits.len(), 12_870);
        pbos.push(p.pbo);
    }
    let mean = pbos.iter().sum::<f64>() / pbos.len() as f64;
    eprintln!("noise PBOs {pbos:?}, mean {mean:.3}");
    assert!(pbos.iter().all(|&p| p > 0.2), "{pbos:?}");
    assert!(mean > 0.4, "{pbos:?}");
}

#[test]
fn planted_edge_shows_low_pbo_and_survives_deflation() {
    for seed in 0..5 {
        // Trial 0 has a drift of 0.25 sd per period; the 99 others are noise.
        let m = trials(100 + seed, 100, 1000, 0.0025);
        let p = pbo_cscv(&m, 16, PboMetric::Sharpe).unwrap();
        assert!(p.pbo < 0.1, "seed {seed}: PBO {}", p.pbo);
        assert!(
            p.prob_oos_loss < 0.05,
            "seed {seed}: P(OOS loss) {}",
            p.prob_oos_loss
        );
        let mean_p = pbo_cscv(&m, 10, PboMetric::Mean).unwrap();
        assert!(mean_p.pbo < 0.1, "seed {seed}: PBO(mean) {}", mean_p.pbo);

        let sharpes: Vec<f64> = m.iter().map(|r| return_stats(r).unwrap().sharpe).collect();
        let best = (0..m.len())
            .max_by(|&a, &b| sharpes[a].total_cmp(&sharpes[b]))
            .unwrap();
        assert_eq!(best, 0);
        let d = deflated_sharpe_ratio(&m[0], &sharpes).unwrap();
        assert!(d.dsr > 0.95, "seed {seed}: DSR {}", d.dsr);
    }
}

#[test]
fn best_of_noise_is_deflated() {
    // The luckiest of 100 noise trials has a high PSR against 0 but a low DSR.
    for seed in 0..5 {
        let m = trials(200 + seed, 100, 1000, 0.0);
        let sharpes: Vec<f64> = m.iter().map(|r| return_stats(r).unwrap().sharpe).collect();
        let best = (0..m.len())
            .max_by(|&a, &b| sharpes[a].total_cmp(&sharpes[b]))
            .unwrap();
        let d = deflated_sharpe_ratio(&m[best], &sharpes).unwrap();
        let s = d.stats;
        let psr0 =
            pulse_search::probabilistic_sharpe_ratio(s.sharpe, 0.0, s.n, s.skewness, s.kurtosis)
                .unwrap();
        assert!(psr0 > 0.95, "seed {seed}: PSR(0) {psr0}");
        assert!(d.dsr < 0.8, "seed {seed}: DSR {}", d.dsr);
        // SR0 is close to the realized maximum: E[max of 100 N(0, V)] ≈ 2.5 √V.
        let ratio = d.sharpe_null / d.trial_sharpe_variance.sqrt();
        assert!((ratio - 2.53).abs() < 0.05, "{ratio}");
    }
}

#[test]
fn expected_max_sharpe_grows_with_trials_and_inputs_are_validated() {
    let v = 0.01;
    let e: Vec<f64> = [1usize, 2, 10, 100, 1000]
        .iter()
        .map(|&n| expected_max_sharpe(n, v).unwrap())
        .collect();
    assert_eq!(e[0], 0.0);
    assert!(e.windows(2).all(|w| w[0] < w[1]), "{e:?}");
    assert!(expected_max_sharpe(0, v).is_err());
    assert!(expected_max_sharpe(10, f64::NAN).is_err());
    assert!(return_stats(&[0.01]).is_err());
    assert!(return_stats(&[0.01, 0.01, 0.01]).is_err());
    assert!(return_stats(&[0.01, f64::NAN]).is_err());
    let m = trials(1, 10, 100, 0.0);
    for bad_s in [0, 3, 26, 52] {
        assert!(pbo_cscv(&m, bad_s, PboMetric::Sharpe).is_err(), "S={bad_s}");
    }
    let mut ragged = m.clone();
    ragged[3].pop();
    let msg = pbo_cscv(&ragged, 4, PboMetric::Sharpe)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("trial #3"), "{msg}");
    assert!(pbo_cscv(&m[..1], 4, PboMetric::Sharpe).is_err());
}

#[test]
fn streaming_block_moments_give_the_same_pbo_and_sharpe() {
    // A sweep can reduce each trial to S block moments as it finishes; the result is identical.
    let m = trials(42, 60, 1003, 0.0); // T not divisible by S: array_split layout
    let blocks: Vec<_> = m
        .iter()
        .map(|r| pulse_search::block_moments(r, 12).unwrap())
        .collect();
    assert_eq!(blocks[0].n_obs(), 1003);
    for (b, r) in blocks.iter().zip(&m) {
        let s = return_stats(r).unwrap();
        assert!((b.sharpe() - s.sharpe).abs() < 1e-12);
        assert!((b.mean() - s.mean).abs() < 1e-15);
    }
    let direct = pbo_cscv(&m, 12, PboMetric::Sharpe).unwrap();
    let streamed = pulse_search::pbo_cscv_blocks(&blocks, PboMetric::Sharpe).unwrap();
    assert_eq!(direct, streamed);
    assert_eq!(direct.n_combinations, 924);
    // Layouts must agree.
    let other = pulse_search::block_moments(&m[0][..1000], 12).unwrap();
    let mut mixed = blocks.clone();
    mixed[5] = other;
    let e = pulse_search::pbo_cscv_blocks(&mixed, PboMetric::Sharpe)
        .unwrap_err()
        .to_string();
    assert!(e.contains("trial #5"), "{e}");
}
