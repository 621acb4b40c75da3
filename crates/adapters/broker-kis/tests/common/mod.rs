//! A loopback fake of KIS's Open API (axum on 127.0.0.1:0) replaying the wire shapes of the
//! official samples: the token endpoint, domestic and overseas orders, cancels, the daily
//! order/fill inquiries and balances with continuation paging (`tr_cont` + `ctx_area_*`), and the
//! quote endpoints. It keeps a book (orders, cash per currency, positions), checks the headers
//! (keys, bearer token, TR ids of its mode), and injects faults: answers stalled past the client's
//! timeout, HTTP 500s, envelopes with KIS's error codes, duplicate rows, expired tokens.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use pulse_broker_kis::{
    KisBroker, KisConfig, KisMode, MemoryOrderJournal, MemoryTokenCache, Tr, tr_id,
};
use pulse_core::jiff::tz::TimeZone;
use pulse_core::jiff::{SignedDuration, Timestamp};
use pulse_core::ports::Clock;
use pulse_core::{
    ClientOrderId, OrderKind, OrderRequest, Portfolio, Side, SimClock, Symbol, TimeInForce,
};
use pulse_execution::RiskApproved;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Secrets with characters that change under URL encoding.
pub const APP_KEY: &str = "PSkey/Te+st=0001&x";
pub const APP_SECRET: &str = "sEcr3t/+=&%Zz9";
pub const CANO: &str = "50012345";
pub const ACCOUNT: &str = "50012345-01";
/// Tokens look like `tok<n>/+=eyJ<n>` (with characters that URL encoding changes).
pub fn token_text(n: u32) -> String {
    format!("tok{n}/+=eyJ{n}")
}

pub fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// A fault injected into the next order POST.
#[derive(Debug, Clone, PartialEq)]
pub enum PostFault {
    /// Book the order, then answer only after the stall (past the client's timeout).
    AcceptThenStall,
    /// Stall past the client's timeout, then drop the request without booking it.
    StallThenDrop,
    /// Book the order, then answer HTTP 500 with no envelope.
    AcceptThen500,
    /// Refuse with this envelope (not booked).
    Envelope(String, String),
    /// EGW00201 on HTTP 500 (not booked).
    RateLimit,
    /// Book the order, then answer HTTP 500 with a system-error envelope.
    AcceptThen500Envelope,
}

#[derive(Debug, Clone)]
pub struct FakeOrder {
    pub odno: u64,
    pub overseas: bool,
    pub symbol: String,
    /// `01` sell, `02` buy.
    pub side: String,
    pub qty: Decimal,
    /// 0 for a market order.
    pub price: Decimal,
    pub filled: Decimal,
    pub filled_amount: Decimal,
    pub canceled: Decimal,
    pub placed_at: Timestamp,
    /// For a cancel order: the original's number.
    pub cancel_of: Option<u64>,
}

impl FakeOrder {
    pub fn remaining(&self) -> Decimal {
        if self.cancel_of.is_some() {
            return Decimal::ZERO;
        }
        (self.qty - self.filled - self.canceled).max(Decimal::ZERO)
    }
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    pub path: String,
    pub tr_id: String,
    pub tr_cont: String,
    pub query: HashMap<String, String>,
}

/// The fake's whole state.
pub struct Book {
    pub mode: KisMode,
    pub clock: Arc<SimClock>,
    pub tokens_issued: u32,
    pub current_token: Option<String>,
    /// Answer EGW00123 to requests bearing the current token.
    pub token_expired: bool,
    pub orders: Vec<FakeOrder>,
    pub next_odno: u64,
    pub krw: Decimal,
    pub usd: Decimal,
    pub positions: BTreeMap<String, Decimal>,
    pub post_faults: VecDeque<PostFault>,
    /// Envelopes `(code, message)` answering the next GETs (HTTP 200).
    pub get_faults: VecDeque<(String, String)>,
    /// Answer the next GETs HTTP 500 with an EGW00201 envelope.
    pub get_500s: u32,
    /// Orders fill at once: market orders at [`Book::price`], marketable limits at their limit.
    pub auto_fill: bool,
    /// Every limit order fills at once at its limit, whatever [`Book::price`] says (a market
    /// that always trades through the limit; for runners priced off real closes).
    pub fill_at_limit: bool,
    /// Every inquiry row is listed twice.
    pub duplicate_rows: bool,
    pub stall: Duration,
    pub hits: Vec<Hit>,
    /// `(path, tr_id, body)` of every POST other than the token's.
    pub posts: Vec<(String, String, Value)>,
    /// Paging protocol violations seen (must stay empty).
    pub violations: Vec<String>,
    /// Text echoed in error messages (to check redaction).
    pub echo: String,
    pub prices: BTreeMap<String, Decimal>,
    /// Average purchase price per holding (balance rows' `pchs_avg_pric`; default 1000).
    pub costs: BTreeMap<String, Decimal>,
    /// Override of the quote answers: `(path suffix, output json)`.
    pub quote_override: Option<Value>,
}

impl Book {
    pub fn new(mode: KisMode, clock: Arc<SimClock>) -> Book {
        Book {
            mode,
            clock,
            tokens_issued: 0,
            current_token: None,
            token_expired: false,
            orders: Vec::new(),
            next_odno: 1000,
            krw: d("10000000"),
            usd: d("10000"),
            positions: BTreeMap::new(),
            post_faults: VecDeque::new(),
            get_faults: VecDeque::new(),
            get_500s: 0,
            auto_fill: false,
            fill_at_limit: false,
            duplicate_rows: false,
            stall: Duration::from_millis(900),
            hits: Vec::new(),
            posts: Vec::new(),
            violations: Vec::new(),
            echo: String::new(),
            prices: BTreeMap::new(),
            costs: BTreeMap::new(),
            quote_override: None,
        }
    }

    pub fn price(&self, symbol: &str) -> Decimal {
        self.prices.get(symbol).copied().unwrap_or(match symbol {
            "005930" => d("70000"),
            "000660" => d("120000"),
            "TSLA" => d("250.5"),
            "TSLL" => d("12.25"),
            _ => d("1000"),
        })
    }

    /// The average purchase price the balance inquiries report for `symbol`.
    pub fn cost(&self, symbol: &str) -> Decimal {
        self.costs.get(symbol).copied().unwrap_or(d("1000"))
    }

    pub fn paper(&self) -> bool {
        self.mode == KisMode::Paper
    }

    /// Fills `qty` more of order `odno` at `price`.
    pub fn fill(&mut self, odno: u64, qty: Decimal, price: Decimal) {
        let o = self.orders.iter_mut().find(|o| o.odno == odno).unwrap();
        assert!(qty <= o.remaining());
        o.filled += qty;
        o.filled_amount += qty * price;
        let sign = if o.side == "02" {
            Decimal::ONE
        } else {
            Decimal::NEGATIVE_ONE
        };
        *self.positions.entry(o.symbol.clone()).or_default() += sign * qty;
        if o.overseas {
            self.usd -= sign * qty * price;
        } else {
            self.krw -= sign * qty * price;
        }
    }

    /// Books a new order; returns its number.
    pub fn place(
        &mut self,
        overseas: bool,
        symbol: &str,
        side: &str,
        qty: Decimal,
        price: Decimal,
    ) -> u64 {
        self.next_odno += 1;
        let odno = self.next_odno;
        self.orders.push(FakeOrder {
            odno,
            overseas,
            symbol: symbol.to_string(),
            side: side.to_string(),
            qty,
            price,
            filled: Decimal::ZERO,
            filled_amount: Decimal::ZERO,
            canceled: Decimal::ZERO,
            placed_at: self.clock.now(),
            cancel_of: None,
        });
        if self.fill_at_limit && !price.is_zero() {
            self.fill(odno, qty, price);
        } else if self.auto_fill {
            let px = self.price(symbol);
            let marketable =
                price.is_zero() || (side == "02" && price >= px) || (side == "01" && price <= px);
            if marketable {
                let at = if price.is_zero() { px } else { price };
                self.fill(odno, qty, at);
            }
        }
        odno
    }

    /// Real orders (not cancels) held for `symbol` with this quantity.
    pub fn count(&self, symbol: &str, qty: Decimal) -> usize {
        self.orders
            .iter()
            .filter(|o| o.cancel_of.is_none() && o.symbol == symbol && o.qty == qty)
            .count()
    }

    pub fn nonzero_positions(&self) -> BTreeMap<Symbol, Decimal> {
        self.positions
            .iter()
            .filter(|(_, q)| !q.is_zero())
            .map(|(s, q)| (Symbol::try_new(s.clone()).unwrap(), *q))
            .collect()
    }

    pub fn tr_ids(&self, path_suffix: &str) -> Vec<String> {
        self.hits
            .iter()
            .filter(|h| h.path.ends_with(path_suffix))
            .map(|h| h.tr_id.clone())
            .collect()
    }
}

pub struct Fake {
    pub book: Mutex<Book>,
}

pub type Shared = Arc<Fake>;

fn kst() -> TimeZone {
    TimeZone::get("Asia/Seoul").unwrap()
}

fn ny() -> TimeZone {
    TimeZone::get("America/New_York").unwrap()
}

fn fmt(ts: Timestamp, tz: &TimeZone, f: &str) -> String {
    ts.to_zoned(tz.clone()).strftime(f).to_string()
}

fn envelope(status: u16, code: &str, msg: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({"rt_cd": "1", "msg_cd": code, "msg1": msg})),
    )
        .into_response()
}

fn ok(mut body: Value, tr_cont: &str) -> Response {
    body["rt_cd"] = json!("0");
    body["msg_cd"] = json!("MCA00000");
    body["msg1"] = json!("정상처리 되었습니다.");
    let mut r = axum::Json(body).into_response();
    r.headers_mut().insert("tr_cont", tr_cont.parse().unwrap());
    r
}

fn header(h: &HeaderMap, name: &str) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// The TR ids the fake accepts on a path (real, paper).
fn expected_trs(path: &str, body: Option<&Value>) -> Vec<Tr> {
    let side = |b: Option<&Value>| {
        b.map(|b| {
            b.get("SLL_TYPE")
                .and_then(|v| v.as_str())
                .map(|s| !s.is_empty())
                .unwrap_or(false)
        })
        .unwrap_or(false)
    };
    match path {
        "/uapi/domestic-stock/v1/trading/order-cash" => {
            vec![if side(body) {
                Tr::DomesticSell
            } else {
                Tr::DomesticBuy
            }]
        }
        "/uapi/domestic-stock/v1/trading/order-rvsecncl" => vec![Tr::DomesticCancel],
        "/uapi/domestic-stock/v1/trading/inquire-daily-ccld" => vec![Tr::DomesticDailyFills],
        "/uapi/domestic-stock/v1/trading/inquire-balance" => vec![Tr::DomesticBalance],
        "/uapi/overseas-stock/v1/trading/order" => {
            vec![if side(body) {
                Tr::OverseasSell
            } else {
                Tr::OverseasBuy
            }]
        }
        "/uapi/overseas-stock/v1/trading/order-rvsecncl" => vec![Tr::OverseasCancel],
        "/uapi/overseas-stock/v1/trading/inquire-ccnl" => vec![Tr::OverseasFills],
        "/uapi/overseas-stock/v1/trading/inquire-balance" => vec![Tr::OverseasBalance],
        "/uapi/overseas-stock/v1/trading/inquire-present-balance" => {
            vec![Tr::OverseasPresentBalance]
        }
        "/uapi/domestic-stock/v1/quotations/inquire-price" => vec![Tr::DomesticPrice],
        "/uapi/domestic-stock/v1/quotations/inquire-asking-price-exp-ccn" => {
            vec![Tr::DomesticOrderBook]
        }
        "/uapi/domestic-stock/v1/quotations/volume-rank" => vec![Tr::DomesticVolumeRank],
        "/uapi/overseas-price/v1/quotations/price" => vec![Tr::OverseasPrice],
        "/uapi/overseas-price/v1/quotations/inquire-asking-price" => vec![Tr::OverseasOrderBook],
        _ => vec![],
    }
}

/// Keys, token, TR id and injected GET faults; `Some` answers instead of the handler.
fn gate(
    book: &mut Book,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    body: Option<&Value>,
) -> Option<Response> {
    let tr = header(headers, "tr_id");
    book.hits.push(Hit {
        method: method.to_string(),
        path: path.to_string(),
        tr_id: tr.clone(),
        tr_cont: header(headers, "tr_cont"),
        query: query.clone(),
    });
    if header(headers, "appkey") != APP_KEY || header(headers, "appsecret") != APP_SECRET {
        return Some(envelope(200, "EGW00103", "유효하지 않은 AppKey입니다."));
    }
    if header(headers, "custtype") != "P" {
        return Some(envelope(200, "FAKE_CUSTTYPE", "custtype missing"));
    }
    let auth = header(headers, "authorization");
    let current = book.current_token.clone().unwrap_or_default();
    if auth != format!("Bearer {current}") || current.is_empty() {
        return Some(envelope(200, "EGW00121", "유효하지 않은 token 입니다."));
    }
    if book.token_expired {
        return Some(envelope(200, "EGW00123", "기간이 만료된 token 입니다."));
    }
    let want: Vec<String> = expected_trs(path, body)
        .into_iter()
        .map(|t| tr_id(t, book.mode).unwrap().to_string())
        .collect();
    if !want.contains(&tr) {
        return Some(envelope(
            200,
            "FAKE_TR",
            &format!("tr_id {tr} is not valid for {path} on this host"),
        ));
    }
    if *method == Method::GET {
        if book.get_500s > 0 {
            book.get_500s -= 1;
            return Some(envelope(500, "EGW00201", "초당 거래건수를 초과하였습니다."));
        }
        if let Some((code, msg)) = book.get_faults.pop_front() {
            return Some(envelope(200, &code, &msg));
        }
    }
    None
}

fn is_krx(s: &str) -> bool {
    s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit())
}

/// One page of `rows` at the offset of `nk`, with the continuation keys and header.
#[allow(clippy::too_many_arguments)]
fn page(
    book: &mut Book,
    hit_cont: &str,
    q: &HashMap<String, String>,
    fk: &str,
    nk: &str,
    rows: Vec<Value>,
    size: usize,
    extra: Value,
    out: &str,
) -> Response {
    let offset: usize = q.get(nk).and_then(|v| v.parse().ok()).unwrap_or(0);
    let expect_cont = if offset == 0 { "" } else { "N" };
    if hit_cont != expect_cont {
        book.violations.push(format!(
            "offset {offset}: tr_cont {hit_cont:?}, expected {expect_cont:?}"
        ));
    }
    if offset > 0 && q.get(fk).map(String::as_str) != Some("FAKEFK") {
        book.violations
            .push(format!("offset {offset}: {fk} not echoed"));
    }
    let end = (offset + size).min(rows.len());
    let slice: Vec<Value> = rows
        .get(offset..end)
        .map(|s| s.to_vec())
        .unwrap_or_default();
    let more = end < rows.len();
    let mut body = extra;
    body[out] = Value::Array(slice);
    body[fk.to_ascii_lowercase()] = json!("FAKEFK");
    body[nk.to_ascii_lowercase()] = json!(if more { end.to_string() } else { String::new() });
    let cont = match (more, offset == 0) {
        (true, true) => "F",
        (true, false) => "M",
        (false, _) => "D",
    };
    ok(body, cont)
}

fn domestic_row(o: &FakeOrder) -> Value {
    let avg = if o.filled.is_zero() {
        Decimal::ZERO
    } else {
        (o.filled_amount / o.filled).round_dp(2)
    };
    json!({
        "ord_dt": fmt(o.placed_at, &kst(), "%Y%m%d"),
        "ord_gno_brno": "06010",
        "odno": format!("{:010}", o.odno),
        "orgn_odno": o.cancel_of.map(|c| format!("{c:010}")).unwrap_or_default(),
        "ord_dvsn_name": if o.cancel_of.is_some() { "취소" } else if o.price.is_zero() { "시장가" } else { "지정가" },
        "sll_buy_dvsn_cd": o.side,
        "sll_buy_dvsn_cd_name": if o.side == "02" { "현금매수" } else { "현금매도" },
        "pdno": o.symbol,
        "prdt_name": "삼성전자",
        "ord_qty": o.qty.to_string(),
        "ord_unpr": o.price.to_string(),
        "ord_tmd": fmt(o.placed_at, &kst(), "%H%M%S"),
        "tot_ccld_qty": o.filled.to_string(),
        "avg_prvs": avg.to_string(),
        "cncl_yn": if o.cancel_of.is_some() { "Y" } else { "" },
        "tot_ccld_amt": o.filled_amount.to_string(),
        "rmn_qty": o.remaining().to_string(),
        "rjct_qty": "0",
        "cnc_cfrm_qty": if o.cancel_of.is_some() { o.qty.to_string() } else { o.canceled.to_string() },
        "excg_id_dvsn_Cd": "KRX",
    })
}

fn overseas_row(o: &FakeOrder) -> Value {
    let avg = if o.filled.is_zero() {
        Decimal::ZERO
    } else {
        (o.filled_amount / o.filled).round_dp(4)
    };
    json!({
        "ord_dt": fmt(o.placed_at, &ny(), "%Y%m%d"),
        "ord_gno_brno": "01790",
        "odno": format!("{:010}", o.odno),
        "orgn_odno": o.cancel_of.map(|c| format!("{c:010}")).unwrap_or_default(),
        "sll_buy_dvsn_cd": o.side,
        "rvse_cncl_dvsn": if o.cancel_of.is_some() { "02" } else { "00" },
        "pdno": o.symbol,
        "ft_ord_qty": o.qty.to_string(),
        "ft_ord_unpr3": o.price.to_string(),
        "ft_ccld_qty": o.filled.to_string(),
        "ft_ccld_unpr3": avg.to_string(),
        "ft_ccld_amt3": o.filled_amount.to_string(),
        "nccs_qty": o.remaining().to_string(),
        "prcs_stat_name": if o.remaining().is_zero() { "완료" } else { "접수" },
        "rjct_rson": "",
        "ord_tmd": fmt(o.placed_at, &ny(), "%H%M%S"),
        "tr_mket_name": "나스닥",
        "tr_crcy_cd": "USD",
        "ovrs_excg_cd": "NASD",
        "dmst_ord_dt": fmt(o.placed_at, &kst(), "%Y%m%d"),
        "thco_ord_tmd": fmt(o.placed_at, &kst(), "%H%M%S"),
    })
}

fn dup(book: &Book, rows: Vec<Value>) -> Vec<Value> {
    if !book.duplicate_rows {
        return rows;
    }
    rows.into_iter().flat_map(|r| [r.clone(), r]).collect()
}

async fn token(State(fake): State<Shared>, body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut book = fake.book.lock().unwrap();
    book.hits.push(Hit {
        method: "POST".into(),
        path: "/oauth2/tokenP".into(),
        tr_id: String::new(),
        tr_cont: String::new(),
        query: HashMap::new(),
    });
    if v["grant_type"] != "client_credentials"
        || v["appkey"] != APP_KEY
        || v["appsecret"] != APP_SECRET
    {
        let echo = book.echo.clone();
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"error_code": "EGW00103", "error_description": format!("유효하지 않은 AppKey입니다.{echo}")})),
        )
            .into_response();
    }
    book.tokens_issued += 1;
    let t = token_text(book.tokens_issued);
    book.current_token = Some(t.clone());
    book.token_expired = false;
    let expires = book
        .clock
        .now()
        .checked_add(SignedDuration::from_hours(24))
        .unwrap();
    axum::Json(json!({
        "access_token": t,
        "token_type": "Bearer",
        "expires_in": 86400,
        "access_token_token_expired": fmt(expires, &kst(), "%Y-%m-%d %H:%M:%S"),
    }))
    .into_response()
}

async fn handle_post(
    State(fake): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (fault, stall) = {
        let mut book = fake.book.lock().unwrap();
        if let Some(r) = gate(
            &mut book,
            &Method::POST,
            &path,
            &headers,
            &HashMap::new(),
            Some(&v),
        ) {
            return r;
        }
        let tr = header(&headers, "tr_id");
        book.posts.push((path.clone(), tr, v.clone()));
        if v["CANO"] != CANO || v["ACNT_PRDT_CD"] != "01" {
            return envelope(200, "FAKE_ACCOUNT", "bad account");
        }
        let is_order = path.ends_with("/order-cash") || path.ends_with("/trading/order");
        let fault = if is_order {
            book.post_faults.pop_front()
        } else {
            None
        };
        (fault, book.stall)
    };
    let echo = fake.book.lock().unwrap().echo.clone();
    match &fault {
        Some(PostFault::StallThenDrop) => {
            tokio::time::sleep(stall).await;
            return (StatusCode::INTERNAL_SERVER_ERROR, "dropped").into_response();
        }
        Some(PostFault::Envelope(code, msg)) => {
            return envelope(200, code, &format!("{msg}{echo}"));
        }
        Some(PostFault::RateLimit) => {
            return envelope(500, "EGW00201", "초당 거래건수를 초과하였습니다.");
        }
        _ => {}
    }
    let answer = {
        let mut book = fake.book.lock().unwrap();
        let now = book.clock.now();
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        if path.ends_with("/order-cash") {
            let side = if s("SLL_TYPE").is_empty() { "02" } else { "01" };
            let price = if s("ORD_DVSN") == "01" {
                Decimal::ZERO
            } else {
                d(&s("ORD_UNPR"))
            };
            let odno = book.place(false, &s("PDNO"), side, d(&s("ORD_QTY")), price);
            json!({"output": {"KRX_FWDG_ORD_ORGNO": "06010", "ODNO": format!("{odno:010}"), "ORD_TMD": fmt(now, &kst(), "%H%M%S")}})
        } else if path.ends_with("/trading/order") {
            if book.paper() && s("ORD_DVSN") != "00" {
                return envelope(200, "FAKE_PAPER", "모의투자는 지정가만 가능합니다");
            }
            let side = if s("SLL_TYPE").is_empty() { "02" } else { "01" };
            let odno = book.place(
                true,
                &s("PDNO"),
                side,
                d(&s("ORD_QTY")),
                d(&s("OVRS_ORD_UNPR")),
            );
            json!({"output": {"KRX_FWDG_ORD_ORGNO": "01790", "ODNO": format!("{odno:010}"), "ORD_TMD": fmt(now, &kst(), "%H%M%S")}})
        } else if path.ends_with("/order-rvsecncl") {
            let orig: u64 = s("ORGN_ODNO").trim_start_matches('0').parse().unwrap_or(0);
            let Some(i) = book
                .orders
                .iter()
                .position(|o| o.odno == orig && o.cancel_of.is_none())
            else {
                return envelope(200, "APBK0013", "주문번호가 없습니다");
            };
            let rem = book.orders[i].remaining();
            if rem.is_zero() {
                return envelope(200, "APBK0918", "정정/취소할 수량이 없습니다");
            }
            book.orders[i].canceled += rem;
            book.next_odno += 1;
            let odno = book.next_odno;
            let o = book.orders[i].clone();
            book.orders.push(FakeOrder {
                odno,
                qty: rem,
                filled: Decimal::ZERO,
                filled_amount: Decimal::ZERO,
                canceled: Decimal::ZERO,
                placed_at: now,
                cancel_of: Some(orig),
                ..o
            });
            json!({"output": {"KRX_FWDG_ORD_ORGNO": "06010", "ODNO": format!("{odno:010}"), "ORD_TMD": fmt(now, &kst(), "%H%M%S")}})
        } else {
            return envelope(404, "FAKE_PATH", "no such POST");
        }
    };
    match fault {
        Some(PostFault::AcceptThenStall) => {
            tokio::time::sleep(stall).await;
            ok(answer, "")
        }
        Some(PostFault::AcceptThen500) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
        }
        Some(PostFault::AcceptThen500Envelope) => {
            envelope(500, "EGW00002", "서버 에러가 발생했습니다.")
        }
        _ => ok(answer, ""),
    }
}

async fn handle_get(
    State(fake): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let path = uri.path().to_string();
    let mut book = fake.book.lock().unwrap();
    if let Some(r) = gate(&mut book, &Method::GET, &path, &headers, &q, None) {
        return r;
    }
    let cont = header(&headers, "tr_cont");
    if q.get("CANO").is_some_and(|c| c != CANO) {
        return envelope(200, "FAKE_ACCOUNT", "bad account");
    }
    let paper = book.paper();
    let get_q = |k: &str| q.get(k).cloned().unwrap_or_default();
    match path.as_str() {
        "/uapi/domestic-stock/v1/trading/inquire-daily-ccld" => {
            let rows: Vec<Value> = book
                .orders
                .iter()
                .filter(|o| !o.overseas)
                .map(domestic_row)
                .collect();
            let rows = dup(&book, rows);
            let size = if paper { 15 } else { 100 };
            let extra = json!({"output2": {"tot_ord_qty": "0", "tot_ccld_qty": "0", "prsm_tlex_smtl": "0"}});
            page(
                &mut book,
                &cont,
                &q,
                "CTX_AREA_FK100",
                "CTX_AREA_NK100",
                rows,
                size,
                extra,
                "output1",
            )
        }
        "/uapi/overseas-stock/v1/trading/inquire-ccnl" => {
            if paper
                && (!get_q("PDNO").is_empty()
                    || !get_q("OVRS_EXCG_CD").is_empty()
                    || get_q("CCLD_NCCS_DVSN") != "00")
            {
                return envelope(200, "FAKE_PAPER", "모의투자는 전체조회만 가능합니다");
            }
            let rows: Vec<Value> = book
                .orders
                .iter()
                .filter(|o| o.overseas)
                .map(overseas_row)
                .collect();
            let rows = dup(&book, rows);
            let size = if paper { 15 } else { 100 };
            page(
                &mut book,
                &cont,
                &q,
                "CTX_AREA_FK200",
                "CTX_AREA_NK200",
                rows,
                size,
                json!({}),
                "output",
            )
        }
        "/uapi/domestic-stock/v1/trading/inquire-balance" => {
            let rows: Vec<Value> = book
                .positions
                .iter()
                .filter(|(s, q)| !q.is_zero() && is_krx(s))
                .map(|(s, q)| json!({"pdno": s, "prdt_name": "종목", "hldg_qty": q.to_string(), "ord_psbl_qty": q.to_string(), "pchs_avg_pric": book.cost(s).to_string(), "prpr": book.price(s).to_string()}))
                .collect();
            let rows = dup(&book, rows);
            let size = if paper { 20 } else { 50 };
            let krw = book.krw.to_string();
            let extra = json!({"output2": [{"dnca_tot_amt": "99999999", "prvs_rcdl_excc_amt": krw, "tot_evlu_amt": krw}]});
            page(
                &mut book,
                &cont,
                &q,
                "CTX_AREA_FK100",
                "CTX_AREA_NK100",
                rows,
                size,
                extra,
                "output1",
            )
        }
        "/uapi/overseas-stock/v1/trading/inquire-balance" => {
            let rows: Vec<Value> = book
                .positions
                .iter()
                .filter(|(s, q)| !q.is_zero() && !is_krx(s))
                .map(|(s, q)| json!({"ovrs_pdno": s, "ovrs_cblc_qty": q.to_string(), "ord_psbl_qty": q.to_string(), "ovrs_excg_cd": "NASD", "tr_crcy_cd": "USD", "pchs_avg_pric": book.cost(s).to_string(), "now_pric2": book.price(s).to_string()}))
                .collect();
            let rows = dup(&book, rows);
            let extra = json!({"output2": {"tot_evlu_pfls_amt": "0"}});
            page(
                &mut book,
                &cont,
                &q,
                "CTX_AREA_FK200",
                "CTX_AREA_NK200",
                rows,
                20,
                extra,
                "output1",
            )
        }
        "/uapi/overseas-stock/v1/trading/inquire-present-balance" => {
            let usd = book.usd.to_string();
            ok(
                json!({"output1": [], "output2": [
                    {"crcy_cd": "HKD", "frcr_dncl_amt_2": "5.00"},
                    {"crcy_cd": "USD", "frcr_dncl_amt_2": usd, "frst_bltn_exrt": "1450.00"}
                ], "output3": {"tot_asst_amt": "0"}}),
                "",
            )
        }
        "/uapi/domestic-stock/v1/quotations/inquire-price" => {
            let px = book.price(&get_q("FID_INPUT_ISCD"));
            let out = book
                .quote_override
                .clone()
                .unwrap_or_else(|| json!({"stck_prpr": px.to_string(), "acml_vol": "1234567", "stck_shrn_iscd": get_q("FID_INPUT_ISCD")}));
            ok(json!({"output": out}), "")
        }
        "/uapi/domestic-stock/v1/quotations/inquire-asking-price-exp-ccn" => {
            let px = book.price(&get_q("FID_INPUT_ISCD"));
            let mut o = json!({"aspr_acpt_hour": "093000", "stck_prpr": px.to_string()});
            for i in 1..=10 {
                let step = Decimal::from(100 * i);
                o[format!("askp{i}")] = json!((px + step).to_string());
                o[format!("bidp{i}")] = json!((px - step + Decimal::from(100)).to_string());
                o[format!("askp_rsqn{i}")] = json!((10 * i).to_string());
                o[format!("bidp_rsqn{i}")] = json!((20 * i).to_string());
            }
            if let Some(ov) = book.quote_override.clone() {
                for (k, v) in ov.as_object().unwrap() {
                    o[k] = v.clone();
                }
            }
            ok(json!({"output1": o, "output2": {"antc_cnpr": "0"}}), "")
        }
        "/uapi/domestic-stock/v1/quotations/volume-rank" => {
            let rows: Vec<Value> = ["005930", "000660", "035720", "005930", "373220"]
                .iter()
                .enumerate()
                .map(|(i, c)| json!({"hts_kor_isnm": "종목", "mksc_shrn_iscd": c, "data_rank": (i + 1).to_string(), "acml_vol": "1000"}))
                .collect();
            ok(json!({"output": rows}), "")
        }
        "/uapi/overseas-price/v1/quotations/price" => {
            let px = book.price(&get_q("SYMB"));
            if get_q("EXCD") != "NAS" {
                return envelope(200, "FAKE_EXCD", "bad EXCD");
            }
            let out = book
                .quote_override
                .clone()
                .unwrap_or_else(|| json!({"rsym": format!("DNAS{}", get_q("SYMB")), "zdiv": "4", "last": px.to_string(), "tvol": "98765", "base": "249.0"}));
            ok(json!({"output": out}), "")
        }
        "/uapi/overseas-price/v1/quotations/inquire-asking-price" => {
            let px = book.price(&get_q("SYMB"));
            ok(
                json!({"output1": {"rsym": "DNASTSLA", "last": px.to_string()},
                       "output2": {"pbid1": (px - d("0.05")).to_string(), "pask1": (px + d("0.05")).to_string(), "vbid1": "300", "vask1": "200"},
                       "output3": {}}),
                "",
            )
        }
        _ => envelope(404, "MCA00124", "서비스를 찾을 수 없습니다"),
    }
}

/// Starts the fake on 127.0.0.1:0; returns its state and base URL.
pub async fn start(book: Book) -> (Shared, String) {
    let fake = Arc::new(Fake {
        book: Mutex::new(book),
    });
    let app = Router::new()
        .route("/oauth2/tokenP", post(token))
        .route("/uapi/{a}/{b}/{c}/{d}", get(handle_get).post(handle_post))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (fake, format!("http://{addr}"))
}

/// Settings against `base` in `mode`: no pacing, fast backoff, `timeout` per request.
pub fn config(base: &str, mode: KisMode, timeout: Duration) -> KisConfig {
    let base = base.to_string();
    let mut c = KisConfig::from_vars(Some(mode), move |name| match name {
        "KIS_APP_KEY" => Some(APP_KEY.to_string()),
        "KIS_APP_SECRET" => Some(APP_SECRET.to_string()),
        "KIS_ACCOUNT" => Some(ACCOUNT.to_string()),
        "KIS_BASE_URL" => Some(base.clone()),
        _ => None,
    })
    .unwrap();
    c.http.min_interval = Duration::ZERO;
    c.http.timeout = timeout;
    c.http.connect_timeout = Duration::from_secs(2);
    c.http.base_backoff = Duration::from_millis(2);
    c.http.max_backoff = Duration::from_millis(20);
    c
}

pub type TestBroker = KisBroker<MemoryTokenCache, MemoryOrderJournal>;

/// A fake and a broker sharing a simulated clock.
pub struct Env {
    pub fake: Shared,
    pub base: String,
    pub clock: Arc<SimClock>,
    pub cache: MemoryTokenCache,
    pub journal: MemoryOrderJournal,
    pub mode: KisMode,
}

pub fn t0() -> Timestamp {
    // 2026-01-05 10:00:00 KST, a Monday.
    "2026-01-05T01:00:00Z".parse().unwrap()
}

impl Env {
    pub async fn new(mode: KisMode) -> Env {
        let clock = Arc::new(SimClock::new(t0()));
        let (fake, base) = start(Book::new(mode, clock.clone())).await;
        Env {
            fake,
            base,
            clock,
            cache: MemoryTokenCache::new(),
            journal: MemoryOrderJournal::new(),
            mode,
        }
    }

    pub fn broker_with(&self, timeout: Duration) -> TestBroker {
        KisBroker::new(
            config(&self.base, self.mode, timeout),
            self.clock.clone(),
            self.cache.clone(),
            self.journal.clone(),
        )
        .unwrap()
    }

    pub fn broker(&self) -> TestBroker {
        self.broker_with(Duration::from_secs(5))
    }

    pub fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.fake.book.lock().unwrap()
    }

    pub fn advance(&self, secs: i64) {
        self.clock.advance(SignedDuration::from_secs(secs)).unwrap();
    }
}

/// An order through the risk layer's gate against an account that can pay for anything.
pub fn approved(
    id: &str,
    symbol: &str,
    side: Side,
    qty: &str,
    kind: OrderKind,
) -> RiskApproved<OrderRequest> {
    let sym = Symbol::try_new(symbol).unwrap();
    let order = OrderRequest {
        client_id: ClientOrderId(id.into()),
        symbol: sym.clone(),
        side,
        quantity: d(qty),
        decided_at: t0(),
        kind,
        time_in_force: TimeInForce::Day,
    };
    let mut rich = Portfolio::with_cash(d("1000000000000"));
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
    approved(id, symbol, side, qty, OrderKind::Market)
}

pub fn limit(
    id: &str,
    symbol: &str,
    side: Side,
    qty: &str,
    price: &str,
) -> RiskApproved<OrderRequest> {
    approved(id, symbol, side, qty, OrderKind::Limit { price: d(price) })
}

pub fn cid(id: &str) -> ClientOrderId {
    ClientOrderId(id.to_string())
}
