//! Independent oracles on real data: closed-form two-asset minimum variance, the unconstrained
//! tangency portfolio, KKT conditions of the solver's answers, equal risk contributions, and
//! the infeasible-target messages.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::needless_range_loop,
    missing_docs
)]

mod common;

use common::{load_prices, rel};
use pulse_core::Periodicity;
use pulse_optimize::nalgebra::{DMatrix, DVector};
use pulse_optimize::*;

const D: Periodicity = Periodicity::Daily;
const ETFS: [&str; 15] = [
    "SPY", "QQQ", "IWM", "EEM", "EFA", "GLD", "SLV", "TLT", "IEF", "SHY", "TIP", "LQD", "HYG",
    "VNQ", "DBC",
];
const STOCKS: [&str; 12] = [
    "AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "JPM", "V", "JNJ", "PG", "XOM", "WMT",
];

fn returns(tickers: &[&str], start: &str, end: &str) -> DMatrix<f64> {
    returns_from_prices(&load_prices(tickers, start, end).1).unwrap()
}

#[test]
fn two_asset_min_variance_matches_closed_form() {
    for pair in [["SPY", "TLT"], ["QQQ", "GLD"], ["JNJ", "XOM"]] {
        let r = returns(&pair, "2015-01-01", "2024-12-31");
        let s = sample_cov(&r, D).unwrap().cov;
        let (a, b, c) = (s[(0, 0)], s[(1, 1)], s[(0, 1)]);
        let w1 = (b - c) / (a + b - 2.0 * c);
        for cons in [Constraints::bounds(2, -5.0, 5.0), Constraints::long_only(2)] {
            if !(0.0..=1.0).contains(&w1) && cons.lower[0] == 0.0 {
                continue;
            }
            let sol = optimize_mvo(None, &s, &Objective::MinVolatility, &cons).unwrap();
            assert!(
                (sol.weights[0] - w1).abs() < 1e-7,
                "{pair:?}: {} vs closed form {w1}",
                sol.weights[0]
            );
            assert!((sol.weights[1] - (1.0 - w1)).abs() < 1e-7);
        }
    }
}

#[test]
fn unconstrained_max_sharpe_is_the_tangency_portfolio() {
    let tickers = ["SPY", "TLT", "GLD", "EEM", "VNQ"];
    let r = returns(&tickers, "2015-01-01", "2024-12-31");
    let s = ledoit_wolf(&r, D).unwrap().cov;
    let mu = mean_historical_return(&r, true, D).unwrap();
    let rf = 0.02;
    let ex = mu.add_scalar(-rf);
    let z = s.clone().cholesky().unwrap().solve(&ex);
    let tangency = &z / z.sum();
    assert!(z.sum() > 0.0);
    let cons = Constraints::bounds(tickers.len(), -50.0, 50.0);
    let sol = optimize_mvo(Some(&mu), &s, &Objective::MaxSharpe { rf }, &cons).unwrap();
    for i in 0..tickers.len() {
        assert!(
            (sol.weights[i] - tangency[i]).abs() < 1e-6,
            "{}: {} vs {}",
            tickers[i],
            sol.weights[i],
            tangency[i]
        );
    }
    // And its Sharpe beats every other portfolio on a grid of perturbations.
    let best = portfolio_performance(&sol.weights, Some(&mu), &s, rf)
        .unwrap()
        .sharpe
        .unwrap();
    for k in 0..tickers.len() {
        for eps in [-0.05, 0.05] {
            let mut w = sol.weights.clone();
            w[k] += eps;
            w[(k + 1) % tickers.len()] -= eps;
            let sh = portfolio_performance(&w, Some(&mu), &s, rf)
                .unwrap()
                .sharpe
                .unwrap();
            assert!(sh <= best + 1e-12);
        }
    }
}

/// KKT for min wᵀΣw s.t. Σw = 1, l ≤ w ≤ u: g = 2Σw; ∃λ: g_i = λ where l < w_i < u,
/// g_i ≥ λ at the lower bound, g_i ≤ λ at the upper bound.
fn assert_min_vol_kkt(s: &DMatrix<f64>, w: &DVector<f64>, lo: f64, hi: f64) {
    let g = s * w * 2.0;
    let tol_w = 1e-6;
    let free: Vec<usize> = (0..w.len())
        .filter(|&i| w[i] > lo + tol_w && w[i] < hi - tol_w)
        .collect();
    assert!(!free.is_empty());
    let lambda = free.iter().map(|&i| g[i]).sum::<f64>() / free.len() as f64;
    let scale = g.amax();
    for i in 0..w.len() {
        assert!(w[i] >= lo - 1e-8 && w[i] <= hi + 1e-8);
        if free.contains(&i) {
            assert!(
                (g[i] - lambda).abs() < 1e-6 * scale,
                "free asset {i}: g {} λ {lambda}",
                g[i]
            );
        } else if w[i] <= lo + tol_w {
            assert!(
                g[i] >= lambda - 1e-6 * scale,
                "asset {i} at lower bound: g {} < λ {lambda}",
                g[i]
            );
        } else {
            assert!(
                g[i] <= lambda + 1e-6 * scale,
                "asset {i} at upper bound: g {} > λ {lambda}",
                g[i]
            );
        }
    }
}

#[test]
fn kkt_conditions_hold_for_min_vol_and_max_sharpe() {
    for (tickers, start, end) in [
        (&ETFS[..], "2015-01-01", "2024-12-31"),
        (&STOCKS[..], "2019-01-01", "2025-12-31"),
    ] {
        let r = returns(tickers, start, end);
        let s = ledoit_wolf(&r, D).unwrap().cov;
        let mu = mean_historical_return(&r, true, D).unwrap();
        let n = tickers.len();
        for cap in [1.0, 0.3, 0.15] {
            let cons = Constraints::long_only(n).with_max_weight(cap);
            let w = optimize_mvo(None, &s, &Objective::MinVolatility, &cons)
                .unwrap()
                .weights;
            assert_min_vol_kkt(&s, &w, 0.0, cap);
        }
        // Max Sharpe (long only), in the homogenized form: y = w/(μ−rf)ᵀw solves
        // min yᵀΣy s.t. (μ−rf)ᵀy = 1, y ≥ 0 ⇒ 2Σy = ν(μ−rf) + λ, λ ≥ 0, λ·y = 0, ν = 2yᵀΣy.
        let rf = 0.02;
        let w = optimize_mvo(
            Some(&mu),
            &s,
            &Objective::MaxSharpe { rf },
            &Constraints::long_only(n),
        )
        .unwrap()
        .weights;
        let ex = mu.add_scalar(-rf);
        let y = &w / ex.dot(&w);
        let g = &s * &y * 2.0;
        let nu = 2.0 * y.dot(&(&s * &y));
        for i in 0..n {
            let lam = g[i] - nu * ex[i];
            if y[i] > 1e-6 {
                assert!(
                    lam.abs() < 1e-6 * g.amax(),
                    "{}: λ {lam} on a held asset",
                    tickers[i]
                );
            } else {
                assert!(lam > -1e-6 * g.amax(), "{}: λ {lam} < 0", tickers[i]);
            }
        }
        // Efficient risk: the volatility constraint binds for a target below the max-return volatility.
        let mv = optimize_mvo(
            None,
            &s,
            &Objective::MinVolatility,
            &Constraints::long_only(n),
        )
        .unwrap()
        .weights;
        let v0 = portfolio_performance(&mv, None, &s, 0.0)
            .unwrap()
            .volatility;
        let target = v0 * 1.3;
        let w = optimize_mvo(
            Some(&mu),
            &s,
            &Objective::EfficientRisk {
                target_volatility: target,
            },
            &Constraints::long_only(n),
        )
        .unwrap()
        .weights;
        let v = portfolio_performance(&w, Some(&mu), &s, 0.0)
            .unwrap()
            .volatility;
        assert!(
            rel(v, target, 1e-12) < 1e-6,
            "efficient risk vol {v} vs target {target}"
        );
        // Efficient return: the return constraint binds above the min-vol return.
        let r0 = mu.dot(&mv);
        let target_r = r0 + 0.5 * (mu.max() - r0);
        let w = optimize_mvo(
            Some(&mu),
            &s,
            &Objective::EfficientReturn {
                target_return: target_r,
            },
            &Constraints::long_only(n),
        )
        .unwrap()
        .weights;
        assert!(rel(mu.dot(&w), target_r, 1e-12) < 1e-6);
    }
}

#[test]
fn infeasible_targets_state_the_feasible_range() {
    let r = returns(&STOCKS, "2019-01-01", "2025-12-31");
    let s = ledoit_wolf(&r, D).unwrap().cov;
    let mu = mean_historical_return(&r, true, D).unwrap();
    let n = STOCKS.len();
    let err = optimize_mvo(
        Some(&mu),
        &s,
        &Objective::EfficientRisk {
            target_volatility: 0.10,
        },
        &Constraints::long_only(n),
    )
    .unwrap_err();
    assert!(matches!(err, OptimizeError::InfeasibleTarget(_)));
    assert!(
        err.to_string()
            .contains("minimum volatility is 0.154; target 0.100 is below it"),
        "{err}"
    );
    let err = optimize_mvo(
        Some(&mu),
        &s,
        &Objective::EfficientReturn { target_return: 5.0 },
        &Constraints::long_only(n),
    )
    .unwrap_err();
    let max_mu = mu.max();
    assert!(
        err.to_string()
            .contains(&format!("maximum expected return is {max_mu:.3}")),
        "{err}"
    );
    // With a cap the feasible maximum is lower and the message says so.
    let capped = Constraints::long_only(n).with_max_weight(0.2);
    let err = optimize_mvo(
        Some(&mu),
        &s,
        &Objective::EfficientReturn {
            target_return: max_mu,
        },
        &capped,
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with("maximum expected return is "),
        "{err}"
    );
    // Caps that cannot sum to 1.
    let err = optimize_mvo(
        None,
        &s,
        &Objective::MinVolatility,
        &Constraints::long_only(n).with_max_weight(0.05),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "constraints are infeasible: the upper bounds sum to 0.6000 < 1"
    );
    // Group caps + turnover that conflict are reported by the solver as infeasible.
    let all: Vec<usize> = (0..n).collect();
    let err = optimize_mvo(
        None,
        &s,
        &Objective::MinVolatility,
        &Constraints::long_only(n).with_group_cap("all", all, 0.9),
    )
    .unwrap_err();
    assert!(
        matches!(err, OptimizeError::InfeasibleConstraints(_)),
        "{err}"
    );
    let w0 = vec![0.0; n];
    let err = optimize_mvo(
        None,
        &s,
        &Objective::MinVolatility,
        &Constraints::long_only(n).with_turnover(w0, 0.5),
    )
    .unwrap_err();
    assert!(
        matches!(err, OptimizeError::InfeasibleConstraints(_)),
        "{err}"
    );
    // Max Sharpe with no asset above rf.
    let err = optimize_mvo(
        Some(&mu),
        &s,
        &Objective::MaxSharpe { rf: 10.0 },
        &Constraints::long_only(n),
    )
    .unwrap_err();
    assert!(matches!(err, OptimizeError::NoExcessReturn { .. }));
}

#[test]
fn turnover_and_group_caps_are_respected() {
    let r = returns(&ETFS, "2015-01-01", "2024-12-31");
    let s = ledoit_wolf(&r, D).unwrap().cov;
    let mu = mean_historical_return(&r, true, D).unwrap();
    let n = ETFS.len();
    let w0 = vec![1.0 / n as f64; n];
    let bonds: Vec<usize> = (7..13).collect();
    // Equal weight holds 6/15 = 0.4 in bonds: reaching the 0.3 cap needs turnover ≥ 0.2.
    let tight = Constraints::long_only(n)
        .with_turnover(w0.clone(), 0.19)
        .with_group_cap("bond", bonds.clone(), 0.3);
    assert!(matches!(
        optimize_mvo(None, &s, &Objective::MinVolatility, &tight),
        Err(OptimizeError::InfeasibleConstraints(_))
    ));
    for tau in [0.2, 0.35, 0.8] {
        let cons = Constraints::long_only(n)
            .with_turnover(w0.clone(), tau)
            .with_group_cap("bond", bonds.clone(), 0.3);
        for obj in [
            Objective::MinVolatility,
            Objective::MaxSharpe { rf: 0.02 },
            Objective::MaxQuadraticUtility { risk_aversion: 2.0 },
        ] {
            let w = optimize_mvo(Some(&mu), &s, &obj, &cons).unwrap().weights;
            let turnover: f64 = (0..n).map(|i| (w[i] - w0[i]).abs()).sum();
            assert!(
                turnover <= tau + 1e-7,
                "{obj:?} τ {tau}: turnover {turnover}"
            );
            let bond: f64 = bonds.iter().map(|&i| w[i]).sum();
            assert!(bond <= 0.3 + 1e-7, "{obj:?}: bond weight {bond}");
            assert!((w.sum() - 1.0).abs() < 1e-8);
            assert!(w.iter().all(|x| *x >= -1e-8));
        }
    }
}

#[test]
fn erc_equalizes_risk_contributions_and_presets_run() {
    let r = returns(&STOCKS, "2019-01-01", "2025-12-31");
    let s = ledoit_wolf(&r, D).unwrap().cov;
    let w = equal_risk_contribution(&s).unwrap();
    let rc = risk_contributions(&w, &s).unwrap();
    let vol = portfolio_performance(&w, None, &s, 0.0).unwrap().volatility;
    assert!((rc.sum() - vol).abs() < 1e-12);
    for i in 0..rc.len() {
        assert!(
            rel(rc[i], vol / rc.len() as f64, 1e-12) < 1e-9,
            "RC {i} {} vs {}",
            rc[i],
            vol / rc.len() as f64
        );
    }
    let iv = inverse_volatility(&s).unwrap();
    assert!(rel(iv[0] / iv[1], (s[(1, 1)] / s[(0, 0)]).sqrt(), 1e-12) < 1e-12);

    let (_, prices) = load_prices(&STOCKS, "2019-01-01", "2025-12-31");
    let spy = load_prices(&["SPY"], "2019-01-01", "2025-12-31")
        .1
        .column(0)
        .into_owned();
    let symbols: Vec<String> = STOCKS.iter().map(|s| s.to_string()).collect();
    let methods = [
        Method::MinVolatility,
        Method::MaxSharpe,
        Method::EfficientRisk {
            target_volatility: 0.25,
        },
        Method::EfficientReturn { target_return: 0.2 },
        Method::MaxQuadraticUtility { risk_aversion: 3.0 },
        Method::Hrp {
            linkage: Linkage::Ward,
        },
        Method::Blend {
            alpha: 0.5,
            linkage: Linkage::Single,
        },
        Method::InverseVolatility,
        Method::EqualRiskContribution,
        Method::EqualWeight,
    ];
    let models = [
        (
            ReturnModel::MeanHistorical { compounding: true },
            RiskModel::LedoitWolf,
        ),
        (
            ReturnModel::Ema {
                span: 500.0,
                compounding: true,
            },
            RiskModel::Exponential { span: 180.0 },
        ),
        (
            ReturnModel::Capm {
                rf: 0.02,
                compounding: true,
            },
            RiskModel::Semi { benchmark: 0.0 },
        ),
        (
            ReturnModel::MeanHistorical { compounding: false },
            RiskModel::Sample,
        ),
    ];
    for m in methods {
        for (rm, risk) in &models {
            let mut spec = PortfolioSpec::new(m, rm.clone(), risk.clone());
            spec.constraints = Some(Constraints::long_only(STOCKS.len()).with_max_weight(0.3));
            let out = build_portfolio(&symbols, &prices, Some(&spy), &spec)
                .unwrap_or_else(|e| panic!("{m:?} {rm:?} {risk:?}: {e}"));
            assert!(
                (out.weights.iter().sum::<f64>() - 1.0).abs() < 1e-8,
                "{m:?}"
            );
            assert!(out.weights.iter().all(|w| *w > -1e-8));
            let w = DVector::from_vec(out.weights.clone());
            let mu = estimate_returns(
                rm,
                &returns_from_prices(&prices).unwrap(),
                Some(
                    &returns_from_prices(&DMatrix::from_column_slice(spy.len(), 1, spy.as_slice()))
                        .unwrap()
                        .column(0)
                        .into_owned(),
                ),
                D,
            )
            .unwrap();
            assert!(rel(out.expected_return, mu.dot(&w), 1e-12) < 1e-12);
            assert!((out.sharpe - (out.expected_return - 0.02) / out.volatility).abs() < 1e-12);
        }
    }
    // Blend is the convex combination of its legs.
    let spec = |m| {
        PortfolioSpec::new(
            m,
            ReturnModel::MeanHistorical { compounding: true },
            RiskModel::LedoitWolf,
        )
    };
    let a = build_portfolio(&symbols, &prices, None, &spec(Method::MaxSharpe))
        .unwrap()
        .weights;
    let h = build_portfolio(
        &symbols,
        &prices,
        None,
        &spec(Method::Hrp {
            linkage: Linkage::Single,
        }),
    )
    .unwrap()
    .weights;
    let b = build_portfolio(
        &symbols,
        &prices,
        None,
        &spec(Method::Blend {
            alpha: 0.3,
            linkage: Linkage::Single,
        }),
    )
    .unwrap()
    .weights;
    for i in 0..b.len() {
        assert!((b[i] - (0.3 * a[i] + 0.7 * h[i])).abs() < 1e-12);
    }
}
