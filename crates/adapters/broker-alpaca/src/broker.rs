//! [`AlpacaBroker`]: the [`Broker`] port over Alpaca's Trading API v2.

use crate::config::{AlpacaConfig, MAX_CLIENT_ORDER_ID_LEN};
use crate::error::AlpacaError;
use crate::wire::map_status;
use crate::wire::{ErrorBody, NewOrder, Num, WireAccount, WireFill, WireOrder, WirePosition};
use pulse_core::jiff::{SignedDuration, Timestamp};
use pulse_core::{
    ClientOrderId, Fill, OrderKind, OrderRequest, Portfolio, Side, Symbol, TimeInForce,
};
use pulse_execution::{Broker, OrderState, OrderStatus, RiskApproved};
use pulse_http::{HeaderMap, HeaderValue, HttpClient, HttpError, Response, StatusCode, Url};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex as StdMutex;
use tokio::sync::Mutex;

/// What `take_fills` remembers between calls.
#[derive(Debug, Default)]
struct FillCursor {
    /// Execution ids already reported, with their execution time (pruned past the lookback).
    seen: HashMap<String, Timestamp>,
    /// The newest execution time seen.
    newest: Option<Timestamp>,
}

/// A broker on Alpaca's Trading API v2 (see the crate docs for the contract it keeps).
pub struct AlpacaBroker {
    http: HttpClient,
    base: Url,
    /// Authentication headers (the secret marked sensitive).
    headers: HeaderMap,
    orders_page_size: u32,
    activities_page_size: u32,
    fills_after: Option<Timestamp>,
    fills_lookback: SignedDuration,
    fills: Mutex<FillCursor>,
    /// Alpaca order id → client order id, filled by every order read.
    client_ids: StdMutex<HashMap<String, ClientOrderId>>,
}

impl std::fmt::Debug for AlpacaBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlpacaBroker")
            .field("base", &self.base.as_str())
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

impl AlpacaBroker {
    /// A broker with `config`; fails on a bad base URL or keys that cannot be sent as headers.
    pub fn new(config: AlpacaConfig) -> Result<Self, AlpacaError> {
        // The URL itself is not echoed: a mistyped one may hold a pasted key.
        let base = Url::parse(&config.base_url)
            .map_err(|e| AlpacaError::Config(format!("the Alpaca base URL is invalid: {e}")))?;
        if base.cannot_be_a_base() || base.host_str().is_none() {
            return Err(AlpacaError::Config(
                "the Alpaca base URL has no host".to_string(),
            ));
        }
        let mut headers = HeaderMap::new();
        let mut key_id = HeaderValue::from_str(&config.key_id).map_err(|_| {
            AlpacaError::Config(format!(
                "{} is not a valid HTTP header value",
                crate::config::KEY_ID_VAR
            ))
        })?;
        key_id.set_sensitive(true);
        let mut secret = HeaderValue::from_str(config.secret_key.expose()).map_err(|_| {
            AlpacaError::Config(format!(
                "{} is not a valid HTTP header value",
                crate::config::SECRET_KEY_VAR
            ))
        })?;
        secret.set_sensitive(true);
        headers.insert("apca-api-key-id", key_id);
        headers.insert("apca-api-secret-key", secret);
        headers.insert(
            pulse_http::HeaderName::from_static("accept"),
            HeaderValue::from_static("application/json"),
        );
        let http = HttpClient::new(
            config.http,
            vec![
                config.secret_key.expose().to_string(),
                config.key_id.clone(),
            ],
        )
        .map_err(|e| AlpacaError::Config(e.to_string()))?;
        let lookback = SignedDuration::try_from(config.fills_lookback)
            .unwrap_or(SignedDuration::from_hours(1));
        Ok(AlpacaBroker {
            http,
            base,
            headers,
            orders_page_size: config.orders_page_size.max(1),
            activities_page_size: config.activities_page_size.max(1),
            fills_after: config.fills_after,
            fills_lookback: lookback,
            fills: Mutex::new(FillCursor::default()),
            client_ids: StdMutex::new(HashMap::new()),
        })
    }

    /// Replaces the keys (and any secret-carrying query value) in `text` by `***`.
    pub fn redact(&self, text: &str) -> String {
        self.http.redact(text)
    }

    /// `base` + the path segments (each percent-encoded) + the query pairs.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url, AlpacaError> {
        let mut url = self.base.clone();
        {
            let mut segs = url.path_segments_mut().map_err(|()| {
                AlpacaError::Config("Alpaca base URL cannot take a path".to_string())
            })?;
            segs.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// Alpaca's message from an error body (redacted), or the start of the body.
    fn message(&self, resp: &Response) -> String {
        match resp.json::<ErrorBody>() {
            Ok(ErrorBody { message: Some(m) }) => self.redact(&m),
            _ => self.http.snippet(&resp.body),
        }
    }

    /// The error a non-2xx answer (other than those a caller handles itself) stands for.
    fn status_error(&self, resp: &Response, what: &str) -> AlpacaError {
        let message = self.message(resp);
        match resp.status.as_u16() {
            401 => AlpacaError::Unauthorized { message },
            403 => AlpacaError::Forbidden { message },
            404 => AlpacaError::NotFound {
                what: what.to_string(),
            },
            422 => AlpacaError::Unprocessable { message },
            429 => AlpacaError::RateLimited { message },
            status => AlpacaError::Status { status, message },
        }
    }

    /// GETs `url` and parses its JSON; `Ok(None)` on 404.
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        what: &'static str,
    ) -> Result<Option<T>, AlpacaError> {
        let resp = self.http.get(url, &self.headers).await?;
        if resp.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.is_success() {
            return Err(self.status_error(&resp, what));
        }
        resp.json::<T>().map(Some).map_err(|e| AlpacaError::Parse {
            what,
            reason: self.redact(&e.to_string()),
        })
    }

    /// The order with this client id, `None` when Alpaca has none.
    async fn order_by_client_id(
        &self,
        client_id: &ClientOrderId,
    ) -> Result<Option<WireOrder>, AlpacaError> {
        let url = self.url(
            &["v2", "orders:by_client_order_id"],
            &[("client_order_id", client_id.0.as_str())],
        )?;
        let order: Option<WireOrder> = self.get_json(url, "order").await?;
        if let Some(o) = &order {
            self.remember(o);
        }
        Ok(order)
    }

    /// The order with this Alpaca id, `None` when Alpaca has none.
    async fn order_by_id(&self, id: &str) -> Result<Option<WireOrder>, AlpacaError> {
        let url = self.url(&["v2", "orders", id], &[])?;
        let order: Option<WireOrder> = self.get_json(url, "order").await?;
        if let Some(o) = &order {
            self.remember(o);
        }
        Ok(order)
    }

    /// Caches Alpaca id → client id.
    fn remember(&self, order: &WireOrder) {
        let mut map = match self.client_ids.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.insert(
            order.id.clone(),
            ClientOrderId(order.client_order_id.clone()),
        );
    }

    fn cached_client_id(&self, order_id: &str) -> Option<ClientOrderId> {
        let map = match self.client_ids.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.get(order_id).cloned()
    }

    /// The port's view of an Alpaca order.
    fn status_of(&self, o: &WireOrder) -> Result<OrderStatus, AlpacaError> {
        let parse = |n: &Option<Num>, field: &str| -> Result<Option<Decimal>, AlpacaError> {
            match n {
                None => Ok(None),
                Some(n) => n.decimal().map(Some).ok_or_else(|| AlpacaError::Parse {
                    what: "order",
                    reason: format!("{field} is not a decimal"),
                }),
            }
        };
        let ordered = parse(&o.qty, "qty")?;
        let filled = parse(&o.filled_qty, "filled_qty")?.unwrap_or(Decimal::ZERO);
        let state = map_status(&o.status, filled, ordered);
        let remaining = if state.is_done() {
            Decimal::ZERO
        } else {
            ordered
                .map(|q| (q - filled).max(Decimal::ZERO))
                .unwrap_or(Decimal::ZERO)
        };
        let rejected = (state == OrderState::Rejected)
            .then(|| format!("rejected by Alpaca (status {})", o.status));
        Ok(OrderStatus {
            client_id: ClientOrderId(o.client_order_id.clone()),
            broker_id: Some(o.id.clone()),
            state,
            filled,
            remaining,
            rejected,
        })
    }

    /// The body of `POST /v2/orders` for `order` (validated).
    fn new_order<'a>(order: &'a OrderRequest) -> Result<NewOrder<'a>, AlpacaError> {
        let len = order.client_id.0.chars().count();
        if len > MAX_CLIENT_ORDER_ID_LEN {
            return Err(AlpacaError::ClientOrderIdTooLong {
                client_id: order.client_id.clone(),
                len,
            });
        }
        if len == 0 {
            return Err(AlpacaError::InvalidOrder {
                client_id: order.client_id.clone(),
                reason: "empty client order id".to_string(),
            });
        }
        if order.quantity <= Decimal::ZERO {
            return Err(AlpacaError::InvalidOrder {
                client_id: order.client_id.clone(),
                reason: format!("quantity {} is not positive", order.quantity),
            });
        }
        let (kind, limit_price) = match order.kind {
            OrderKind::Market => ("market", None),
            OrderKind::Limit { price } => {
                if price <= Decimal::ZERO {
                    return Err(AlpacaError::InvalidOrder {
                        client_id: order.client_id.clone(),
                        reason: format!("limit price {price} is not positive"),
                    });
                }
                ("limit", Some(price.normalize().to_string()))
            }
        };
        Ok(NewOrder {
            symbol: order.symbol.as_str(),
            qty: order.quantity.normalize().to_string(),
            side: order.side.as_str(),
            kind,
            time_in_force: match order.time_in_force {
                TimeInForce::Day => "day",
                TimeInForce::Gtc => "gtc",
                TimeInForce::Ioc => "ioc",
            },
            limit_price,
            client_order_id: order.client_id.0.as_str(),
        })
    }

    async fn submit_order(&self, order: &OrderRequest) -> Result<OrderStatus, AlpacaError> {
        let body = Self::new_order(order)?;
        let client_id = &order.client_id;
        let url = self.url(&["v2", "orders"], &[])?;
        let resp = match self.http.post_json(url, &self.headers, &body).await {
            Ok(resp) => resp,
            Err(HttpError::OutcomeUnknown { .. }) => {
                return Err(AlpacaError::OutcomeUnknown {
                    client_id: client_id.clone(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        if resp.is_success() {
            return match resp.json::<WireOrder>() {
                Ok(o) => {
                    self.remember(&o);
                    self.status_of(&o)
                }
                // Accepted, but the answer is unreadable: the lookup tells what Alpaca holds.
                Err(_) => Err(AlpacaError::OutcomeUnknown {
                    client_id: client_id.clone(),
                }),
            };
        }
        if resp.status.is_server_error() {
            // The order may have been booked before the failure.
            return Err(AlpacaError::OutcomeUnknown {
                client_id: client_id.clone(),
            });
        }
        if resp.status == StatusCode::UNPROCESSABLE_ENTITY {
            let message = self.message(&resp);
            if message
                .to_ascii_lowercase()
                .contains("client_order_id must be unique")
            {
                // Idempotent re-submission: return what Alpaca holds under this id.
                return match self.order_by_client_id(client_id).await? {
                    Some(o) => self.status_of(&o),
                    None => Err(AlpacaError::Unprocessable { message }),
                };
            }
            return Err(AlpacaError::Unprocessable { message });
        }
        Err(self.status_error(&resp, "order"))
    }

    async fn cancel_order(&self, client_id: &ClientOrderId) -> Result<OrderStatus, AlpacaError> {
        let not_found = || AlpacaError::NotFound {
            what: format!("order with client id {client_id}"),
        };
        let order = self
            .order_by_client_id(client_id)
            .await?
            .ok_or_else(not_found)?;
        let status = self.status_of(&order)?;
        if status.state.is_done() {
            return Ok(status);
        }
        let url = self.url(&["v2", "orders", order.id.as_str()], &[])?;
        let resp = self.http.delete(url, &self.headers).await?;
        match resp.status.as_u16() {
            200..=299 => {}
            404 => return Err(not_found()),
            // Not cancelable (filled or being filled meanwhile): report where it stands.
            422 => {}
            _ => return Err(self.status_error(&resp, "order")),
        }
        let order = self.order_by_id(&order.id).await?.ok_or_else(not_found)?;
        self.status_of(&order)
    }

    async fn list_open_orders(&self) -> Result<Vec<OrderStatus>, AlpacaError> {
        let limit = self.orders_page_size.to_string();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut query = vec![
                ("status", "open"),
                ("direction", "asc"),
                ("limit", limit.as_str()),
            ];
            if let Some(a) = &after {
                query.push(("after", a.as_str()));
            }
            let url = self.url(&["v2", "orders"], &query)?;
            let page: Vec<WireOrder> = self.get_json(url, "orders").await?.unwrap_or_default();
            let full = page.len() >= self.orders_page_size as usize;
            let mut added = false;
            let mut last_time = None;
            for o in &page {
                last_time = o.submitted_at.clone().or_else(|| o.created_at.clone());
                if seen.insert(o.id.clone()) {
                    added = true;
                    self.remember(o);
                    let status = self.status_of(o)?;
                    if !status.state.is_done() {
                        out.push(status);
                    }
                }
            }
            // `after` is exclusive: step back 1 µs so that orders sharing the last
            // timestamp are not skipped (the seen set drops the repeats).
            let next = last_time
                .and_then(|t| t.parse::<Timestamp>().ok())
                .and_then(|t| t.checked_sub(SignedDuration::from_micros(1)).ok())
                .map(|t| t.to_string());
            match next {
                Some(n) if full && added => after = Some(n),
                _ => break,
            }
        }
        Ok(out)
    }

    async fn read_account(&self) -> Result<Portfolio, AlpacaError> {
        let url = self.url(&["v2", "account"], &[])?;
        let account: WireAccount =
            self.get_json(url, "account")
                .await?
                .ok_or_else(|| AlpacaError::NotFound {
                    what: "account".to_string(),
                })?;
        let cash = account.cash.decimal().ok_or_else(|| AlpacaError::Parse {
            what: "account",
            reason: "cash is not a decimal".to_string(),
        })?;
        let url = self.url(&["v2", "positions"], &[])?;
        let positions: Vec<WirePosition> =
            self.get_json(url, "positions").await?.unwrap_or_default();
        let mut book: BTreeMap<Symbol, Decimal> = BTreeMap::new();
        for p in positions {
            let symbol = Symbol::try_new(p.symbol.clone()).map_err(|e| AlpacaError::Parse {
                what: "positions",
                reason: self.redact(&format!("symbol {:?}: {e}", p.symbol)),
            })?;
            let mut qty = p.qty.decimal().ok_or_else(|| AlpacaError::Parse {
                what: "positions",
                reason: format!("qty of {symbol} is not a decimal"),
            })?;
            if p.side.as_deref() == Some("short") {
                qty = -qty.abs();
            }
            if !qty.is_zero() {
                *book.entry(symbol).or_default() += qty;
            }
        }
        Ok(Portfolio {
            cash,
            positions: book,
        })
    }

    /// The client id of the order with this Alpaca id (cached; looked up once otherwise). An
    /// order Alpaca no longer knows keeps its Alpaca id as client id.
    async fn client_id_of(&self, order_id: &str) -> Result<ClientOrderId, AlpacaError> {
        if let Some(c) = self.cached_client_id(order_id) {
            return Ok(c);
        }
        Ok(match self.order_by_id(order_id).await? {
            Some(o) => ClientOrderId(o.client_order_id),
            None => ClientOrderId(order_id.to_string()),
        })
    }

    async fn fill_of(&self, a: &WireFill, ts: Timestamp) -> Result<Fill, AlpacaError> {
        let bad = |reason: String| AlpacaError::Parse {
            what: "activities",
            reason: self.redact(&reason),
        };
        let side = match a.side.as_str() {
            "buy" => Side::Buy,
            "sell" | "sell_short" => Side::Sell,
            other => return Err(bad(format!("fill {}: side {other:?}", a.id))),
        };
        let quantity = a
            .qty
            .decimal()
            .map(|q| q.abs())
            .ok_or_else(|| bad(format!("fill {}: qty is not a decimal", a.id)))?;
        let price = a
            .price
            .decimal()
            .ok_or_else(|| bad(format!("fill {}: price is not a decimal", a.id)))?;
        let symbol = Symbol::try_new(a.symbol.clone())
            .map_err(|e| bad(format!("fill {}: symbol {:?}: {e}", a.id, a.symbol)))?;
        Ok(Fill {
            client_id: self.client_id_of(&a.order_id).await?,
            symbol,
            side,
            quantity,
            price,
            // FILL activities carry no fees (regulatory fees come as separate FEE activities).
            fee: Decimal::ZERO,
            ts,
            exec_id: Some(a.id.clone()),
        })
    }

    async fn new_fills(&self) -> Result<Vec<Fill>, AlpacaError> {
        let mut cursor = self.fills.lock().await;
        let after = match cursor.newest {
            Some(newest) => {
                let from = newest
                    .checked_sub(self.fills_lookback)
                    .unwrap_or(Timestamp::MIN);
                Some(self.fills_after.map_or(from, |f| f.max(from)))
            }
            None => self.fills_after,
        };
        let after_text = after.map(|t| t.to_string());
        let page_size = self.activities_page_size.to_string();
        let mut fresh: Vec<(Timestamp, Fill)> = Vec::new();
        let mut batch: BTreeSet<String> = BTreeSet::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("direction", "asc"), ("page_size", page_size.as_str())];
            if let Some(a) = &after_text {
                query.push(("after", a.as_str()));
            }
            if let Some(t) = &token {
                query.push(("page_token", t.as_str()));
            }
            let url = self.url(&["v2", "account", "activities", "FILL"], &query)?;
            let page: Vec<WireFill> = self.get_json(url, "activities").await?.unwrap_or_default();
            let full = page.len() >= self.activities_page_size as usize;
            for a in &page {
                if cursor.seen.contains_key(&a.id) || !batch.insert(a.id.clone()) {
                    continue;
                }
                let ts: Timestamp = a.transaction_time.parse().map_err(|e| AlpacaError::Parse {
                    what: "activities",
                    reason: self.redact(&format!("fill {}: transaction_time: {e}", a.id)),
                })?;
                if self.fills_after.is_some_and(|f| ts <= f) {
                    continue;
                }
                fresh.push((ts, self.fill_of(a, ts).await?));
            }
            // Pages re-read within the lookback may hold only fills already reported: keep
            // paging while pages are full and the token moves on.
            match page.last() {
                Some(last) if full && token.as_deref() != Some(last.id.as_str()) => {
                    token = Some(last.id.clone());
                }
                _ => break,
            }
        }
        // Only now, with the whole batch read, are these fills marked reported.
        fresh.sort_by(|a, b| (a.0, &a.1.exec_id).cmp(&(b.0, &b.1.exec_id)));
        for (ts, fill) in &fresh {
            if let Some(id) = &fill.exec_id {
                cursor.seen.insert(id.clone(), *ts);
            }
            if cursor.newest.is_none_or(|n| n < *ts) {
                cursor.newest = Some(*ts);
            }
        }
        if let Some(newest) = cursor.newest
            && let Ok(horizon) = newest.checked_sub(self.fills_lookback)
        {
            cursor.seen.retain(|_, ts| *ts >= horizon);
        }
        Ok(fresh.into_iter().map(|(_, f)| f).collect())
    }
}

impl Broker for AlpacaBroker {
    type Error = AlpacaError;

    /// `POST /v2/orders` once; a known client id returns its status (Alpaca's 422 "must be
    /// unique" is resolved by lookup); no usable answer → [`AlpacaError::OutcomeUnknown`].
    async fn submit(&self, order: &RiskApproved<OrderRequest>) -> Result<OrderStatus, AlpacaError> {
        self.submit_order(order.get()).await
    }

    /// New FILL activities (each activity id reported once by this adapter), oldest first.
    async fn take_fills(&self) -> Result<Vec<Fill>, AlpacaError> {
        self.new_fills().await
    }

    /// Cash from `GET /v2/account` and signed quantities from `GET /v2/positions`.
    async fn account(&self) -> Result<Portfolio, AlpacaError> {
        self.read_account().await
    }

    /// `GET /v2/orders:by_client_order_id`; 404 → `None`.
    async fn order_status(
        &self,
        client_id: &ClientOrderId,
    ) -> Result<Option<OrderStatus>, AlpacaError> {
        match self.order_by_client_id(client_id).await? {
            Some(o) => self.status_of(&o).map(Some),
            None => Ok(None),
        }
    }

    /// Looks the order up by client id, `DELETE /v2/orders/{id}` unless already done, and
    /// returns its status as Alpaca then reports it.
    async fn cancel(&self, client_id: &ClientOrderId) -> Result<OrderStatus, AlpacaError> {
        self.cancel_order(client_id).await
    }

    /// `GET /v2/orders?status=open`, all pages.
    async fn open_orders(&self) -> Result<Vec<OrderStatus>, AlpacaError> {
        self.list_open_orders().await
    }

    /// The account's cash from `GET /v2/account`; Alpaca accounts are in US dollars.
    async fn cash_balances(&self) -> Result<Vec<pulse_core::CashBalance>, AlpacaError> {
        Ok(vec![pulse_core::CashBalance {
            currency: pulse_core::Currency::Usd,
            amount: self.read_account().await?.cash,
        }])
    }
}
