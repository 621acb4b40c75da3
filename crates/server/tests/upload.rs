//! CSV import by upload on the dashboard's data page, over real HTTP: a real ETF file imports in
//! one transaction and again changes nothing, a bad row is refused naming the file and line with
//! nothing written, and the upload needs the token (and the form its CSRF token).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use pulse_server::{CsvParser, Dashboard};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use serde_json::Value;
use std::sync::Arc;

const TOKEN: &str = "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf";
const BOUNDARY: &str = "pulse-test-boundary-7d1f";

async fn start(with_parser: bool) -> (String, reqwest::Client, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut dashboard = Dashboard::new(common::store_with(&dir, &[]).await, TOKEN.into());
    if with_parser {
        let parser: CsvParser = Arc::new(|name: &str, bytes: &[u8]| {
            data_csv::parse_reader(name, bytes, &data_csv::ImportOptions::default())
                .and_then(|p| p.into_batches())
                .map_err(|e| e.to_string())
        });
        dashboard = dashboard.with_csv_parser(parser);
    }
    let (base, http) = common::serve(dashboard).await;
    (base, http, dir)
}

/// A multipart body with the text fields and one file.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(
    http: &reqwest::Client,
    url: String,
    auth: Option<(&str, &str)>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut r = http
        .post(url)
        .header(
            CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body);
    if let Some((header, value)) = auth {
        r = r.header(header, value);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn a_csv_uploads_in_one_transaction_and_a_bad_row_writes_nothing() {
    let (base, http, _dir) = start(true).await;
    let bearer = format!("Bearer {TOKEN}");
    let spy = std::fs::read(pulse_testkit::shared_file("daily-adjclose/SPY.csv")).unwrap();
    let api = format!("{base}/api/data/import");
    let r = upload(
        &http,
        api.clone(),
        None,
        multipart(&[], Some(("SPY.csv", &spy))),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = upload(
        &http,
        api.clone(),
        Some(("authorization", &bearer)),
        multipart(&[], Some(("SPY.csv", &spy))),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let first: Value = r.json().await.unwrap();
    let inserted = first["bars_inserted"].as_u64().unwrap();
    assert!(inserted > 1_000, "{first}");
    // The same file again changes nothing.
    let again: Value = upload(
        &http,
        api.clone(),
        Some(("authorization", &bearer)),
        multipart(&[], Some(("SPY.csv", &spy))),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(again["bars_inserted"], 0, "{again}");
    assert_eq!(again["bars_unchanged"], inserted, "{again}");
    // A bad second row: refused naming the file and the line, nothing of the file written.
    let bad = b"date,open,high,low,close\n2024-01-02,10,11,9,10.5\n2024-01-03,10,11,9,abc\n";
    let r = upload(
        &http,
        api.clone(),
        Some(("authorization", &bearer)),
        multipart(&[], Some(("BAD.csv", bad))),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let j: Value = r.json().await.unwrap();
    assert_eq!(j["field"], "file");
    assert!(j["error"].as_str().unwrap().contains("BAD.csv:3"), "{j}");
    let data: Value = http
        .get(format!("{base}/api/data"))
        .header(AUTHORIZATION, &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let symbols: Vec<&str> = data
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(symbols, ["SPY"], "BAD wrote nothing");
    // No file: a 400 naming it.
    let r = upload(
        &http,
        api,
        Some(("authorization", &bearer)),
        multipart(&[], None),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // The browser form needs the session's CSRF token.
    let cookie = common::login(&http, &base, TOKEN).await;
    let page = http
        .get(format!("{base}/data"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("enctype=\"multipart/form-data\""));
    let csrf = common::csrf_of(&page);
    let form = format!("{base}/data/import");
    let tlt = std::fs::read(pulse_testkit::shared_file("daily-adjclose/TLT.csv")).unwrap();
    let r = upload(
        &http,
        form.clone(),
        Some(("cookie", &cookie)),
        multipart(&[("csrf", "forged")], Some(("TLT.csv", &tlt))),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = upload(
        &http,
        form,
        Some(("cookie", &cookie)),
        multipart(&[("csrf", &csrf)], Some(("TLT.csv", &tlt))),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Imported TLT.csv"));
}

#[tokio::test]
async fn a_server_without_a_csv_parser_offers_no_upload() {
    let (base, http, _dir) = start(false).await;
    let r = upload(
        &http,
        format!("{base}/api/data/import"),
        Some(("authorization", &format!("Bearer {TOKEN}"))),
        multipart(&[], Some(("X.csv", b"date,close\n2024-01-02,1\n"))),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_IMPLEMENTED);
}
