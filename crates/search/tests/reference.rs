//! Worked examples against independent numpy/scipy references
//! (scripts/reference/search/make_fixtures.py → fixtures/reference.json): Φ, Φ⁻¹, PSR, DSR on real
//! SPY daily returns and on a synthetic fat-tailed series, PBO by CSCV on a seeded matrix.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pulse_search::{
    PboMetric, deflated_sharpe_ratio, normal, pbo_cscv, probabilistic_sharpe_ratio, return_stats,
};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    let err = (a - b).abs() / b.abs().max(1.0);
    assert!(err <= tol, "{what}: got {a:e}, want {b:e} (error {err:e})");
}

/// Simple close-to-close returns of shared/data/daily-adjclose/SPY.csv.
fn spy_returns() -> Vec<f64> {
    let path = pulse_testkit::shared_file("daily-adjclose/SPY.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let closes: Vec<f64> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').nth(1).unwrap().trim().parse().unwrap())
        .collect();
    closes.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
}

#[test]
fn normal_cdf_sf_ppf_match_scipy() {
    let fx = fixture();
    for case in fx["normal"].as_array().unwrap() {
        let x = f(&case["x"]);
        // Relative precision where values are representable, absolute 1e-15 near 0/1.
        let (cdf, sf) = (normal::cdf(x), normal::sf(x));
        let (wc, ws) = (f(&case["cdf"]), f(&case["sf"]));
        assert!(
            (cdf - wc).abs() <= 1e-12 * wc.abs() + 1e-300,
            "cdf({x}) = {cdf:e}, scipy {wc:e}"
        );
        assert!(
            (sf - ws).abs() <= 1e-12 * ws.abs() + 1e-300,
            "sf({x}) = {sf:e}, scipy {ws:e}"
        );
    }
    for case in fx["ppf"].as_array().unwrap() {
        let p = f(&case["p"]);
        let want = f(&case["ppf"]);
        close(normal::ppf(p), want, 1e-12, &format!("ppf({p:e})"));
    }
}

#[test]
fn psr_and_dsr_match_scipy_on_spy_and_synthetic_returns() {
    let fx = fixture();
    let spy = spy_returns();
    let cases = fx["dsr"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let returns: Vec<f64> = match case.get("returns") {
            Some(r) => r.as_array().unwrap().iter().map(f).collect(),
            None => {
                let tail = case["spy_tail"].as_u64().unwrap() as usize;
                if tail == 0 {
                    spy.clone()
                } else {
                    spy[spy.len() - tail..].to_vec()
                }
            }
        };
        let sharpes: Vec<f64> = case["trial_sharpes"]
            .as_array()
            .unwrap()
            .iter()
            .map(f)
            .collect();
        let e = &case["expected"];
        assert_eq!(returns.len() as u64, e["n"].as_u64().unwrap(), "{name}: n");
        let st = return_stats(&returns).unwrap();
        for (got, key) in [
            (st.mean, "mean"),
            (st.std, "std"),
            (st.sharpe, "sharpe"),
            (st.skewness, "skewness"),
            (st.kurtosis, "kurtosis"),
        ] {
            close(got, f(&e[key]), 1e-9, &format!("{name}: {key}"));
        }
        let d = deflated_sharpe_ratio(&returns, &sharpes).unwrap();
        close(
            d.trial_sharpe_variance,
            f(&e["trial_sharpe_variance"]),
            1e-9,
            &format!("{name}: V"),
        );
        close(
            d.sharpe_null,
            f(&e["sharpe_null"]),
            1e-9,
            &format!("{name}: SR0"),
        );
        close(d.dsr, f(&e["dsr"]), 1e-9, &format!("{name}: DSR"));
        for (bench, key) in [(0.0, "psr_0"), (0.05, "psr_bench")] {
            let p = probabilistic_sharpe_ratio(st.sharpe, bench, st.n, st.skewness, st.kurtosis)
                .unwrap();
            close(p, f(&e[key]), 1e-9, &format!("{name}: {key}"));
        }
    }
}

#[test]
fn pbo_cscv_matches_python_reference() {
    let fx = fixture();
    let c = &fx["cscv"];
    let (t, n) = (
        c["n_periods"].as_u64().unwrap() as usize,
        c["n_trials"].as_u64().unwrap() as usize,
    );
    let flat: Vec<f64> = c["matrix_row_major"]
        .as_array()
        .unwrap()
        .iter()
        .map(f)
        .collect();
    assert_eq!(flat.len(), t * n);
    let trials: Vec<Vec<f64>> = (0..n)
        .map(|j| (0..t).map(|i| flat[i * n + j]).collect())
        .collect();
    for case in c["cases"].as_array().unwrap() {
        let s = case["blocks"].as_u64().unwrap() as usize;
        let metric = match case["metric"].as_str().unwrap() {
            "sharpe" => PboMetric::Sharpe,
            _ => PboMetric::Mean,
        };
        let got = pbo_cscv(&trials, s, metric).unwrap();
        let what = format!("S={s} {metric:?}");
        close(got.pbo, f(&case["pbo"]), 1e-12, &format!("{what}: PBO"));
        let head: Vec<f64> = case["logits_head"]
            .as_array()
            .unwrap()
            .iter()
            .map(f)
            .collect();
        for (i, (a, b)) in got.logits.iter().zip(&head).enumerate() {
            close(*a, *b, 1e-9, &format!("{what}: logit #{i}"));
        }
        close(
            got.logits.iter().sum(),
            f(&case["logit_sum"]),
            1e-9,
            &format!("{what}: logit sum"),
        );
    }
}

#[test]
fn parzen_estimator_matches_optuna() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/optuna_parzen.json"
    );
    let fx: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = fx["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let spec: pulse_search::ParamSpec = serde_json::from_value(case["spec"].clone()).unwrap();
        let obs: Vec<f64> = case["observations"]
            .as_array()
            .unwrap()
            .iter()
            .map(f)
            .collect();
        let xs: Vec<f64> = case["xs"].as_array().unwrap().iter().map(f).collect();
        let want: Vec<f64> = case["log_pdf"].as_array().unwrap().iter().map(f).collect();
        // Exact bin masses: the same estimator as Optuna to 1e-9.
        let exact = pulse_search::tpe::parzen_log_pdf(&spec, &obs, 1.0, &xs, true);
        assert_eq!(exact.len(), want.len());
        for ((x, g), w) in xs.iter().zip(&exact).zip(&want) {
            assert!(
                (g - w).abs() < 1e-9,
                "{name}: log_pdf({x}) = {g}, Optuna {w}"
            );
        }
        // What TPE samples with (fast erfc, fractional error < 1.2e-7): 1e-5 in log space.
        let got = pulse_search::tpe::parzen_log_pdf(&spec, &obs, 1.0, &xs, false);
        for ((x, g), w) in xs.iter().zip(&got).zip(&want) {
            assert!(
                (g - w).abs() < 1e-5,
                "{name} (fast): log_pdf({x}) = {g}, Optuna {w}"
            );
        }
        // The stepped distributions are probability mass functions over the grid.
        if spec.step() > 0.0 {
            let total: f64 = got.iter().map(|l| l.exp()).sum();
            assert!((total - 1.0).abs() < 1e-6, "{name}: mass {total}");
        }
    }
}
