//! Live quotes on the dashboard (issue 14, overview): read from the quote cache the collector
//! writes (`pulse collect --redis`), through a [`QuoteReader`] the binary builds. JSON at
//! `GET /api/quotes?symbols=A,B`, a server-sent-events stream at `GET /api/quotes/stream`
//! (one `quotes` event a second), and the overview's "Live quotes" table, which a few lines of
//! script keep current from the stream.

use crate::{Dashboard, api_caller, json_error};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Json, Response};
use pulse_core::ports::Store;
use pulse_core::{Quote, Symbol};
use serde::Deserialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Reads the latest cached quotes of some symbols (those without a live quote are left out);
/// the error is a message fit to show (it never holds the cache's password).
pub type QuoteReader = Arc<
    dyn Fn(Vec<Symbol>) -> Pin<Box<dyn Future<Output = Result<Vec<Quote>, String>> + Send>>
        + Send
        + Sync,
>;

/// Most symbols one request may ask for.
const MAX_SYMBOLS: usize = 200;

/// What the overview shows about live quotes.
pub enum QuotesView {
    /// No quote cache is configured (`pulse serve --redis URL` or `[cache] redis_url`).
    NotConfigured,
    /// Configured, but there is no symbol to show (`--quote-symbols`).
    NoSymbols,
    /// The cache failed.
    Failed(String),
    /// The symbols asked for and the live quotes among them.
    Quotes {
        /// Symbols shown.
        symbols: Vec<Symbol>,
        /// Their live quotes.
        quotes: Vec<Quote>,
    },
}

#[derive(Deserialize)]
pub(crate) struct SymbolsQuery {
    symbols: Option<String>,
}

/// The symbols of `?symbols=A,B`, else the dashboard's configured list; a bad symbol is named.
fn symbols_of<S>(d: &Dashboard<S>, q: &SymbolsQuery) -> Result<Vec<Symbol>, Response> {
    let Some(text) = q.symbols.as_deref().filter(|t| !t.trim().is_empty()) else {
        return Ok(d.quote_symbols.clone());
    };
    let mut out: Vec<Symbol> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let s = Symbol::try_new(part)
            .map_err(|e| json_error(StatusCode::BAD_REQUEST, e.to_string(), Some("symbols")))?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    if out.len() > MAX_SYMBOLS {
        return Err(json_error(
            StatusCode::BAD_REQUEST,
            format!("{} symbols asked; at most {MAX_SYMBOLS}", out.len()),
            Some("symbols"),
        ));
    }
    Ok(out)
}

fn not_configured() -> Response {
    json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "no quote cache configured: start `pulse serve --redis URL` (or set [cache] redis_url) and run `pulse collect --redis URL`".into(),
        None,
    )
}

/// The overview's view of the configured symbols' quotes.
pub(crate) async fn view<S>(d: &Dashboard<S>) -> QuotesView {
    let Some(reader) = &d.quotes else {
        return QuotesView::NotConfigured;
    };
    if d.quote_symbols.is_empty() {
        return QuotesView::NoSymbols;
    }
    match reader(d.quote_symbols.clone()).await {
        Ok(quotes) => QuotesView::Quotes {
            symbols: d.quote_symbols.clone(),
            quotes,
        },
        Err(e) => QuotesView::Failed(e),
    }
}

/// `GET /api/quotes?symbols=A,B`: the live quotes among them, as JSON.
pub(crate) async fn api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Query(q): Query<SymbolsQuery>,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, false) {
        return r;
    }
    let symbols = match symbols_of(&d, &q) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(reader) = d.quotes.clone() else {
        return not_configured();
    };
    match reader(symbols).await {
        Ok(quotes) => Json(quotes).into_response(),
        Err(e) => json_error(StatusCode::BAD_GATEWAY, e, None),
    }
}

/// `GET /api/quotes/stream?symbols=A,B`: a `quotes` event with the JSON array every second (an
/// `error` event with the message when the cache fails; the stream goes on).
pub(crate) async fn stream<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Query(q): Query<SymbolsQuery>,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, false) {
        return r;
    }
    let symbols = match symbols_of(&d, &q) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(reader) = d.quotes.clone() else {
        return not_configured();
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Event, std::convert::Infallible>>(4);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let event = match reader(symbols.clone()).await {
                Ok(quotes) => Event::default()
                    .event("quotes")
                    .data(serde_json::to_string(&quotes).unwrap_or_else(|_| "[]".into())),
                Err(e) => Event::default().event("error").data(e),
            };
            // The client went away: stop polling for it.
            if tx.send(Ok(event)).await.is_err() {
                break;
            }
        }
    });
    let events = futures_stream(rx);
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// The receiver as a stream of events.
pub(crate) fn futures_stream(
    rx: tokio::sync::mpsc::Receiver<Result<Event, std::convert::Infallible>>,
) -> impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>> {
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}
