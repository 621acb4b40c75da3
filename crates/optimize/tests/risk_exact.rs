//! The BLAS-3 / multithreaded covariance kernels against straightforward per-entry loops
//! (plain left-to-right sums, no GEMM, no threads) on the real 47-asset universe, seeded
//! synthetic 200- and 500-asset universes (faer's triangular product on two threads) and small
//! real subsets (single-threaded below 2²¹ multiply-adds): sample covariance and Ledoit-Wolf agree to 1e-12 relative to the
//! entry's scale √(Σ_ii Σ_jj) (an entry-relative bound is meaningless for near-zero
//! covariances), and the shrinkage δ to 1e-12 relative.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::needless_range_loop,
    missing_docs
)]

mod common;

use common::{load_prices, real_universe, synthetic};
use pulse_core::Periodicity;
use pulse_optimize::nalgebra::DMatrix;
use pulse_optimize::*;

const D: Periodicity = Periodicity::Daily;

/// Demeaned returns and the naive Gram matrix Σ_t x_ti x_tj (upper triangle by loops).
fn naive_gram(r: &DMatrix<f64>) -> (DMatrix<f64>, DMatrix<f64>) {
    let (t, n) = r.shape();
    let mut x = r.clone();
    for j in 0..n {
        let mut m = 0.0;
        for i in 0..t {
            m += r[(i, j)];
        }
        m /= t as f64;
        for i in 0..t {
            x[(i, j)] -= m;
        }
    }
    let mut g = DMatrix::zeros(n, n);
    for a in 0..n {
        for b in a..n {
            let mut s = 0.0;
            for i in 0..t {
                s += x[(i, a)] * x[(i, b)];
            }
            g[(a, b)] = s;
            g[(b, a)] = s;
        }
    }
    (x, g)
}

/// sklearn's `ledoit_wolf_shrinkage` written out with loops (β from Σ_ij Σ_t x_ti² x_tj²).
fn naive_ledoit_wolf(x: &DMatrix<f64>, g: &DMatrix<f64>) -> (DMatrix<f64>, f64) {
    let (t, p) = x.shape();
    let n = t as f64;
    let pf = p as f64;
    let emp = g / n;
    let mut trace = 0.0;
    for i in 0..p {
        trace += emp[(i, i)];
    }
    let mu = trace / pf;
    let mut beta_sum = 0.0;
    for i in 0..t {
        let mut row = 0.0;
        for j in 0..p {
            row += x[(i, j)] * x[(i, j)];
        }
        // Σ_ij x_ti² x_tj² = (Σ_i x_ti²)²
        beta_sum += row * row;
    }
    let mut delta_sum = 0.0;
    for v in emp.iter() {
        delta_sum += v * v;
    }
    let beta = (beta_sum / n - delta_sum) / (pf * n);
    let delta = (delta_sum - 2.0 * mu * trace + pf * mu * mu) / pf;
    let beta = beta.min(delta);
    let shrinkage = if beta == 0.0 { 0.0 } else { beta / delta };
    let mut s = emp * (1.0 - shrinkage);
    for i in 0..p {
        s[(i, i)] += shrinkage * mu;
    }
    (s * D.periods_per_year(), shrinkage)
}

fn assert_close(what: &str, got: &DMatrix<f64>, want: &DMatrix<f64>) {
    let n = want.nrows();
    assert_eq!(got.shape(), want.shape(), "{what}");
    let mut worst = 0.0f64;
    for i in 0..n {
        for j in 0..n {
            let scale = (want[(i, i)] * want[(j, j)]).sqrt();
            worst = worst.max((got[(i, j)] - want[(i, j)]).abs() / scale);
        }
    }
    assert!(worst < 1e-12, "{what}: worst scaled difference {worst:e}");
    // Exactly symmetric.
    assert_eq!(got, &got.transpose(), "{what}: not symmetric");
}

fn check(what: &str, r: &DMatrix<f64>) {
    let t = r.nrows() as f64;
    let (x, g) = naive_gram(r);
    let want_sample = &g / (t - 1.0) * D.periods_per_year();
    let sample = sample_cov(r, D).unwrap();
    assert!(sample.warnings.is_empty(), "{what}: {:?}", sample.warnings);
    assert_close(&format!("{what} sample"), &sample.cov, &want_sample);

    let (want_lw, want_delta) = naive_ledoit_wolf(&x, &g);
    let lw = ledoit_wolf(r, D).unwrap();
    let delta = lw.shrinkage.unwrap();
    assert!(
        (delta - want_delta).abs() <= 1e-12 * want_delta.abs(),
        "{what}: δ {delta} vs {want_delta}"
    );
    assert!(delta > 0.0 && delta < 1.0, "{what}: δ {delta}");
    assert_close(&format!("{what} Ledoit-Wolf"), &lw.cov, &want_lw);
    // Ledoit-Wolf skips the PSD check when δ·μ provably dominates rounding: the check and
    // repair must indeed leave it unchanged.
    let (fixed, warning) = fix_nonpositive_semidefinite(&lw.cov).unwrap();
    assert!(warning.is_none(), "{what}: {warning:?}");
    assert_eq!(fixed, lw.cov);
}

#[test]
fn real47_covariances_match_naive_loops() {
    check("real47", &real_universe());
}

#[test]
fn synth200_covariances_match_naive_loops() {
    check("synth200", &synthetic(200, 1260, 42));
}

#[test]
fn small_real_universes_match_naive_loops() {
    // 3, 6 and 15 assets: the single-threaded path.
    let etfs = [
        "SPY", "QQQ", "IWM", "EEM", "EFA", "GLD", "SLV", "TLT", "IEF", "SHY", "TIP", "LQD", "HYG",
        "VNQ", "DBC",
    ];
    for k in [3, 6, 15] {
        let prices = load_prices(&etfs[..k], "2020-01-01", "2026-12-31").1;
        let r = returns_from_prices(&prices).unwrap();
        check(&format!("{k} ETFs"), &r);
    }
}

/// The fused validation pass of Ledoit-Wolf names the offending row and column like the
/// other estimators.
#[test]
fn invalid_returns_are_located() {
    let clean = real_universe();
    for bad in [f64::NAN, f64::INFINITY, -1.0, -1.5] {
        let mut r = clean.clone();
        r[(17, 3)] = bad;
        for (what, res) in [
            ("ledoit_wolf", ledoit_wolf(&r, D).map(|_| ())),
            ("sample_cov", sample_cov(&r, D).map(|_| ())),
        ] {
            match res {
                Err(OptimizeError::InvalidValue {
                    row, col, value, ..
                }) => {
                    assert_eq!((row, col), (17, 3), "{what} {bad}");
                    assert!(value.is_nan() == bad.is_nan() && (bad.is_nan() || value == bad));
                }
                other => panic!("{what} {bad}: {other:?}"),
            }
        }
    }
    // Above 2¹⁷ values the validation runs in two halves of the columns: both halves.
    let big = synthetic(200, 1260, 42);
    for (row, col) in [(5, 3), (1200, 150)] {
        let mut r = big.clone();
        r[(row, col)] = f64::NAN;
        assert!(
            matches!(
                ledoit_wolf(&r, D),
                Err(OptimizeError::InvalidValue { row: a, col: b, .. }) if (a, b) == (row, col)
            ),
            "({row}, {col})"
        );
    }
    let one_row = clean.rows(0, 1).into_owned();
    assert!(matches!(
        ledoit_wolf(&one_row, D),
        Err(OptimizeError::TooFewRows {
            need: 2,
            got: 1,
            ..
        })
    ));
}

#[test]
fn synth500_covariances_match_naive_loops() {
    check("synth500", &synthetic(500, 1260, 43));
}

/// The sample covariance and Ledoit-Wolf take XᵀX − T·m·mᵀ when no column's mean dwarfs its
/// spread. A cash-like column
/// (a steady 0.015 % a day with 1e-9 wiggles: T·m²/Σ(x−m)² ≈ 10¹⁰) would lose ten digits that
/// way; it must go through the centred copy and still match the loops, on the single-threaded
/// (16 columns) and the two-thread (200 columns) paths.
#[test]
fn a_cash_like_column_keeps_full_accuracy() {
    let etfs = [
        "SPY", "QQQ", "IWM", "EEM", "EFA", "GLD", "SLV", "TLT", "IEF", "SHY", "TIP", "LQD", "HYG",
        "VNQ", "DBC",
    ];
    let real = returns_from_prices(&load_prices(&etfs, "2020-01-01", "2026-12-31").1).unwrap();
    for base in [real, synthetic(199, 1260, 44)] {
        let (t, n) = base.shape();
        let r = DMatrix::from_fn(t, n + 1, |i, j| {
            if j < n {
                base[(i, j)]
            } else {
                0.000_15 + 1e-9 * ((i * 7919) % 13) as f64
            }
        });
        let what = format!("{n} assets + cash");
        check(&what, &r);
        // The shrinkage target δ·μ dwarfs the cash column's variance, so `check`'s scale
        // would hide an error there: compare the off-diagonal sample part Σ_ij/(1−δ) with
        // T⁻¹·(XcᵀXc)_ij on the scale of the sample variances themselves.
        let (_, g) = naive_gram(&r);
        let lw = ledoit_wolf(&r, D).unwrap();
        let keep = (1.0 - lw.shrinkage.unwrap()) * D.periods_per_year() / t as f64;
        let mut worst = 0.0f64;
        for i in 0..=n {
            for j in (0..=n).filter(|&j| j != i) {
                let scale = (g[(i, i)] * g[(j, j)]).sqrt();
                worst = worst.max((lw.cov[(i, j)] / keep - g[(i, j)]).abs() / scale);
            }
        }
        assert!(
            worst < 1e-13,
            "{what}: sample part off by {worst:e} of its scale"
        );
    }
}
