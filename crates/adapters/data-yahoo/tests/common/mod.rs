//! Shared test helpers: a loopback axum server that records every request, readers of the
//! real shared data files, and fast HTTP settings.
#![allow(dead_code)]

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use data_yahoo::HttpConfig;
use jiff::Timestamp;
use jiff::civil::Date;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Arrival time (server side).
    pub at: Instant,
    /// Request path.
    pub path: String,
    /// Decoded query parameters.
    pub query: HashMap<String, String>,
}

/// What the server answers.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering (timeouts).
    pub delay: Duration,
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply::status(200, body)
    }
    pub fn status(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "application/json".to_string())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

type Responder = dyn Fn(usize, &Hit) -> Reply + Send + Sync;

struct ServerState {
    hits: Mutex<Vec<Hit>>,
    responder: Box<Responder>,
}

/// A running loopback server.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    state: Arc<ServerState>,
}

impl Server {
    /// Every request received so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().unwrap().clone()
    }
}

async fn handle(
    State(state): State<Arc<ServerState>>,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let hit = Hit {
        at: Instant::now(),
        path: uri.path().to_string(),
        query,
    };
    let n = {
        let mut hits = state.hits.lock().unwrap();
        hits.push(hit.clone());
        hits.len() - 1
    };
    let reply = (state.responder)(n, &hit);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut headers = HeaderMap::new();
    for (k, v) in reply.headers {
        headers.insert(
            HeaderName::from_static(k),
            HeaderValue::from_str(&v).unwrap(),
        );
    }
    (
        StatusCode::from_u16(reply.status).unwrap(),
        headers,
        reply.body,
    )
        .into_response()
}

/// Starts a server on 127.0.0.1:0 answering request number `n` (0-based) with `responder`.
pub async fn serve(responder: impl Fn(usize, &Hit) -> Reply + Send + Sync + 'static) -> Server {
    let state = Arc::new(ServerState {
        hits: Mutex::new(Vec::new()),
        responder: Box::new(responder),
    });
    let app = Router::new()
        .fallback(handle)
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Server {
        base: format!("http://{addr}"),
        state,
    }
}

/// A base URL on which nothing listens (a port bound, then released).
pub async fn closed_port_base() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// HTTP settings that keep tests fast: no pacing, 5 ms backoff base.
pub fn fast_http() -> HttpConfig {
    HttpConfig {
        min_interval: Duration::ZERO,
        max_retries: 4,
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
        ..HttpConfig::default()
    }
}

/// One row of `daily-ohlcv/<T>.csv`.
#[derive(Debug, Clone)]
pub struct DailyRow {
    pub date: Date,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub adj_close: Option<f64>,
    pub volume: Option<f64>,
    /// The `dividends` column as written (`0.0`, `0.015`…).
    pub dividends: Option<String>,
}

fn opt(s: &str) -> Option<f64> {
    if s.is_empty() {
        None
    } else {
        Some(s.parse().unwrap())
    }
}

/// Reads `daily-ohlcv/<name>` from the shared data.
pub fn daily_rows(name: &str) -> Vec<DailyRow> {
    let path = pulse_testkit::shared_file(&format!("daily-ohlcv/{name}"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "date,open,high,low,close,adj_close,volume,dividends"
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 8, "{name}: {l}");
            DailyRow {
                date: f[0].parse().unwrap(),
                open: f[1].parse().unwrap(),
                high: f[2].parse().unwrap(),
                low: f[3].parse().unwrap(),
                close: f[4].parse().unwrap(),
                adj_close: opt(f[5]),
                volume: opt(f[6]),
                dividends: if f[7].is_empty() {
                    None
                } else {
                    Some(f[7].to_string())
                },
            }
        })
        .collect()
}

/// One row of `intraday-1m/<T>.csv`; `ts` is the file's END-of-minute label.
#[derive(Debug, Clone)]
pub struct MinuteRow {
    pub ts: Timestamp,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
    /// The prices and volume as written in the file.
    pub raw: [String; 5],
}

/// Reads `intraday-1m/<name>` from the shared data.
pub fn minute_rows(name: &str) -> Vec<MinuteRow> {
    let path = pulse_testkit::shared_file(&format!("intraday-1m/{name}"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "ts,open,high,low,close,volume");
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 6, "{name}: {l}");
            MinuteRow {
                ts: f[0].parse().unwrap(),
                open: f[1].parse().unwrap(),
                high: f[2].parse().unwrap(),
                low: f[3].parse().unwrap(),
                close: f[4].parse().unwrap(),
                volume: f[5].parse().unwrap(),
                raw: [f[1], f[2], f[3], f[4], f[5]].map(str::to_string),
            }
        })
        .collect()
}

/// A trading date at 00:00 UTC (the daily-bar label).
pub fn midnight(date: Date) -> Timestamp {
    date.to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp()
}
