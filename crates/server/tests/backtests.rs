//! The dashboard's backtests pages over real HTTP with the bundled real TSLA/TSLL data: run a
//! backtest from the form or the API, open its report and its settings, compare two runs, and
//! bad input answered 400 naming the field.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use pulse_server::Dashboard;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, LOCATION};
use serde_json::{Value, json};

const TOKEN: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

async fn start() -> (String, reqwest::Client, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<_> = ["TSLA", "TSLL", "VIX", "FEAR_GREED"]
        .iter()
        .map(|n| pulse_testkit::bundle_dir().join(format!("{n}.csv")))
        .collect();
    let store = common::store_with(&dir, &files).await;
    let (base, http) = common::serve(Dashboard::new(store, TOKEN.into())).await;
    (base, http, dir)
}

fn form(commission: &str) -> Value {
    json!({"from": "2024-01-01", "to": "2024-12-31", "cash": "100000",
           "commission": commission, "slippage_bps": "0", "fill": "next_open"})
}

#[tokio::test]
async fn a_backtest_runs_from_the_api_and_the_form_and_two_runs_compare() {
    let (base, http, _dir) = start().await;
    let api = |body: Value| {
        http.post(format!("{base}/api/backtests"))
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
            .json(&body)
            .send()
    };
    let r = api(form("0.001")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let first: Value = r.json().await.unwrap();
    let id = first["run_id"].as_i64().unwrap();
    let report = http
        .get(format!("{base}{}", first["report"].as_str().unwrap()))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(report.status(), StatusCode::OK);
    let page = report.text().await.unwrap();
    assert!(page.contains("Buy &amp; hold TSLA") || page.contains("Buy & hold TSLA"));
    assert!(page.contains("2024-01-02") && !page.contains("https://"));
    // The run is recorded with its settings: the API's run list has it.
    let runs: Value = http
        .get(format!("{base}/api/runs"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(runs[0]["id"], id);

    // From the browser form, with the session's CSRF token.
    let cookie = common::login(&http, &base, TOKEN).await;
    let get = |path: String| {
        http.get(format!("{base}{path}"))
            .header(COOKIE, &cookie)
            .send()
    };
    let page = get("/backtest".into()).await.unwrap().text().await.unwrap();
    let csrf = common::csrf_of(&page);
    let body = format!(
        "csrf={csrf}&from=2024-01-01&to=2024-12-31&cash=100000&commission=0.002&slippage_bps=5&fill=next_close"
    );
    let r = http
        .post(format!("{base}/backtest"))
        .header(COOKIE, &cookie)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    // The form starts the run in the background and shows its progress until the report.
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let job = r.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(job.starts_with("/backtest/jobs/"), "{job}");
    let job_id = job.trim_start_matches("/backtest/jobs/");
    let state = loop {
        let s: Value = http
            .get(format!("{base}/api/backtests/jobs/{job_id}"))
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_ne!(s["state"], "failed", "{s}");
        if s["state"] == "done" {
            break s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    // Every bar of 2024 was stepped through.
    assert_eq!(state["done"], state["total"], "{state}");
    assert!(state["total"].as_u64().unwrap() >= 250, "{state}");
    let r = get(job.clone()).await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "a finished job opens its report"
    );
    let location = r.headers()[LOCATION].to_str().unwrap().to_string();
    assert_eq!(Some(location.as_str()), state["report"].as_str());
    let second: i64 = location
        .trim_start_matches("/runs/")
        .trim_end_matches("/report")
        .parse()
        .unwrap();
    assert_eq!(state["run_id"], second);
    assert_eq!(get(location).await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        get("/backtest/jobs/999".into()).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // The run's page shows its settings; the comparison names what differs.
    let page = get(format!("/runs/{second}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("Run #{second}")) && page.contains("Total return"));
    assert!(
        page.contains("next_close"),
        "the fill rule is among the settings"
    );
    let page = get(format!("/runs/compare?a={id}&b={second}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for setting in ["commission_rate", "slippage_bps", "fill_price"] {
        assert!(page.contains(setting), "{setting} differs");
    }
    // The data page and API list the stored series.
    let page = get("/data".into()).await.unwrap().text().await.unwrap();
    assert!(page.contains("TSLL") && page.contains("FEAR_GREED"));
    let data: Value = http
        .get(format!("{base}/api/data"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tsla = data
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["symbol"] == "TSLA")
        .unwrap();
    assert!(tsla["rows"].as_u64().unwrap() > 1_000, "{tsla}");
    // A run recorded elsewhere has no report here.
    let r = get("/runs/999/report".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = get("/runs/999".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_backtest_input_is_a_400_naming_the_field() {
    let (base, http, _dir) = start().await;
    let post = |body: Value| {
        http.post(format!("{base}/api/backtests"))
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
            .json(&body)
            .send()
    };
    for (field, value, named) in [
        ("commission", "abc", "commission"),
        ("commission", "2", "commission"),
        ("cash", "-100", "cash"),
        ("slippage_bps", "-500", "slippage_bps"),
        ("from", "2024-13-01", "from"),
    ] {
        let mut body = form("0.001");
        body[field] = json!(value);
        let r = post(body).await.unwrap();
        let status = r.status();
        let j: Value = r.json().await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}={value}: {j}");
        assert_eq!(j["field"], named, "{field}={value}: {j}");
    }
    // A strategy file that is not a rule set: 400 naming the field, with the parser's reason.
    let mut body = form("0.001");
    body["strategy"] = json!("[symbols]\nbase = 3");
    let r = post(body).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let j: Value = r.json().await.unwrap();
    assert_eq!(j["field"], "strategy", "{j}");
    assert!(
        j["error"].as_str().unwrap().contains("the form's strategy"),
        "{j}"
    );
    // A valid one is run: its own rule set is recorded with the run.
    let (_, toml) = pulse_app::backtest::RunSettings::default()
        .load_strategy()
        .unwrap();
    assert!(toml.contains("rsi_period = 14"));
    let toml = toml.replace("rsi_period = 14", "rsi_period = 11");
    let mut body = form("0.001");
    body["strategy"] = json!(toml);
    let r = post(body).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let j: Value = r.json().await.unwrap();
    let runs: Value = http
        .get(format!("{base}/api/runs?limit=5"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r.to_string().contains(&format!("\"id\":{}", j["run_id"])))
        .unwrap_or_else(|| panic!("run {} listed: {runs}", j["run_id"]));
    assert!(run.to_string().contains("rsi_period = 11"), "{run}");
    let mut body = form("0.001");
    body["fill"] = json!("sideways");
    assert!(post(body).await.unwrap().status().is_client_error());
    // No token: refused before anything runs.
    let r = http
        .post(format!("{base}/api/backtests"))
        .json(&form("0.001"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// Polls a sweep until it is no longer running (at most a minute); its last state.
async fn finished(http: &reqwest::Client, base: &str, id: u64) -> Value {
    for _ in 0..600 {
        let s: Value = http
            .get(format!("{base}/api/sweeps/{id}"))
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["state"] != "running" {
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("sweep #{id} still running after a minute");
}

#[tokio::test]
async fn a_sweep_runs_in_the_background_reports_progress_and_can_be_cancelled() {
    let (base, http, _dir) = start().await;
    let launch = |params: &str, budget: u64| {
        http.post(format!("{base}/api/sweeps"))
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
            .json(
                &json!({"params": params, "constraints": "rsi_low < rsi_high",
                          "objective": "sharpe", "method": "grid", "budget": budget}),
            )
            .send()
    };
    let r = launch("rsi_high=65:80:5\nrsi_low=20:35:5", 100)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let id = r.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    let s = finished(&http, &base, id).await;
    assert_eq!(s["state"], "done", "{s}");
    assert_eq!(s["outcome"]["trials"], 16, "{s}");
    assert_eq!(s["done"], s["total"], "{s}");
    let report = http
        .get(format!("{base}{}", s["report"].as_str().unwrap()))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(report.status(), StatusCode::OK);
    assert!(report.text().await.unwrap().contains("Parameter search"));

    // A large grid, cancelled at once: it stops early and keeps what finished.
    let r = launch("rsi_high=50:90:0.5\nrsi_low=10:45:0.5", 10_000)
        .await
        .unwrap();
    let id = r.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    let r = http
        .post(format!("{base}/api/sweeps/{id}/cancel"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let s = finished(&http, &base, id).await;
    assert_eq!(s["state"], "cancelled", "{s}");
    assert!(s["outcome"]["trials"].as_u64().unwrap() < 5_000, "{s}");

    // A name the rule set does not have is refused naming it (when the request is checked, or
    // when the sweep reads the rule set); a budget of 0 is a 400 naming the budget.
    let r = launch("nope=1:2\nrsi_high=65:80:5\nrsi_low=20:35:5", 10)
        .await
        .unwrap();
    let status = r.status();
    let j: Value = r.json().await.unwrap();
    let error = if status == StatusCode::OK {
        let s = finished(&http, &base, j["id"].as_u64().unwrap()).await;
        assert_eq!(s["state"], "failed", "{s}");
        s["error"].as_str().unwrap().to_string()
    } else {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{j}");
        assert_eq!(j["field"], "params", "{j}");
        j["error"].as_str().unwrap().to_string()
    };
    assert!(error.contains("nope"), "{error}");
    let r = launch("rsi_high=65:80:5\nrsi_low=20:35:5", 0)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let j: Value = r.json().await.unwrap();
    assert_eq!(j["field"], "budget", "{j}");
    // An unknown sweep is a 404.
    let r = http
        .get(format!("{base}/api/sweeps/99"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
