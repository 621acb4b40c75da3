#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The risk page and `/api/risk` over real HTTP with a real SQLite store: the defaults until
//! settings are stored, a PUT read back by a GET, refused settings answered 400 naming the field
//! with nothing stored, the form posted like a browser (CSRF, the error beside its field, the
//! "off" checkboxes, reset), no access without the token, and a backtest with the risk
//! checkbox whose report has its Risk section.

mod common;

use pulse_server::Dashboard;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, LOCATION};
use serde_json::{Value, json};

const TOKEN: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

struct Server {
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start(with_data: bool) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<_> = if with_data {
        ["TSLA", "TSLL", "VIX", "FEAR_GREED"]
            .iter()
            .map(|n| pulse_testkit::bundle_dir().join(format!("{n}.csv")))
            .collect()
    } else {
        Vec::new()
    };
    let store = common::store_with(&dir, &files).await;
    let (base, http) = common::serve(Dashboard::new(store, TOKEN.into())).await;
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

    async fn api(&self, method: reqwest::Method, body: Option<&str>) -> (StatusCode, Value) {
        let mut r = self
            .http
            .request(method, self.url("/api/risk"))
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"));
        if let Some(b) = body {
            r = r
                .header(CONTENT_TYPE, "application/json")
                .body(b.to_string());
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap())
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

    async fn post_form(
        &self,
        path: &str,
        cookie: &str,
        fields: &[(String, String)],
    ) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header(COOKIE, cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(urlencoded(fields))
            .send()
            .await
            .unwrap()
    }
}

/// A form body as a browser encodes it.
fn urlencoded(fields: &[(String, String)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// What a browser posts for the page's form `action`: every named input's name and value, a
/// checkbox only when checked.
fn form_fields(page: &str, action: &str) -> Vec<(String, String)> {
    let start = page
        .find(&format!("action=\"{action}\""))
        .expect("the form");
    let form = &page[start..start + page[start..].find("</form>").unwrap()];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let key = format!(" {name}=\"");
        let at = tag.find(&key)? + key.len();
        let value = &tag[at..at + tag[at..].find('"')?];
        Some(value.replace("&quot;", "\"").replace("&amp;", "&"))
    };
    let mut out = Vec::new();
    for piece in form.split("<input").skip(1) {
        let tag = &piece[..piece.find('>').unwrap()];
        // An input without a name (the sliders) is not sent, as in a browser.
        let Some(name) = attr(tag, "name") else {
            continue;
        };
        let value = attr(tag, "value").unwrap_or_default();
        if attr(tag, "type").as_deref() == Some("checkbox") && !tag.contains(" checked") {
            continue;
        }
        out.push((name, value));
    }
    out
}

fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(n, _)| n != name);
    fields.push((name.to_string(), value.to_string()));
}

fn unset(fields: &mut Vec<(String, String)>, name: &str) {
    fields.retain(|(n, _)| n != name);
}

#[tokio::test]
async fn the_api_stores_valid_settings_and_refuses_invalid_ones_naming_the_field() {
    let s = start(false).await;
    // Defaults until something is stored.
    let (status, got) = s.api(reqwest::Method::GET, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["stored"], false);
    assert_eq!(got["config"]["limits"]["max_position"], 0.1);
    assert_eq!(got["config"]["leverage"]["window_days"], 60);
    assert!(
        got["toml"]
            .as_str()
            .unwrap()
            .contains("max_drawdown = 0.15")
    );

    // A PUT of the GET's shape, changed, reads back.
    let mut config = got["config"].clone();
    config["limits"]["max_position"] = json!(0.2);
    config["limits"]["max_sector"] = Value::Null;
    config["correlation"]["enabled"] = json!(true);
    config["leverage"]["levels"] = json!([{"above": 0.04, "leverage": 0.6}]);
    let (status, put) = s.api(reqwest::Method::PUT, Some(&config.to_string())).await;
    assert_eq!(status, StatusCode::OK, "{put}");
    assert_eq!(put["stored"], true);
    let (_, got) = s.api(reqwest::Method::GET, None).await;
    assert_eq!(got["stored"], true);
    assert_eq!(got["config"], config);
    assert!(got["toml"].as_str().unwrap().contains("max_sector = false"));
    // A partial body keeps the defaults for the rest.
    let (status, put) = s
        .api(
            reqwest::Method::PUT,
            Some(r#"{"limits": {"max_position": 0.3}}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{put}");
    assert_eq!(put["config"]["limits"]["max_position"], 0.3);
    assert_eq!(put["config"]["limits"]["max_sector"], 0.3);
    let (_, stored) = s.api(reqwest::Method::GET, None).await;

    // Refused: 400 naming the field, nothing stored.
    for (body, field) in [
        (
            r#"{"limits": {"max_position": 1.5}}"#,
            json!("limits.max_position"),
        ),
        (
            r#"{"limits": {"max_position": "x"}}"#,
            json!("limits.max_position"),
        ),
        (
            r#"{"limits": {"max_positoin": 0.1}}"#,
            json!("limits.max_positoin"),
        ),
        (r#"{"leverage": {"base": 2}}"#, json!("leverage.base")),
        (
            r#"{"leverage": {"levels": [{"above": 0.05, "leverage": -1}]}}"#,
            json!("leverage.levels[0].leverage"),
        ),
        (
            r#"{"correlation": {"window_days": 10, "min_returns": 20}}"#,
            json!("correlation.min_returns"),
        ),
        ("{not json", Value::Null),
    ] {
        let (status, e) = s.api(reqwest::Method::PUT, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {e}");
        assert_eq!(e["field"], field, "{body}: {e}");
        if let Some(f) = field.as_str() {
            assert!(e["error"].as_str().unwrap().contains(f), "{e}");
        }
        let (_, now) = s.api(reqwest::Method::GET, None).await;
        assert_eq!(now, stored, "nothing stored by {body}");
    }

    // DELETE resets to the defaults.
    let (status, reset) = s.api(reqwest::Method::DELETE, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reset["stored"], false);
    assert_eq!(reset["config"]["limits"]["max_position"], 0.1);
    let (_, got) = s.api(reqwest::Method::GET, None).await;
    assert_eq!(got["stored"], false);

    // The OpenAPI document has the three methods.
    let doc: Value = s
        .http
        .get(s.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for method in ["get", "put", "delete"] {
        assert!(doc["paths"]["/api/risk"][method].is_object(), "{method}");
    }
    assert!(doc["components"]["schemas"]["RiskConfig"]["properties"]["limits"].is_object());
    assert!(
        doc["components"]["schemas"]["RiskConfig"]["properties"]["limits"]["properties"]
            ["stop_loss"]
            .is_object(),
        "the stop loss is documented"
    );
    assert!(
        doc["paths"]["/api/backtests"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"]["properties"]["risk"]
            .is_object()
    );
}

#[tokio::test]
async fn the_stop_loss_is_stored_read_back_turned_off_and_refused_out_of_range() {
    let s = start(false).await;
    let (_, got) = s.api(reqwest::Method::GET, None).await;
    assert_eq!(
        got["config"]["limits"]["stop_loss"],
        Value::Null,
        "off by default"
    );
    assert!(got["toml"].as_str().unwrap().contains("stop_loss = false"));

    let (status, put) = s
        .api(
            reqwest::Method::PUT,
            Some(r#"{"limits": {"stop_loss": 0.05}}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{put}");
    let (_, got) = s.api(reqwest::Method::GET, None).await;
    assert_eq!(got["stored"], true);
    assert_eq!(got["config"]["limits"]["stop_loss"], 0.05);
    assert_eq!(
        got["config"]["limits"]["max_position"], 0.1,
        "the rest default"
    );
    assert!(got["toml"].as_str().unwrap().contains("stop_loss = 0.05"));
    let stored = got;

    // 0, 1.5 (and 1: a 100 % stop is none, a string) are refused naming the field; nothing stored.
    for bad in ["0", "1.5", "1", "-0.02", "\"5%\""] {
        let body = format!(r#"{{"limits": {{"stop_loss": {bad}}}}}"#);
        let (status, e) = s.api(reqwest::Method::PUT, Some(&body)).await;
        assert!(status.is_client_error(), "{bad}: {status}");
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {e}");
        assert_eq!(e["field"], "limits.stop_loss", "{bad}: {e}");
        assert!(
            e["error"].as_str().unwrap().contains("limits.stop_loss"),
            "{e}"
        );
        assert_eq!(s.api(reqwest::Method::GET, None).await.1, stored, "{bad}");
    }
    // false turns it off, like the other limits.
    let (status, put) = s
        .api(
            reqwest::Method::PUT,
            Some(r#"{"limits": {"stop_loss": false}}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{put}");
    assert_eq!(put["config"]["limits"]["stop_loss"], Value::Null);

    // The page: a number field, an "off" box (ticked while off) and a 1–10 % slider.
    let cookie = common::login(&s.http, &s.base, TOKEN).await;
    let (_, page) = s.page("/risk", &cookie).await;
    assert!(page.contains("name=\"limits.stop_loss\""));
    assert!(
        page.contains("data-for=\"limits.stop_loss\" min=\"0.01\" max=\"0.1\""),
        "the 1–10 % slider"
    );
    let fields = form_fields(&page, "/risk");
    assert!(fields.contains(&("limits.stop_loss.off".into(), "on".into())));
    // Set to 3 % from the form (the box unticked), then read back.
    let mut edit = fields.clone();
    set(&mut edit, "limits.stop_loss", "0.03");
    unset(&mut edit, "limits.stop_loss.off");
    let r = s.post_form("/risk", &cookie, &edit).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, got) = s.api(reqwest::Method::GET, None).await;
    assert_eq!(got["config"]["limits"]["stop_loss"], 0.03);
    let (_, page) = s.page("/risk", &cookie).await;
    let shown = form_fields(&page, "/risk");
    assert!(shown.contains(&("limits.stop_loss".into(), "0.03".into())));
    assert!(!shown.iter().any(|(n, _)| n == "limits.stop_loss.off"));
    assert!(page.contains("stop_loss = 0.03"), "the TOML shows it");
    // Out of range from the form: 400, the error beside the field, nothing stored.
    let stored = got;
    for bad in ["0", "1.5"] {
        let mut edit = shown.clone();
        set(&mut edit, "limits.stop_loss", bad);
        let r = s.post_form("/risk", &cookie, &edit).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        let page = r.text().await.unwrap();
        assert!(page.contains("data-field=\"limits.stop_loss\""), "{bad}");
        assert_eq!(s.api(reqwest::Method::GET, None).await.1, stored);
    }
    // Ticking "off" turns it off again.
    let mut edit = shown.clone();
    set(&mut edit, "limits.stop_loss.off", "on");
    let r = s.post_form("/risk", &cookie, &edit).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, got) = s.api(reqwest::Method::GET, None).await;
    assert_eq!(got["config"]["limits"]["stop_loss"], Value::Null);
}

#[tokio::test]
async fn without_the_token_nothing_is_shown_or_changed() {
    let s = start(false).await;
    let r = s.http.get(s.url("/risk")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/login");
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let r = s
            .http
            .request(method.clone(), s.url("/api/risk"))
            .header(CONTENT_TYPE, "application/json")
            .body(r#"{"limits": {"max_position": 0.2}}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method}");
        let r = s
            .http
            .request(method.clone(), s.url("/api/risk"))
            .header(AUTHORIZATION, "Bearer not-the-token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method}");
    }
    for path in ["/risk", "/risk/reset"] {
        let r = s
            .http
            .post(s.url(path))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("limits.max_position=0.2")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.headers()[LOCATION], "/login");
    }
    let (_, got) = s.api(reqwest::Method::GET, None).await;
    assert_eq!(got["stored"], false, "nothing was stored");
}

#[tokio::test]
async fn the_risk_page_edits_the_settings_with_csrf_and_shows_errors_beside_the_field() {
    let s = start(false).await;
    let cookie = common::login(&s.http, &s.base, TOKEN).await;
    let (status, page) = s.page("/risk", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("href=\"/risk\""),
        "linked from the navigation"
    );
    assert!(page.contains("the defaults"));
    assert!(!page.contains(TOKEN));
    for name in [
        "leverage.enabled",
        "leverage.window_days",
        "leverage.min_returns",
        "leverage.tail",
        "leverage.cvar_weight",
        "leverage.base",
        "leverage.margin",
        "leverage.borrow_rate",
        "leverage.levels[0].above",
        "leverage.levels[1].leverage",
        "limits.max_position",
        "limits.max_sector.off",
        "limits.max_daily_var",
        "limits.stop_loss",
        "limits.stop_loss.off",
        "correlation.enabled",
        "correlation.window_days",
        "correlation.min_returns",
        "correlation.threshold",
    ] {
        assert!(page.contains(&format!("name=\"{name}\"")), "{name}");
    }
    let fields = form_fields(&page, "/risk");
    assert!(fields.contains(&("limits.max_position".into(), "0.1".into())));
    assert!(fields.contains(&("leverage.enabled".into(), "on".into())));

    // Without the session's CSRF token: refused, nothing stored.
    let mut no_csrf = fields.clone();
    set(&mut no_csrf, "csrf", "forged");
    set(&mut no_csrf, "limits.max_position", "0.2");
    let r = s.post_form("/risk", &cookie, &no_csrf).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(s.api(reqwest::Method::GET, None).await.1["stored"], false);

    // Saved: max_position 0.2, the sector cap off, the correlation filter on, a third level.
    let mut edit = fields.clone();
    set(&mut edit, "limits.max_position", "0.2");
    set(&mut edit, "limits.max_sector.off", "on");
    set(&mut edit, "correlation.enabled", "on");
    set(&mut edit, "leverage.levels[2].above", "0.08");
    set(&mut edit, "leverage.levels[2].leverage", "0.25");
    let r = s.post_form("/risk", &cookie, &edit).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/risk");
    let (_, got) = s.api(reqwest::Method::GET, None).await;
    assert_eq!(got["stored"], true);
    let c = &got["config"];
    assert_eq!(c["limits"]["max_position"], 0.2);
    assert_eq!(c["limits"]["max_sector"], Value::Null);
    assert_eq!(c["limits"]["max_drawdown"], 0.15);
    assert_eq!(c["correlation"]["enabled"], true);
    assert_eq!(c["leverage"]["enabled"], true);
    assert_eq!(c["leverage"]["levels"].as_array().unwrap().len(), 3);
    let (_, page) = s.page("/risk", &cookie).await;
    assert!(page.contains("the stored settings"));
    assert!(page.contains("max_position = 0.2"), "the TOML shows it");
    let shown = form_fields(&page, "/risk");
    assert!(shown.contains(&("limits.max_position".into(), "0.2".into())));
    assert!(shown.contains(&("limits.max_sector.off".into(), "on".into())));
    let stored = got;

    // Refused by the application layer: 400, the form again with the error beside the field
    // and the posted values, nothing stored.
    let mut bad = shown.clone();
    set(&mut bad, "limits.max_position", "1.5");
    let r = s.post_form("/risk", &cookie, &bad).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("data-field=\"limits.max_position\""),
        "error beside the field"
    );
    assert!(page.contains("id=\"error\"") && page.contains("(0, 1]"));
    assert!(form_fields(&page, "/risk").contains(&("limits.max_position".into(), "1.5".into())));
    assert_eq!(s.api(reqwest::Method::GET, None).await.1, stored);
    // Not a number, a level's leverage out of range, a level without its leverage.
    for (name, value, field) in [
        ("leverage.window_days", "sixty", "leverage.window_days"),
        ("limits.max_daily_var", "", "limits.max_daily_var"),
        (
            "leverage.levels[1].leverage",
            "3",
            "leverage.levels[1].leverage",
        ),
        (
            "leverage.levels[3].above",
            "0.2",
            "leverage.levels[3].leverage",
        ),
    ] {
        let mut bad = shown.clone();
        set(&mut bad, name, value);
        let r = s.post_form("/risk", &cookie, &bad).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{name}");
        let page = r.text().await.unwrap();
        assert!(
            page.contains(&format!("data-field=\"{field}\"")),
            "{name}: error beside {field}"
        );
        assert_eq!(s.api(reqwest::Method::GET, None).await.1, stored);
    }
    // A cleared row removes its level; an unticked box turns a rule off.
    let mut edit = shown.clone();
    set(&mut edit, "leverage.levels[0].above", "");
    set(&mut edit, "leverage.levels[0].leverage", "");
    unset(&mut edit, "leverage.enabled");
    let r = s.post_form("/risk", &cookie, &edit).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, got) = s.api(reqwest::Method::GET, None).await;
    assert_eq!(got["config"]["leverage"]["enabled"], false);
    assert_eq!(
        got["config"]["leverage"]["levels"],
        json!([{"above": 0.03, "leverage": 0.7}, {"above": 0.08, "leverage": 0.25}])
    );

    // A logged-in browser's API change needs X-CSRF-Token.
    let r = s
        .http
        .put(s.url("/api/risk"))
        .header(COOKIE, &cookie)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Reset to defaults (with the CSRF token).
    let (_, page) = s.page("/risk", &cookie).await;
    let reset = form_fields(&page, "/risk/reset");
    let r = s.post_form("/risk/reset", &cookie, &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no csrf");
    let r = s.post_form("/risk/reset", &cookie, &reset).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, got) = s.api(reqwest::Method::GET, None).await;
    assert_eq!(got["stored"], false);
    let (_, page) = s.page("/risk", &cookie).await;
    assert!(form_fields(&page, "/risk").contains(&("limits.max_position".into(), "0.1".into())));
}

#[tokio::test]
async fn a_backtest_with_the_risk_checkbox_has_a_risk_section() {
    let s = start(true).await;
    let (status, _) = s
        .api(
            reqwest::Method::PUT,
            Some(r#"{"limits": {"max_position": 0.25}}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let run = |risk: Value| {
        let mut body = json!({"from": "2024-01-01", "to": "2024-06-30", "cash": "100000",
            "commission": "0.001", "slippage_bps": "0", "fill": "next_open"});
        if !risk.is_null() {
            body["risk"] = risk;
        }
        s.http
            .post(s.url("/api/backtests"))
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
            .json(&body)
            .send()
    };
    let report = |path: String| {
        s.http
            .get(s.url(&path))
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
            .send()
    };
    // API: with `risk: true` the report has the Risk section with the stored settings.
    let r = run(json!(true)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let out: Value = r.json().await.unwrap();
    let page = report(out["report"].as_str().unwrap().into())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"risk\""));
    assert!(page.contains("max_position = 0.25"), "the stored settings");
    // Without it, no Risk section.
    for off in [Value::Null, json!(false)] {
        let out: Value = run(off).await.unwrap().json().await.unwrap();
        let page = report(out["report"].as_str().unwrap().into())
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!page.contains("id=\"risk\""));
    }

    // The form's checkbox.
    let cookie = common::login(&s.http, &s.base, TOKEN).await;
    let (_, page) = s.page("/backtest", &cookie).await;
    assert!(page.contains("name=\"risk\"") && page.contains("apply the risk settings"));
    let csrf = common::csrf_of(&page);
    let fields: Vec<(String, String)> = [
        ("csrf", csrf.as_str()),
        ("from", "2024-01-01"),
        ("to", "2024-06-30"),
        ("cash", "100000"),
        ("commission", "0.001"),
        ("slippage_bps", "0"),
        ("fill", "next_open"),
        ("risk", "on"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let r = s.post_form("/backtest", &cookie, &fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The form's backtest runs in the background: its job page leads to the report when done.
    let job = r.headers()[LOCATION].to_str().unwrap().to_string();
    let location = loop {
        let r = s
            .http
            .get(s.url(&job))
            .header(reqwest::header::COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::SEE_OTHER {
            break r.headers()[LOCATION].to_str().unwrap().to_string();
        }
        let page = r.text().await.unwrap();
        assert!(!page.contains("Failed"), "{page}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let (status, page) = s.page(&location, &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"risk\""));
    // The run's page records that it ran with the stored settings.
    let run_page = location.trim_end_matches("/report").to_string();
    let (_, page) = s.page(&run_page, &cookie).await;
    assert!(
        page.contains("Stored"),
        "the run's settings name the risk source"
    );
}
