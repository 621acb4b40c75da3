//! A loopback fake of Alpaca's Trading API v2 (axum on 127.0.0.1:0) that replays the
//! documented JSON wire formats, keeps a book (orders, fills, cash, positions), and injects
//! faults: stalls past the client's timeout, 429 with `Retry-After`, 5xx, rejects, duplicate
//! fill reports, rate-limit headers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use broker_alpaca::{AlpacaBroker, AlpacaConfig, AlpacaEndpoint};
use pulse_core::jiff::{SignedDuration, Timestamp};
use pulse_core::{ClientOrderId, OrderKind, OrderRequest, Portfolio, Side, Symbol, TimeInForce};
use pulse_execution::RiskApproved;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const KEY_ID: &str = "PKTESTKEYID0001";
/// A secret with characters that change under URL encoding.
pub const SECRET: &str = "s3cr/Et+K=y&z%1";

pub fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// A fault injected into the next `POST /v2/orders`.
#[derive(Debug, Clone, PartialEq)]
pub enum PostFault {
    /// Book the order, then answer only after the stall (past the client's timeout).
    AcceptThenStall,
    /// Stall past the client's timeout, then drop the request without booking it.
    StallThenDrop,
    /// Book the order, then answer HTTP 500.
    AcceptThen500,
    /// 403 insufficient buying power (not booked).
    Reject403,
    /// 422 with this message (not booked).
    Reject422(String),
    /// 429 (not booked).
    TooMany,
}

/// A fault injected into the next GET or DELETE.
#[derive(Debug, Clone, PartialEq)]
pub enum GetFault {
    /// Answer with this 5xx status.
    Status(u16),
    /// 429 with `Retry-After: secs`.
    TooMany { retry_after: u64 },
}

#[derive(Debug, Clone)]
pub struct FakeOrder {
    pub id: String,
    pub client_order_id: String,
    pub symbol: String,
    pub side: String,
    pub qty: Decimal,
    pub filled_qty: Decimal,
    pub kind: String,
    pub limit_price: Option<String>,
    pub tif: String,
    pub status: String,
    pub submitted_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct Activity {
    pub id: String,
    pub transaction_time: Timestamp,
    pub side: String,
    pub qty: Decimal,
    pub price: Decimal,
    pub symbol: String,
    pub order_id: String,
}

/// The fake's whole state.
#[derive(Debug)]
pub struct Book {
    pub orders: Vec<FakeOrder>,
    pub activities: Vec<Activity>,
    pub cash: Decimal,
    pub positions: BTreeMap<String, Decimal>,
    pub post_faults: VecDeque<PostFault>,
    pub get_faults: VecDeque<GetFault>,
    /// Refuse a known client order id with 422 (as Alpaca does). Off, a blind re-POST would
    /// book a second order: what the fault tests must never see.
    pub enforce_unique: bool,
    /// Market orders fill at once, in two executions when the quantity allows.
    pub auto_fill: bool,
    /// Every activity is listed twice in each answer.
    pub duplicate_activities: bool,
    /// How long a stalling POST waits.
    pub stall: Duration,
    /// The fake's clock (advances 1 s per event).
    pub clock: Timestamp,
    pub seq: u64,
    /// POST bodies received.
    pub posts: Vec<Value>,
    /// `METHOD path?query` of every request received.
    pub hits: Vec<String>,
    /// Send `X-Ratelimit-Remaining: 0` with these headers on the next answer.
    pub exhaust_next: Option<(String, String)>,
    /// Echo this text in error messages (to check redaction).
    pub echo: Option<String>,
    /// Fill prices by symbol (overriding [`Book::price`]).
    pub prices: BTreeMap<String, Decimal>,
}

impl Default for Book {
    fn default() -> Self {
        Book {
            orders: Vec::new(),
            activities: Vec::new(),
            cash: d("100000"),
            positions: BTreeMap::new(),
            post_faults: VecDeque::new(),
            get_faults: VecDeque::new(),
            enforce_unique: true,
            auto_fill: false,
            duplicate_activities: false,
            stall: Duration::from_secs(2),
            clock: "2026-01-05T14:30:00Z".parse().unwrap(),
            seq: 0,
            posts: Vec::new(),
            hits: Vec::new(),
            exhaust_next: None,
            echo: None,
            prices: BTreeMap::new(),
        }
    }
}

impl Book {
    fn tick(&mut self) -> Timestamp {
        self.seq += 1;
        self.clock = self
            .clock
            .checked_add(SignedDuration::from_secs(1))
            .unwrap();
        self.clock
    }

    pub fn price(symbol: &str) -> Decimal {
        match symbol {
            "SPY" => d("470.25"),
            "QQQ" => d("401.5"),
            _ => d("100"),
        }
    }

    /// Fills `qty` more of the order with this client id at its symbol's price.
    pub fn fill(&mut self, client_id: &str, qty: Decimal) {
        let ts = self.tick();
        let seq = self.seq;
        let i = self
            .orders
            .iter()
            .position(|o| o.client_order_id == client_id)
            .unwrap();
        let o = &mut self.orders[i];
        let price = o
            .limit_price
            .as_deref()
            .map(d)
            .or_else(|| self.prices.get(&o.symbol).copied())
            .unwrap_or_else(|| Book::price(&o.symbol));
        o.filled_qty += qty;
        o.status = if o.filled_qty >= o.qty {
            "filled".into()
        } else {
            "partially_filled".into()
        };
        let sign = if o.side == "buy" {
            Decimal::ONE
        } else {
            Decimal::NEGATIVE_ONE
        };
        *self.positions.entry(o.symbol.clone()).or_default() += sign * qty;
        self.cash -= sign * qty * price;
        let activity = Activity {
            id: format!("{}::{:08}", ts.as_millisecond(), seq),
            transaction_time: ts,
            side: o.side.clone(),
            qty,
            price,
            symbol: o.symbol.clone(),
            order_id: o.id.clone(),
        };
        self.activities.push(activity);
    }

    pub fn count(&self, client_id: &str) -> usize {
        self.orders
            .iter()
            .filter(|o| o.client_order_id == client_id)
            .count()
    }

    pub fn nonzero_positions(&self) -> BTreeMap<Symbol, Decimal> {
        self.positions
            .iter()
            .filter(|(_, q)| !q.is_zero())
            .map(|(s, q)| (Symbol::try_new(s.clone()).unwrap(), *q))
            .collect()
    }
}

pub struct Fake {
    pub book: Mutex<Book>,
}

pub type Shared = Arc<Fake>;

fn order_json(o: &FakeOrder) -> Value {
    let ts = o.submitted_at.to_string();
    json!({
        "id": o.id,
        "client_order_id": o.client_order_id,
        "created_at": ts,
        "updated_at": ts,
        "submitted_at": ts,
        "filled_at": null,
        "expired_at": null,
        "canceled_at": null,
        "failed_at": null,
        "replaced_at": null,
        "replaced_by": null,
        "replaces": null,
        "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
        "symbol": o.symbol,
        "asset_class": "us_equity",
        "notional": null,
        "qty": o.qty.to_string(),
        "filled_qty": o.filled_qty.to_string(),
        "filled_avg_price": null,
        "order_class": "",
        "order_type": o.kind,
        "type": o.kind,
        "side": o.side,
        "time_in_force": o.tif,
        "limit_price": o.limit_price,
        "stop_price": null,
        "status": o.status,
        "extended_hours": false,
        "legs": null,
        "trail_percent": null,
        "trail_price": null,
        "hwm": null
    })
}

fn error(status: u16, code: u64, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({"code": code, "message": message})),
    )
        .into_response()
}

/// Authentication and the injected GET faults; `Some` answers instead of the handler.
fn gate(fake: &Fake, headers: &HeaderMap, what: String, fault_ok: bool) -> Option<Response> {
    let mut book = fake.book.lock().unwrap();
    book.hits.push(what);
    let key = headers.get("apca-api-key-id").and_then(|v| v.to_str().ok());
    let secret = headers
        .get("apca-api-secret-key")
        .and_then(|v| v.to_str().ok());
    if key != Some(KEY_ID) || secret != Some(SECRET) {
        return Some(error(401, 40110000, "request is not authorized"));
    }
    if fault_ok && let Some(f) = book.get_faults.pop_front() {
        return Some(match f {
            GetFault::Status(s) => error(s, 50010000, "internal server error occurred"),
            GetFault::TooMany { retry_after } => {
                let mut r = error(429, 42910000, "rate limit exceeded");
                r.headers_mut()
                    .insert("retry-after", retry_after.to_string().parse().unwrap());
                r
            }
        });
    }
    None
}

/// Adds the rate-limit headers (remaining 0 when asked to).
fn with_limits(fake: &Fake, mut r: Response) -> Response {
    let mut book = fake.book.lock().unwrap();
    let h = r.headers_mut();
    h.insert("x-ratelimit-limit", "200".parse().unwrap());
    match book.exhaust_next.take() {
        Some((date, reset)) => {
            h.insert("x-ratelimit-remaining", "0".parse().unwrap());
            h.insert("x-ratelimit-reset", reset.parse().unwrap());
            h.insert("date", date.parse().unwrap());
        }
        None => {
            h.insert("x-ratelimit-remaining", "199".parse().unwrap());
        }
    }
    r
}

async fn post_order(
    State(fake): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Some(r) = gate(&fake, &headers, "POST /v2/orders".into(), false) {
        return r;
    }
    let (fault, stall) = {
        let mut book = fake.book.lock().unwrap();
        book.posts.push(body.clone());
        (book.post_faults.pop_front(), book.stall)
    };
    let echo = fake.book.lock().unwrap().echo.clone().unwrap_or_default();
    match fault {
        Some(PostFault::StallThenDrop) => {
            tokio::time::sleep(stall).await;
            return error(500, 50010000, "dropped");
        }
        Some(PostFault::Reject403) => {
            return error(403, 40310000, &format!("insufficient buying power{echo}"));
        }
        Some(PostFault::Reject422(m)) => return error(422, 40010001, &format!("{m}{echo}")),
        Some(PostFault::TooMany) => return error(429, 42910000, "rate limit exceeded"),
        _ => {}
    }
    let created = {
        let mut book = fake.book.lock().unwrap();
        let cid = body["client_order_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if book.enforce_unique && book.count(&cid) > 0 {
            return error(422, 40010001, "client_order_id must be unique");
        }
        let ts = book.tick();
        let seq = book.seq;
        let o = FakeOrder {
            id: format!("61e69015-8549-4bfd-b9c3-{seq:012}"),
            client_order_id: cid.clone(),
            symbol: body["symbol"].as_str().unwrap_or_default().to_string(),
            side: body["side"].as_str().unwrap_or_default().to_string(),
            qty: d(body["qty"].as_str().unwrap_or("0")),
            filled_qty: Decimal::ZERO,
            kind: body["type"].as_str().unwrap_or_default().to_string(),
            limit_price: body["limit_price"].as_str().map(str::to_string),
            tif: body["time_in_force"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            status: "accepted".into(),
            submitted_at: ts,
        };
        let market = o.kind == "market";
        let qty = o.qty;
        book.orders.push(o);
        if book.auto_fill && market {
            let first = (qty / d("2")).floor();
            if first > Decimal::ZERO && first < qty {
                book.fill(&cid, first);
                book.fill(&cid, qty - first);
            } else {
                book.fill(&cid, qty);
            }
        }
        let o = book
            .orders
            .iter()
            .rev()
            .find(|o| o.client_order_id == cid)
            .unwrap();
        // Alpaca answers a new order with its state at acceptance.
        let mut j = order_json(o);
        if !book.auto_fill {
            j["status"] = json!("accepted");
        }
        j
    };
    match fault {
        Some(PostFault::AcceptThenStall) => {
            tokio::time::sleep(stall).await;
            with_limits(&fake, axum::Json(created).into_response())
        }
        Some(PostFault::AcceptThen500) => error(500, 50010000, "internal server error occurred"),
        _ => with_limits(&fake, axum::Json(created).into_response()),
    }
}

async fn list_orders(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = gate(&fake, &headers, format!("GET /v2/orders {q:?}"), true) {
        return r;
    }
    let book = fake.book.lock().unwrap();
    let status = q.get("status").map(String::as_str).unwrap_or("open");
    let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(50);
    let after: Option<Timestamp> = q.get("after").and_then(|a| a.parse().ok());
    let done = |s: &str| {
        matches!(
            s,
            "filled" | "canceled" | "expired" | "rejected" | "replaced"
        )
    };
    let mut orders: Vec<&FakeOrder> = book
        .orders
        .iter()
        .filter(|o| match status {
            "open" => !done(&o.status),
            "closed" => done(&o.status),
            _ => true,
        })
        .filter(|o| after.is_none_or(|a| o.submitted_at > a))
        .collect();
    orders.sort_by_key(|o| o.submitted_at);
    if q.get("direction").map(String::as_str) != Some("asc") {
        orders.reverse();
    }
    let page: Vec<Value> = orders.into_iter().take(limit).map(order_json).collect();
    drop(book);
    with_limits(&fake, axum::Json(page).into_response())
}

async fn by_client_id(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let cid = q.get("client_order_id").cloned().unwrap_or_default();
    if let Some(r) = gate(
        &fake,
        &headers,
        format!("GET by_client_order_id {cid}"),
        true,
    ) {
        return r;
    }
    let book = fake.book.lock().unwrap();
    let found = book
        .orders
        .iter()
        .find(|o| o.client_order_id == cid)
        .map(order_json);
    drop(book);
    match found {
        Some(j) => with_limits(&fake, axum::Json(j).into_response()),
        None => error(404, 40410000, "order not found"),
    }
}

async fn order_by_id(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = gate(&fake, &headers, format!("GET /v2/orders/{id}"), true) {
        return r;
    }
    let book = fake.book.lock().unwrap();
    let found = book.orders.iter().find(|o| o.id == id).map(order_json);
    drop(book);
    match found {
        Some(j) => with_limits(&fake, axum::Json(j).into_response()),
        None => error(404, 40410000, "order not found"),
    }
}

async fn cancel_order(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = gate(&fake, &headers, format!("DELETE /v2/orders/{id}"), true) {
        return r;
    }
    let mut book = fake.book.lock().unwrap();
    let Some(o) = book.orders.iter_mut().find(|o| o.id == id) else {
        return error(404, 40410000, "order not found");
    };
    if matches!(
        o.status.as_str(),
        "filled" | "canceled" | "expired" | "rejected"
    ) {
        return error(422, 42210000, "order is not cancelable");
    }
    o.status = "canceled".into();
    StatusCode::NO_CONTENT.into_response()
}

async fn account(State(fake): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = gate(&fake, &headers, "GET /v2/account".into(), true) {
        return r;
    }
    let cash = fake.book.lock().unwrap().cash;
    let j = json!({
        "id": "e6fe16f3-64a4-4921-8928-cadf02f92f98",
        "account_number": "PA3YTV7CN7XL",
        "status": "ACTIVE",
        "currency": "USD",
        "cash": cash.to_string(),
        "portfolio_value": cash.to_string(),
        "buying_power": cash.to_string(),
        "pattern_day_trader": false,
        "trading_blocked": false,
        "multiplier": "1"
    });
    with_limits(&fake, axum::Json(j).into_response())
}

async fn positions(State(fake): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = gate(&fake, &headers, "GET /v2/positions".into(), true) {
        return r;
    }
    let book = fake.book.lock().unwrap();
    let list: Vec<Value> = book
        .positions
        .iter()
        .filter(|(_, q)| !q.is_zero())
        .map(|(s, q)| {
            json!({
                "asset_id": "904837e3-3b76-47ec-b432-046db621571b",
                "symbol": s,
                "exchange": "NASDAQ",
                "asset_class": "us_equity",
                "avg_entry_price": Book::price(s).to_string(),
                "qty": q.to_string(),
                "qty_available": q.to_string(),
                "side": if q.is_sign_negative() { "short" } else { "long" },
                "market_value": (q * Book::price(s)).to_string(),
                "cost_basis": (q * Book::price(s)).to_string(),
                "unrealized_pl": "0",
                "current_price": Book::price(s).to_string()
            })
        })
        .collect();
    drop(book);
    with_limits(&fake, axum::Json(list).into_response())
}

async fn fills(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = gate(&fake, &headers, format!("GET activities {q:?}"), true) {
        return r;
    }
    let book = fake.book.lock().unwrap();
    let after: Option<Timestamp> = q.get("after").and_then(|a| a.parse().ok());
    let size: usize = q
        .get("page_size")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100);
    let token = q.get("page_token").cloned();
    let mut list: Vec<&Activity> = book
        .activities
        .iter()
        .filter(|a| after.is_none_or(|t| a.transaction_time > t))
        .filter(|a| token.as_ref().is_none_or(|t| a.id > *t))
        .collect();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    let page: Vec<&Activity> = list.into_iter().take(size).collect();
    let mut out = Vec::new();
    for a in page {
        let j = json!({
            "id": a.id,
            "activity_type": "FILL",
            "transaction_time": a.transaction_time.to_string(),
            "type": "fill",
            "price": a.price.to_string(),
            "qty": a.qty.to_string(),
            "side": a.side,
            "symbol": a.symbol,
            "leaves_qty": "0",
            "order_id": a.order_id,
            "cum_qty": a.qty.to_string(),
            "order_status": "filled"
        });
        if book.duplicate_activities {
            out.push(j.clone());
        }
        out.push(j);
    }
    drop(book);
    with_limits(&fake, axum::Json(out).into_response())
}

/// Starts the fake on 127.0.0.1:0; returns its state and base URL.
pub async fn start(book: Book) -> (Shared, String) {
    let fake = Arc::new(Fake {
        book: Mutex::new(book),
    });
    let app = Router::new()
        .route("/v2/orders", get(list_orders).post(post_order))
        .route("/v2/orders:by_client_order_id", get(by_client_id))
        .route("/v2/orders/{id}", get(order_by_id).delete(cancel_order))
        .route("/v2/account", get(account))
        .route("/v2/positions", get(positions))
        .route("/v2/account/activities/FILL", get(fills))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (fake, format!("http://{addr}"))
}

/// The environment the tests give the adapter.
pub fn env(name: &str) -> Option<String> {
    match name {
        "APCA_API_KEY_ID" => Some(KEY_ID.to_string()),
        "APCA_API_SECRET_KEY" => Some(SECRET.to_string()),
        _ => None,
    }
}

/// Settings against `base`: fast backoff, `timeout` per request.
pub fn config(base: &str, timeout: Duration) -> AlpacaConfig {
    let mut c = AlpacaConfig::from_vars(AlpacaEndpoint::Paper, env).unwrap();
    c.base_url = base.to_string();
    c.http.timeout = timeout;
    c.http.connect_timeout = Duration::from_secs(2);
    c.http.base_backoff = Duration::from_millis(5);
    c.http.max_backoff = Duration::from_millis(40);
    c.http.max_retry_after = Duration::from_secs(5);
    c
}

pub fn broker(base: &str, timeout: Duration) -> AlpacaBroker {
    AlpacaBroker::new(config(base, timeout)).unwrap()
}

/// An order through the risk layer's gate against an account that can pay for anything.
pub fn approved(
    id: &str,
    symbol: &str,
    side: Side,
    qty: &str,
    kind: OrderKind,
    tif: TimeInForce,
) -> RiskApproved<OrderRequest> {
    let sym = Symbol::try_new(symbol).unwrap();
    let order = OrderRequest {
        client_id: ClientOrderId(id.into()),
        symbol: sym.clone(),
        side,
        quantity: d(qty),
        decided_at: "2026-01-05T14:29:00Z".parse().unwrap(),
        kind,
        time_in_force: tif,
    };
    let mut rich = Portfolio::with_cash(d("1000000000"));
    rich.positions.insert(sym.clone(), d("1000000"));
    let prices = BTreeMap::from([(sym, d("1"))]);
    let mut approval = pulse_execution::approve_orders(
        vec![order],
        &rich,
        &prices,
        pulse_execution::GateLimits::default(),
    );
    approval.approved.pop().expect("approved")
}

pub fn market(id: &str, symbol: &str, side: Side, qty: &str) -> RiskApproved<OrderRequest> {
    approved(id, symbol, side, qty, OrderKind::Market, TimeInForce::Day)
}
