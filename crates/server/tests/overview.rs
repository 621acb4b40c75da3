//! The overview's trading part on the bundled data: a paper runner started and caught up by time
//! travel shows its daily equity curve, figures that follow from the curve by the textbook
//! definitions, its benchmark (TSLA bought and held: the ratio of the stored closes), its
//! composition (weights summing to 1), the recent trades and the alert feed; the page draws the
//! chart and the pie; the runners' state stream reports a stop; nothing without the token.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use pulse_core::{Symbol, Timeframe};
use pulse_server::Dashboard;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, COOKIE};
use serde_json::{Value, json};

const TOKEN: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

async fn post(http: &reqwest::Client, url: String, body: Option<Value>) -> (StatusCode, Value) {
    let mut r = http
        .post(url)
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"));
    if let Some(b) = body {
        r = r
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(b.to_string());
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[tokio::test]
async fn the_overview_shows_each_runners_curve_figures_composition_trades_and_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<_> = ["TSLA", "TSLL", "VIX", "FEAR_GREED"]
        .iter()
        .map(|n| pulse_testkit::bundle_dir().join(format!("{n}.csv")))
        .collect();
    let store = common::store_with(&dir, &files).await;
    let (base, http) = common::serve(Dashboard::new(store.clone(), TOKEN.into())).await;
    let clock = |t: &str| json!({"action": "set", "time": t});

    // Without the token: nothing.
    for path in ["/api/overview", "/api/trade/stream"] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }

    post(
        &http,
        format!("{base}/api/clock"),
        Some(clock("2024-03-01T12:00:00Z")),
    )
    .await;
    let (st, v) = post(&http, format!("{base}/api/trade/desk-1/start"), None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    post(
        &http,
        format!("{base}/api/clock"),
        Some(clock("2024-06-03T12:00:00Z")),
    )
    .await;
    let (st, v) = post(&http, format!("{base}/api/trade/desk-1/run"), None).await;
    assert_eq!(st, StatusCode::OK, "{v}");

    let o: Value = http
        .get(format!("{base}/api/overview"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = &o["runners"][0];
    assert_eq!(r["meta"]["name"], "desk-1");
    let curve: Vec<f64> = r["curve"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| f(&p["equity"]))
        .collect();
    // The start and one point per trading day from March 1 to May 31 (64 NYSE sessions).
    assert!(curve.len() >= 60, "{}", curve.len());
    let days: Vec<&str> = r["curve"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["day"].as_str().unwrap())
        .collect();
    assert!(
        days.windows(2).all(|w| w[0] < w[1]),
        "one point a day, in order"
    );
    // The figures follow from the curve.
    let fig = &r["figures"];
    let n = curve.len();
    assert!((f(&fig["equity"]) - curve[n - 1]).abs() < 1e-6);
    assert!((f(&fig["total_return"]) - (curve[n - 1] / curve[0] - 1.0)).abs() < 1e-12);
    assert!((f(&fig["daily_change"]) - (curve[n - 1] / curve[n - 2] - 1.0)).abs() < 1e-12);
    let returns: Vec<f64> = curve.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
    let mean = returns.iter().sum::<f64>() / returns.len() as f64;
    let sd = (returns.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (returns.len() - 1) as f64)
        .sqrt();
    assert!((f(&fig["sharpe"]) - mean / sd * 252f64.sqrt()).abs() < 1e-9);
    let mut peak = f64::MIN;
    let mut mdd = 0.0f64;
    for e in &curve {
        peak = peak.max(*e);
        mdd = mdd.max(1.0 - e / peak);
    }
    assert!((f(&fig["max_drawdown"]) - mdd).abs() < 1e-12);
    // The benchmark: TSLA's stored closes, scaled to the first equity.
    assert_eq!(r["benchmark"]["symbol"], "TSLA");
    let bench: Vec<Option<f64>> = r["benchmark"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(Value::as_f64)
        .collect();
    assert_eq!(bench.len(), n);
    let bars = pulse_app::market::load_series(
        &store,
        &Symbol::try_new("TSLA").unwrap(),
        Timeframe::D1,
        None,
        None,
    )
    .await
    .unwrap();
    let close_on = |day: &str| {
        bars.iter()
            .rev()
            .find(|b| b.ts.to_string()[..10] <= *day)
            .unwrap()
            .close
    };
    let k = bench.iter().position(Option::is_some).unwrap();
    assert!((bench[k].unwrap() - curve[k]).abs() < 1e-6);
    for i in k..n {
        let want = curve[k] * close_on(days[i]) / close_on(days[k]);
        assert!(
            (bench[i].unwrap() - want).abs() < 1e-6 * want,
            "point {i} ({})",
            days[i]
        );
    }
    // Composition: positions at their last close plus cash make the equity.
    let comp = r["composition"].as_array().unwrap();
    let total: f64 = comp.iter().map(|s| f(&s["value"])).sum();
    let weights: f64 = comp.iter().map(|s| f(&s["weight"])).sum();
    assert!((total - f(&fig["equity"])).abs() < 1e-6 * total, "{total}");
    assert!((weights - 1.0).abs() < 1e-9);
    assert!(comp.iter().any(|s| s["name"] == "cash"));
    // Recent trades, newest first; the feed names the runner's orders.
    let trades = o["recent_trades"].as_array().unwrap();
    assert!(!trades.is_empty() && trades.len() <= 20);
    assert!(
        trades
            .windows(2)
            .all(|w| w[0]["fill"]["ts"].as_str() >= w[1]["fill"]["ts"].as_str())
    );
    assert!(trades.iter().all(|t| t["runner"] == "desk-1"));
    let feed = o["feed"].as_array().unwrap();
    assert!(
        feed.iter().any(|i| i["source"] == "desk-1"
            && (i["kind"] == "order" && i["message"].as_str().unwrap().starts_with("SENT")
                || i["kind"] == "summary"
                    && i["message"].as_str().unwrap().starts_with("SUMMARY desk-1"))),
        "{feed:?}"
    );

    // The page: the runner's figures, its chart and pie, recent trades and alerts.
    let cookie = common::login(&http, &base, TOKEN).await;
    let page = http
        .get(format!("{base}/"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "desk-1: performance",
        "TSLA buy and hold",
        "<svg class=\"pie\"",
        "id=\"recent-trades\"",
        "id=\"feed\"",
        "id=\"report-data\"",
        "/api/trade/stream",
    ] {
        assert!(page.contains(needle), "{needle}");
    }
    assert!(page.contains(&format!("{:+.2}%", (curve[n - 1] / curve[0] - 1.0) * 100.0)));

    // The state stream: the running runner, then its stop.
    let mut stream = http
        .get(format!("{base}/api/trade/stream"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = stream.chunk().await.unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        text.contains("event: runners") && text.contains("\"running\""),
        "{text}"
    );
    let (st, _) = post(&http, format!("{base}/api/trade/desk-1/stop"), None).await;
    assert_eq!(st, StatusCode::OK);
    let mut text = String::new();
    while !text.contains("\"stopped\"") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), stream.chunk())
            .await
            .expect("a runners event within 10 s")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("desk-1"));
}
