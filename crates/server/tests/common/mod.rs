//! Shared by the server's HTTP tests: real data into a real SQLite store, the dashboard on
//! 127.0.0.1:0, a client that does not follow redirects (so 303s and their cookies are seen), a
//! browser login and the CSRF token of a page.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use pulse_core::ports::{ImportBatch, Store};
use pulse_server::{Dashboard, router};
use reqwest::header::{CONTENT_TYPE, SET_COOKIE};
use std::path::PathBuf;
use std::sync::Arc;
use store_sqlite::SqliteStore;

/// Parses real CSV files (the bundle, the shared data) into import batches.
pub fn batches(files: &[PathBuf]) -> Vec<ImportBatch> {
    let mut out = Vec::new();
    for path in files {
        let bytes = std::fs::read(path).unwrap();
        let parsed = data_csv::parse_reader(
            &path.display().to_string(),
            &bytes[..],
            &data_csv::ImportOptions::default(),
        )
        .unwrap();
        out.extend(parsed.into_batches().unwrap());
    }
    out
}

/// A store in `dir` holding `files`.
pub async fn store_with(dir: &tempfile::TempDir, files: &[PathBuf]) -> SqliteStore {
    let store = SqliteStore::open(&dir.path().join("pulse.db"))
        .await
        .unwrap();
    if !files.is_empty() {
        store.import(&batches(files)).await.unwrap();
    }
    store
}

/// Serves `dashboard` on 127.0.0.1:0; its base URL and a client that does not follow redirects.
pub async fn serve(dashboard: Dashboard<SqliteStore>) -> (String, reqwest::Client) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(pulse_server::serve(listener, router(Arc::new(dashboard))));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (base, http)
}

/// Logs in with `token`; the session cookie (`name=value`), after checking its attributes.
pub async fn login(http: &reqwest::Client, base: &str, token: &str) -> String {
    let r = http
        .post(format!("{base}/login"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    let set = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    set.split(';').next().unwrap().to_string()
}

/// The CSRF token a page's forms carry.
pub fn csrf_of(page: &str) -> String {
    let key = "name=\"csrf\" value=\"";
    let at = page.find(key).unwrap() + key.len();
    page[at..at + page[at..].find('"').unwrap()].to_string()
}
