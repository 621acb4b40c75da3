//! The dashboard over real HTTP on 127.0.0.1:0 with a real SQLite store: authentication (no
//! token, wrong token, expired session, rate-limited logins), CSRF on form and API posts, bad
//! input naming its field, and the rebalancing admin's time travel moving the pending counter.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use pulse_server::{Dashboard, router};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, LOCATION};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use store_sqlite::SqliteStore;

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct Server {
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start(ttl: Duration) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pulse.db");
    let store = SqliteStore::open(&db).await.unwrap();
    let dashboard = Arc::new(Dashboard::new(store, TOKEN.into()).with_session_ttl(ttl));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(pulse_server::serve(listener, router(dashboard)));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Server {
        base,
        http,
        _dir: dir,
    }
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str, auth: Option<&str>) -> reqwest::Response {
        let mut r = self.http.get(self.url(path));
        if let Some(t) = auth {
            r = r.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        r.send().await.unwrap()
    }

    async fn post_json(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn form(&self, path: &str, cookie: Option<&str>, body: &str) -> reqwest::Response {
        let mut r = self
            .http
            .post(self.url(path))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.to_string());
        if let Some(c) = cookie {
            r = r.header(COOKIE, c);
        }
        r.send().await.unwrap()
    }

    /// Logs in; the session cookie.
    async fn login(&self) -> String {
        common::login(&self.http, &self.base, TOKEN).await
    }

    async fn page(&self, path: &str, cookie: &str) -> (StatusCode, String) {
        let r = self
            .http
            .get(self.url(path))
            .header(COOKIE, cookie)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

use common::csrf_of;

#[tokio::test]
async fn the_api_needs_the_token_and_never_returns_it() {
    let s = start(Duration::from_secs(3600)).await;
    for path in [
        "/api/runs",
        "/api/clock",
        "/api/rebalance/status",
        "/api/rebalance/history",
    ] {
        assert_eq!(
            s.get(path, None).await.status(),
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
        assert_eq!(
            s.get(path, Some("wrong")).await.status(),
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    let r = s
        .http
        .post(s.url("/api/rebalance/run"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // With the token.
    let r = s.get("/api/runs", Some(TOKEN)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), json!([]));
    // Not set up yet: 409 with the reason.
    let r = s.get("/api/rebalance/status", Some(TOKEN)).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body = r.text().await.unwrap();
    assert!(body.contains("pulse rebalance init") && !body.contains(TOKEN));
    // Pages send an anonymous browser to the login page.
    for path in ["/", "/rebalance"] {
        let r = s.get(path, None).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()[LOCATION], "/login");
    }
    // The OpenAPI document is public and lists the endpoints.
    let doc: Value = s.get("/api/openapi.json", None).await.json().await.unwrap();
    for path in [
        "/api/runs",
        "/api/clock",
        "/api/rebalance/status",
        "/api/rebalance/run",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    // Logged in, no page or answer shows the token.
    let cookie = s.login().await;
    for path in ["/", "/rebalance"] {
        let (status, page) = s.page(path, &cookie).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!page.contains(TOKEN), "{path} shows the token");
    }
}

#[tokio::test]
async fn logins_are_rate_limited_and_sessions_expire() {
    let s = start(Duration::from_secs(3600)).await;
    for _ in 0..5 {
        let r = s.form("/login", None, "token=guess").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // The sixth attempt within the minute is refused even with the right token.
    let r = s.form("/login", None, &format!("token={TOKEN}")).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);

    let short = start(Duration::from_millis(300)).await;
    let cookie = short.login().await;
    assert_eq!(short.page("/", &cookie).await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, _) = short.page("/", &cookie).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "an expired session logs in again"
    );
    let r = short
        .http
        .get(short.url("/api/runs"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn form_posts_need_the_sessions_csrf_token() {
    let s = start(Duration::from_secs(3600)).await;
    let cookie = s.login().await;
    let (_, page) = s.page("/rebalance", &cookie).await;
    let csrf = csrf_of(&page);
    // Without or with a wrong csrf token: refused, the clock unchanged.
    for body in [
        "action=at&time=08:30".to_string(),
        "action=at&time=08:30&csrf=forged".to_string(),
    ] {
        let r = s.form("/rebalance/clock", Some(&cookie), &body).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{body}");
    }
    let clock: Value = s.get("/api/clock", Some(TOKEN)).await.json().await.unwrap();
    assert_eq!(clock["simulated"], false);
    // With it: done, back to the admin page.
    let body = format!("action=set&time=2024-01-02T08:00&csrf={csrf}");
    let r = s.form("/rebalance/clock", Some(&cookie), &body).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let clock: Value = s.get("/api/clock", Some(TOKEN)).await.json().await.unwrap();
    assert_eq!(clock["simulated"], true);
    // An API change from the browser session needs X-CSRF-Token too.
    let r = s
        .http
        .post(s.url("/api/clock"))
        .header(COOKIE, &cookie)
        .json(&json!({"action": "reset"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = s
        .http
        .post(s.url("/api/clock"))
        .header(COOKIE, &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"action": "reset"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn bad_input_is_a_400_naming_the_field() {
    let s = start(Duration::from_secs(3600)).await;
    for (body, field) in [
        (json!({"action": "advance", "by": "3w"}), "by"),
        (json!({"action": "advance", "by": "99999999999d"}), "by"),
        (json!({"action": "set", "time": "yesterday"}), "time"),
        (json!({"action": "at", "time": "25:99"}), "time"),
        (json!({"action": "jump"}), "action"),
    ] {
        let r = s.post_json("/api/clock", body.clone()).await;
        let status = r.status();
        let j: Value = r.json().await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {j}");
        if j["field"].is_string() {
            assert_eq!(j["field"], field, "{body}: {j}");
        }
        assert!(
            j["error"].as_str().unwrap().contains(field) || j["field"] == field,
            "{body}: {j}"
        );
    }
    // A body that is not the request's shape, a limit that is not a number.
    let r = s.post_json("/api/clock", json!({"time": 3})).await;
    assert!(r.status().is_client_error());
    let r = s.get("/api/runs?limit=abc", Some(TOKEN)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

/// The admin's time travel does what `pulse clock` and `pulse rebalance run` do: a pending MP's
/// day counter moves with each "+1 day, 08:30, run now".
#[tokio::test]
async fn time_travel_moves_the_pending_counter() {
    let s = start(Duration::from_secs(3600)).await;
    // Set up and the signal through the API (the admin page's forms make the same calls).
    let r = s
        .post_json(
            "/api/rebalance/init",
            json!({"cash": "100000", "calendar": "nyse", "commission": "0.001"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = s
        .post_json(
            "/api/rebalance/init",
            json!({"cash": "100000", "calendar": "nyse", "commission": "0.001"}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CONFLICT,
        "set up once, unless forced"
    );
    for (body, field) in [
        (
            json!({"cash": "100000", "calendar": "nyse", "commission": "2", "force": "on"}),
            "commission",
        ),
        (
            json!({"cash": "abc", "calendar": "nyse", "commission": "0.001", "force": "on"}),
            "cash",
        ),
        (json!({"mp": "stocks"}), "mp"),
        (json!({"mp": "stocks=0.7,bonds=0.7"}), "mp"),
        (json!({"sub_mp": "SPY"}), "sub_mp"),
        (json!({}), "mp"),
    ] {
        let path = if body.get("calendar").is_some() {
            "/api/rebalance/init"
        } else {
            "/api/rebalance/signal"
        };
        let r = s.post_json(path, body.clone()).await;
        let status = r.status();
        let j: Value = r.json().await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {j}");
        assert_eq!(j["field"], field, "{body}: {j}");
    }
    let r = s
        .post_json(
            "/api/rebalance/signal",
            json!({"mp": "stocks=0.6,bonds=0.4", "sub_mp": "stocks=SPY\nbonds=TLT"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = s
        .post_json(
            "/api/clock",
            json!({"action": "set", "time": "2024-01-02T08:00"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let clock: Value = r.json().await.unwrap();
    assert_eq!(clock["now"], "2024-01-02T13:00:00Z", "08:00 New York");
    let cookie = s.login().await;
    for day in 1..=2u64 {
        let (_, page) = s.page("/rebalance", &cookie).await;
        let csrf = csrf_of(&page);
        for body in ["action=at&time=08:30", "run"] {
            let (path, body) = if body == "run" {
                ("/rebalance/run", format!("csrf={csrf}"))
            } else {
                ("/rebalance/clock", format!("{body}&csrf={csrf}"))
            };
            let r = s.form(path, Some(&cookie), &body).await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        }
        let status: Value = s
            .get("/api/rebalance/status", Some(TOKEN))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(status["pending"]["mp"]["days"], day, "{status}");
        let (_, page) = s.page("/rebalance", &cookie).await;
        assert!(
            page.contains(&format!("<td class=\"num days\">{day}</td>")),
            "day {day}"
        );
        let r = s
            .post_json("/api/clock", json!({"action": "advance", "by": "1d"}))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let history: Value = s
        .get("/api/rebalance/history", Some(TOKEN))
        .await
        .json()
        .await
        .unwrap();
    assert!(history.as_array().unwrap().len() >= 4);
}
