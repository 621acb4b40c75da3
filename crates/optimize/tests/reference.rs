//! Every method PyPortfolioOpt has, against fixtures written by
//! scripts/reference/optimize/make_fixtures.py (pinned PyPortfolioOpt 1.6.0) on real data.
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
use serde_json::Value;

const D: Periodicity = Periodicity::Daily;

struct Universe {
    fx: Value,
    tickers: Vec<String>,
    prices: DMatrix<f64>,
    returns: DMatrix<f64>,
    market: DVector<f64>,
}

fn universe(name: &str) -> Universe {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/fixtures/{name}.json"));
    let fx: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let tickers: Vec<String> = fx["tickers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    let market = fx["market"].as_str().unwrap().to_string();
    let mut all: Vec<&str> = tickers.iter().map(String::as_str).collect();
    if !tickers.contains(&market) {
        all.push(&market);
    }
    let (dates, joined) = load_prices(
        &all,
        fx["start"].as_str().unwrap(),
        fx["end"].as_str().unwrap(),
    );
    assert_eq!(
        dates.len() as u64,
        fx["rows"].as_u64().unwrap(),
        "{name}: row count"
    );
    assert_eq!(dates[0], fx["first_date"].as_str().unwrap());
    assert_eq!(dates.last().unwrap(), fx["last_date"].as_str().unwrap());
    let mi = all.iter().position(|t| *t == market).unwrap();
    let prices = joined.columns(0, tickers.len()).into_owned();
    let mp = DMatrix::from_column_slice(joined.nrows(), 1, joined.column(mi).as_slice());
    let market = returns_from_prices(&mp).unwrap().column(0).into_owned();
    let returns = returns_from_prices(&prices).unwrap();
    Universe {
        fx,
        tickers,
        prices,
        returns,
        market,
    }
}

fn vecf(v: &Value) -> DVector<f64> {
    DVector::from_iterator(
        v.as_array().unwrap().len(),
        v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()),
    )
}

fn matf(v: &Value) -> DMatrix<f64> {
    let rows = v.as_array().unwrap();
    let n = rows.len();
    DMatrix::from_fn(n, n, |i, j| rows[i][j].as_f64().unwrap())
}

fn assert_vec_rel(what: &str, got: &DVector<f64>, want: &DVector<f64>, tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for i in 0..got.len() {
        let r = rel(got[i], want[i], 1e-12);
        assert!(
            r <= tol,
            "{what}[{i}]: got {} want {} (rel {r:e})",
            got[i],
            want[i]
        );
    }
}

fn assert_mat_rel(what: &str, got: &DMatrix<f64>, want: &DMatrix<f64>, tol: f64) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let scale = want.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    for i in 0..got.nrows() {
        for j in 0..got.ncols() {
            let d = (got[(i, j)] - want[(i, j)]).abs() / scale;
            assert!(
                d <= tol,
                "{what}[{i},{j}]: got {} want {} (diff/max {d:e})",
                got[(i, j)],
                want[(i, j)]
            );
        }
    }
}

fn check_expected_returns(u: &Universe) {
    let er = &u.fx["expected_returns"];
    let r = &u.returns;
    let cases: Vec<(&str, DVector<f64>)> = vec![
        (
            "mean_geometric",
            mean_historical_return(r, true, D).unwrap(),
        ),
        (
            "mean_arithmetic",
            mean_historical_return(r, false, D).unwrap(),
        ),
        (
            "ema_geometric_span500",
            ema_historical_return(r, 500.0, true, D).unwrap(),
        ),
        (
            "ema_arithmetic_span180",
            ema_historical_return(r, 180.0, false, D).unwrap(),
        ),
        (
            "capm_market_rf002",
            capm_return(r, Some(&u.market), 0.02, true, D).unwrap(),
        ),
        (
            "capm_market_rf002_arithmetic",
            capm_return(r, Some(&u.market), 0.02, false, D).unwrap(),
        ),
        (
            "capm_equal_weight_proxy",
            capm_return(r, None, 0.0, true, D).unwrap(),
        ),
    ];
    for (name, got) in cases {
        assert_vec_rel(name, &got, &vecf(&er[name]), 1e-9);
    }
    // Through the model enum as well.
    let via = estimate_returns(
        &ReturnModel::Capm {
            rf: 0.02,
            compounding: true,
        },
        r,
        Some(&u.market),
        D,
    )
    .unwrap();
    assert_vec_rel("capm via enum", &via, &vecf(&er["capm_market_rf002"]), 1e-9);
}

fn check_risk_models(u: &Universe) {
    let rm = &u.fx["risk_models"];
    let r = &u.returns;
    let lw = ledoit_wolf(r, D).unwrap();
    let want_delta = u.fx["ledoit_wolf_shrinkage"].as_f64().unwrap();
    assert!(
        rel(lw.shrinkage.unwrap(), want_delta, 1e-12) < 1e-9,
        "LW δ {} vs {want_delta}",
        lw.shrinkage.unwrap()
    );
    let cases: Vec<(&str, CovEstimate)> = vec![
        ("sample", sample_cov(r, D).unwrap()),
        ("ledoit_wolf", lw),
        ("exp_span180", exp_cov(r, 180.0, D).unwrap()),
        ("exp_span60", exp_cov(r, 60.0, D).unwrap()),
        ("semi_benchmark0", semicovariance(r, 0.0, D).unwrap()),
        ("semi_default", semicovariance(r, 0.000079, D).unwrap()),
    ];
    for (name, got) in cases {
        assert!(
            got.warnings.is_empty(),
            "{name}: unexpected warnings {:?}",
            got.warnings
        );
        assert_mat_rel(name, &got.cov, &matf(&rm[name]), 1e-10);
    }
}

fn constraints_for(u: &Universe, case: &Value) -> Constraints {
    let n = u.tickers.len();
    let b = case["bounds"].as_array().unwrap();
    let mut c = Constraints::bounds(n, b[0].as_f64().unwrap(), b[1].as_f64().unwrap());
    if let Some(g) = case.get("gamma") {
        c = c.with_l2(g.as_f64().unwrap());
    }
    if let Some(upper) = case.get("sector_upper") {
        let sectors = &case["sectors"];
        for (name, cap) in upper.as_object().unwrap() {
            let members: Vec<usize> = (0..n)
                .filter(|&i| sectors[&u.tickers[i]].as_str() == Some(name.as_str()))
                .collect();
            c = c.with_group_cap(name.clone(), members, cap.as_f64().unwrap());
        }
    }
    if let Some(t) = case.get("turnover") {
        let w0: Vec<f64> = case["current_weights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        c = c.with_turnover(w0, t.as_f64().unwrap());
    }
    c
}

fn objective_for(case: &Value) -> Objective {
    let p = &case["params"];
    match case["method"].as_str().unwrap() {
        "min_volatility" => Objective::MinVolatility,
        "max_sharpe" => Objective::MaxSharpe {
            rf: p["risk_free_rate"].as_f64().unwrap(),
        },
        "efficient_risk" => Objective::EfficientRisk {
            target_volatility: p["target_volatility"].as_f64().unwrap(),
        },
        "efficient_return" => Objective::EfficientReturn {
            target_return: p["target_return"].as_f64().unwrap(),
        },
        "max_quadratic_utility" => Objective::MaxQuadraticUtility {
            risk_aversion: p["risk_aversion"].as_f64().unwrap(),
        },
        m => panic!("unknown method {m}"),
    }
}

fn check_frontier(u: &Universe) -> usize {
    let mu = mean_historical_return(&u.returns, true, D).unwrap();
    let cov = ledoit_wolf(&u.returns, D).unwrap().cov;
    let cases = u.fx["frontier"]["cases"].as_object().unwrap();
    for (name, case) in cases {
        let c = constraints_for(u, case);
        let obj = objective_for(case);
        let sol = optimize_mvo(Some(&mu), &cov, &obj, &c).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = vecf(&case["weights"]);
        for i in 0..want.len() {
            assert!(
                (sol.weights[i] - want[i]).abs() <= 1e-4,
                "{name}: weight {} got {} want {}",
                u.tickers[i],
                sol.weights[i],
                want[i]
            );
        }
        let rf = case["rf"].as_f64().unwrap();
        let perf = portfolio_performance(&sol.weights, Some(&mu), &cov, rf).unwrap();
        let (r, v, s) = (
            perf.expected_return.unwrap(),
            perf.volatility,
            perf.sharpe.unwrap(),
        );
        for (what, got, want) in [
            (
                "expected_return",
                r,
                case["expected_return"].as_f64().unwrap(),
            ),
            ("volatility", v, case["volatility"].as_f64().unwrap()),
            ("sharpe", s, case["sharpe"].as_f64().unwrap()),
        ] {
            let d = rel(got, want, 1e-12);
            assert!(
                d <= 1e-6,
                "{name}: {what} got {got} want {want} (rel {d:e})"
            );
        }
        // portfolio_performance itself on the reference weights is exact.
        let p2 = portfolio_performance(&want, Some(&mu), &cov, rf).unwrap();
        assert!(
            rel(p2.volatility, case["volatility"].as_f64().unwrap(), 1e-12) < 1e-9,
            "{name}: perf of reference weights"
        );
    }
    cases.len()
}

fn check_hrp(u: &Universe) {
    let cov = sample_cov(&u.returns, D).unwrap().cov;
    let mu = mean_historical_return(&u.returns, false, D).unwrap();
    for (name, link) in [
        ("single", Linkage::Single),
        ("complete", Linkage::Complete),
        ("average", Linkage::Average),
        ("ward", Linkage::Ward),
    ] {
        let case = &u.fx["hrp"][name];
        let sol = hrp(&cov, link).unwrap();
        let order: Vec<usize> = case["order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(sol.order, order, "HRP {name}: quasi-diagonal order");
        let want = vecf(&case["weights"]);
        assert_vec_rel(&format!("HRP {name} weights"), &sol.weights, &want, 1e-8);
        let perf =
            portfolio_performance(&sol.weights, Some(&mu), &cov, case["rf"].as_f64().unwrap())
                .unwrap();
        assert!(
            rel(
                perf.expected_return.unwrap(),
                case["expected_return"].as_f64().unwrap(),
                1e-12
            ) < 1e-6
        );
        assert!(rel(perf.volatility, case["volatility"].as_f64().unwrap(), 1e-12) < 1e-6);
        assert!(
            rel(
                perf.sharpe.unwrap(),
                case["sharpe"].as_f64().unwrap(),
                1e-12
            ) < 1e-6
        );
    }
}

fn check_allocation(u: &Universe) {
    for (name, case) in u.fx["allocation"].as_object().unwrap() {
        let src = case["weights_from"].as_str().unwrap();
        let weights: Vec<f64> = u.fx["frontier"]["cases"][src]["weights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        // PyPortfolioOpt's optimal weights carry ±1e-12 noise; the greedy method only buys assets
        // with positive deficit, so the reference is reproduced from the exact same weights.
        let weights: Vec<f64> = weights.iter().map(|w| w.max(0.0)).collect();
        let prices: Vec<f64> = case["latest_prices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let last = u.prices.row(u.prices.nrows() - 1);
        for (i, p) in prices.iter().enumerate() {
            // pandas' default CSV float parser may be 1 ulp off the correctly rounded value.
            assert!(
                rel(*p, last[i], 1e-12) < 1e-14,
                "{name}: latest price of {}",
                u.tickers[i]
            );
        }
        let req = AllocationRequest {
            weights,
            prices,
            lot_sizes: vec![],
            total_value: case["total_value"].as_f64().unwrap(),
        };
        let g = greedy_allocation(&req).unwrap();
        let want: Vec<u64> = case["greedy_shares"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        assert_eq!(g.shares, want, "{name}: greedy shares");
        assert!(
            (g.leftover - case["greedy_leftover"].as_f64().unwrap()).abs() < 1e-6,
            "{name}: greedy leftover {}",
            g.leftover
        );
        let e = exact_allocation(&req).unwrap();
        assert!(
            e.proven_optimal,
            "{name}: exact allocation not proven optimal"
        );
        let lp_obj = case["lp_objective"].as_f64().unwrap();
        assert!(
            e.objective <= lp_obj + 1e-6,
            "{name}: exact objective {} worse than ECOS_BB's {lp_obj}",
            e.objective
        );
        assert!(
            e.objective <= g.objective + 1e-9,
            "{name}: exact worse than greedy"
        );
        assert!(e.leftover >= -1e-9);
    }
}

fn check_non_psd(u: &Universe) {
    let case = &u.fx["non_psd"];
    let input = matf(&case["input"]);
    assert!(!pulse_optimize::risk_models::is_positive_semidefinite(
        &input
    ));
    let (fixed, warning) = fix_nonpositive_semidefinite(&input).unwrap();
    let warning = warning.expect("a repair warning");
    assert!(warning.contains("not positive semidefinite"), "{warning}");
    assert_mat_rel("non-PSD repair", &fixed, &matf(&case["fixed"]), 1e-10);
    let (again, w2) = fix_nonpositive_semidefinite(&fixed).unwrap();
    assert!(w2.is_none() || again == fixed);
}

fn run(name: &str) {
    let u = universe(name);
    check_non_psd(&u);
    check_expected_returns(&u);
    check_risk_models(&u);
    let n = check_frontier(&u);
    assert!(n >= 12, "{name}: frontier cases {n}");
    check_hrp(&u);
    check_allocation(&u);
}

#[test]
fn etf15_matches_pypfopt() {
    run("etf15");
}

#[test]
fn stocks12_matches_pypfopt() {
    run("stocks12");
}
